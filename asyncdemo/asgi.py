"""
The ASGI application: Django, the slow upstream at /upstream, and a lifespan handler.

Django's ASGIHandler serves only HTTP, so this module answers the ASGI lifespan itself:
at startup it opens the AsyncClient the async views share on this event loop and starts
the loop-lag monitor (looplag.py); at shutdown it stops both, closes the sync twins'
client and ends the idle threads of the pool that runs requests' sync code (threads.py).

Static files (the lab's CSS and JavaScript, the admin's) are served by Django's own
ASGIStaticFilesHandler, the handler runserver uses, in both DEBUG modes: it reads them
through the staticfiles finders, so no collectstatic step is needed, and it sits in front
of Django rather than in its middleware chain, so the demo views pay nothing for it. It is
fine for a handful of files on a laptop or in the benchmark; a public deployment serves
STATIC_ROOT (`manage.py collectstatic`) from its reverse proxy instead.

    uvicorn asyncdemo.asgi:application
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "asyncdemo.settings")

django_application = get_asgi_application()

from asgiref.sync import ThreadSensitiveContext, sync_to_async  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from asyncdemo.threads import ThreadPool  # noqa: E402
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
                if request_threads is not None:
                    request_threads.close_idle()
                await send({"type": "lifespan.shutdown.complete"})
                return

    return lifespan_app


def with_request_threads(app, pool: ThreadPool | None):
    """Run each HTTP request's sync code on threads lent by `pool` (threads.py).

    With no pool, Django's own way: a new thread for every request.
    """
    if pool is None:
        return app

    async def app_with_request_threads(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        executor = pool.executor()
        try:
            async with ThreadSensitiveContext(executor=executor):
                return await app(scope, receive, send)
        finally:
            executor.end()

    return app_with_request_threads


request_threads = ThreadPool() if settings.ASYNCDEMO_SYNC_THREADS == "pool" else None
application = with_lifespan(
    slow_upstream.mount(
        "/upstream",
        slow_upstream.app,
        ASGIStaticFilesHandler(with_request_threads(django_application, request_threads)),
    )
)
