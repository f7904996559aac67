"""Shaping the answer of a demo view, written once for both twins."""

import time

from django.http import HttpRequest, JsonResponse


def respond(
    request: HttpRequest, started: float, *, result: object, args: dict | None = None, status: int = 200
) -> JsonResponse:
    """Answer a demo call with its result and the time spent in the view."""
    return JsonResponse(
        {
            "view": request.resolver_match.url_name,
            "params": args or {},
            "result": result,
            "elapsed_ms": round((time.perf_counter() - started) * 1000, 1),
        },
        status=status,
    )
