"""The pages a reader opens in a browser, and the small endpoints they read."""

import asyncio
import itertools
import time
import weakref

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from views_demo import looplag, params, upstream
from views_demo.registry import DEMOS
from views_demo.responses import respond


def index(request: HttpRequest) -> HttpResponse:
    return render(request, "views_demo/index.html", {"demos": DEMOS})


def server_mode(request: HttpRequest) -> str:
    """Return "ASGI" or "WSGI": which kind of server this request came through."""
    return "ASGI" if hasattr(request, "scope") else "WSGI"


async def loop_lag(request: HttpRequest) -> JsonResponse:
    """Report how late this server's event loop wakes up (see looplag.py)."""
    monitor = looplag.current()
    return JsonResponse(
        {
            "server": server_mode(request),
            "watching": monitor is not None,
            "lag": monitor.report() if monitor else None,
        }
    )


async def tasks(request: HttpRequest) -> JsonResponse:
    """Count the tasks on the event loop serving this request, its own included."""
    return JsonResponse({"server": server_mode(request), "tasks": len(asyncio.all_tasks())})


# Async views under WSGI: one event loop per request

# Loops get a number the first time they serve a request. id() would not do: a loop that has
# gone may leave its address to the next one.
_loop_numbers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, int] = weakref.WeakKeyDictionary()
_counter = itertools.count(1)


def loop_number() -> int:
    """Return the number of the running event loop: the same number means the same loop."""
    loop = asyncio.get_running_loop()
    if loop not in _loop_numbers:
        _loop_numbers[loop] = next(_counter)
    return _loop_numbers[loop]


async def event_loop(request: HttpRequest) -> JsonResponse:
    """Run a concurrent fan-out and report which server and which event loop served it."""
    started = time.perf_counter()
    args = params.parse(request, params.N, params.DELAY)
    answers = await upstream.afanout(n=args["n"], ms=args["delay"])
    result = {"server": server_mode(request), "loop": loop_number(), "calls": len(answers)}
    return respond(request, started, result=result, args=args)


def async_under_wsgi(request: HttpRequest) -> HttpResponse:
    """Explain why each async view under WSGI runs in an event loop of its own."""
    return render(request, "views_demo/async_under_wsgi.html")
