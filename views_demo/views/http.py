"""
HTTP pairs: views that wait on the slow upstream.

The twins differ only in `async def`, `await` and the upstream helper they call.
"""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from views_demo import params, upstream
from views_demo.errors import json_errors
from views_demo.responses import respond

# HTTP: hello, the baseline with no I/O


@json_errors
@require_safe
def sync_hello(request: HttpRequest) -> JsonResponse:
    return respond(request, result={"message": "Hello from a view"})


@json_errors
@require_safe
async def async_hello(request: HttpRequest) -> JsonResponse:
    return respond(request, result={"message": "Hello from a view"})


# HTTP: one upstream call


@json_errors
@require_safe
def sync_upstream(request: HttpRequest) -> JsonResponse:
    args = params.parse(request, params.DELAY)
    answer = upstream.delay(ms=args["delay"])
    return respond(request, result=answer, args=args)


@json_errors
@require_safe
async def async_upstream(request: HttpRequest) -> JsonResponse:
    args = params.parse(request, params.DELAY)
    answer = await upstream.adelay(ms=args["delay"])
    return respond(request, result=answer, args=args)


# HTTP: fan-out to K upstream calls


@json_errors
@require_safe
def sync_fanout(request: HttpRequest) -> JsonResponse:
    args = params.parse(request, params.N, params.DELAY)
    answers = upstream.fanout(n=args["n"], ms=args["delay"])
    return respond(request, result=answers, args=args)


@json_errors
@require_safe
async def async_fanout(request: HttpRequest) -> JsonResponse:
    args = params.parse(request, params.N, params.DELAY)
    answers = await upstream.afanout(n=args["n"], ms=args["delay"])
    return respond(request, result=answers, args=args)


@json_errors
@require_safe
def sync_fanout_threaded(request: HttpRequest) -> JsonResponse:
    """The honest sync alternative: the same calls at once, from a pool of threads."""
    args = params.parse(request, params.N, params.DELAY)
    answers = upstream.fanout_threaded(n=args["n"], ms=args["delay"])
    return respond(request, result=answers, args=args)
