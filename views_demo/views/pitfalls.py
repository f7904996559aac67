"""
The pitfalls gallery: async views written the wrong way on purpose, each beside the right way.

Each comment says what breaks, and tests/lesson/test_pitfalls.py proves it. Do not copy them.
"""

import asyncio
import time

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST, require_safe

from views_demo import params, tasks, upstream
from views_demo.errors import json_errors
from views_demo.responses import respond

# Pitfall: blocking the event loop


@json_errors
@require_safe
async def async_sleep_badly(request: HttpRequest) -> JsonResponse:
    args = params.parse(request, params.BLOCK)
    # Pitfall: time.sleep (like any blocking call: a sync HTTP client, sync ORM work, heavy
    # CPU) holds the one thread the event loop runs on. Every other request to this server
    # process waits until it returns, and /lab/loop-lag/ shows the freeze. params.BLOCK
    # caps `delay` at 2 s so this page cannot be used to tie up the server for long.
    time.sleep(args["delay"] / 1000)  # noqa: ASYNC251 - the pitfall on show
    return respond(request, result={"waited_ms": args["delay"]}, args=args)


@json_errors
@require_safe
async def async_sleep(request: HttpRequest) -> JsonResponse:
    """The right way: await, so the loop serves other requests meanwhile."""
    args = params.parse(request, params.BLOCK)
    await asyncio.sleep(args["delay"] / 1000)
    return respond(request, result={"waited_ms": args["delay"]}, args=args)


# Pitfall: a new AsyncClient per request (the right way is http.async_upstream)


@json_errors
@require_safe
async def async_client_per_request_badly(request: HttpRequest) -> JsonResponse:
    args = params.parse(request, params.DELAY)
    # Pitfall: the helper builds and closes an AsyncClient for this one call, so every
    # request pays for an SSL context, a connection pool and a new connection (about 20 ms
    # of CPU each time, measured in tests/lesson/test_pitfalls.py) where the shared client pays once.
    answer = await upstream.adelay_with_new_client_badly(ms=args["delay"])
    return respond(request, result=answer, args=args)


# Pitfall: fire-and-forget create_task (the right way is background.async_enqueue)


@json_errors
@require_POST
async def async_task_badly(request: HttpRequest) -> JsonResponse:
    args = params.parse(request, params.TASK_DELAY, params.FAIL)
    # Pitfall: nobody keeps the task or awaits it. If it fails, nothing answers with the
    # error: it surfaces only as "Task exception was never retrieved" in the server's log,
    # when the task is garbage-collected, and the client has long had its 200. The loop
    # keeps only a weak reference, so a task whose only owner is gone can be collected
    # before it finishes. And under WSGI (runserver, gunicorn) the request's event loop
    # ends with the response, cancelling the task before the work is done.
    work = tasks.afetch_upstream(ms=args["delay"], fail=bool(args["fail"]))
    asyncio.create_task(work)  # noqa: RUF006 - the pitfall on show
    return respond(request, result={"started": True}, args=args)
