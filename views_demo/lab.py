"""The pages a reader opens in a browser, and the small endpoints they read."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from views_demo import looplag
from views_demo.registry import DEMOS


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
