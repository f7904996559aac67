"""
The ASGI application: Django, the slow upstream at /upstream, and a lifespan handler.

Django's ASGIHandler serves only HTTP, so this module answers the ASGI lifespan itself:
at startup it opens the AsyncClient the async views share on this event loop and starts
the loop-lag monitor (looplag.py); at shutdown it stops both and closes the sync twins'
client.

Static files (the lab's CSS and JavaScript, the admin's) are served by Django's own
ASGIStaticFilesHandler, the handler runserver uses, in both DEBUG modes: it reads them
through the staticfiles finders, so no collectstatic step is needed, and it sits in front
of Django rather than in its middleware chain, so the demo views pay nothing for it. It is
fine for a handful of files on a laptop or in the benchmark; a public deployment serves
STATIC_ROOT (`manage.py collectstatic`) from its reverse proxy instead.

    uvicorn asyncdemo.asgi:application
"""

import itertools
import os
from concurrent.futures import ThreadPoolExecutor

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "asyncdemo.settings")

django_application = get_asgi_application()

from asgiref.sync import ThreadSensitiveContext, sync_to_async  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from views_demo import looplag, slow_upstream, upstream  # noqa: E402


def with_lifespan(app):
    """Wrap an ASGI app so lifespan events open and close the upstream clients."""

    async def lifespan_app(scope, receive, send):
        if scope["type"] != "lifespan":
            return await app(scope, receive, send)
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await upstream.aopen_client()
                looplag.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await looplag.stop()
                await upstream.aclose_client()
                await sync_to_async(upstream.close_client)()
                await send({"type": "lifespan.shutdown.complete"})
                return

    return lifespan_app


def with_shared_threads(app, threads: int):
    """Run each request's sync code on one of `threads` long-lived threads, not a new one.

    Django enters a ThreadSensitiveContext per request, so the first sync_to_async call of
    a request (its request_started signal, at the latest) starts a thread that lives until
    the request ends: 10,000 requests waiting on an upstream hold 10,000 threads. An outer
    context with an executor takes precedence (asgiref's public API), so requests share a
    few threads instead. The price: requests on the same thread take turns for their sync
    code, so a sync view blocks the others sharing its thread (docs/performance.md).
    """
    if not threads:
        return app
    executors = itertools.cycle(
        [ThreadPoolExecutor(max_workers=1, thread_name_prefix="django-sync") for _ in range(threads)]
    )

    async def app_with_shared_threads(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        async with ThreadSensitiveContext(executor=next(executors)):
            return await app(scope, receive, send)

    return app_with_shared_threads


application = with_lifespan(
    slow_upstream.mount(
        "/upstream",
        slow_upstream.app,
        ASGIStaticFilesHandler(with_shared_threads(django_application, settings.ASYNCDEMO_SYNC_THREADS)),
    )
)
