"""
HTTP pairs: views that wait on the slow upstream. The twins differ only in `async def`,
`await` and the upstream helper they call; parsing (params.py) and shaping the answer
(responses.py) are shared.
"""

import time

from django.http import HttpRequest, JsonResponse

from views_demo import params, upstream
from views_demo.responses import respond

# HTTP: hello, the baseline with no I/O


def sync_hello(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    return respond(request, started, result={"message": "Hello from a view"})


async def async_hello(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    return respond(request, started, result={"message": "Hello from a view"})


# HTTP: one upstream call


def sync_upstream(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    args = params.parse(request, params.DELAY)
    answer = upstream.delay(ms=args["delay"])
    return respond(request, started, result=answer, args=args)


async def async_upstream(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    args = params.parse(request, params.DELAY)
    answer = await upstream.adelay(ms=args["delay"])
    return respond(request, started, result=answer, args=args)


# HTTP: fan-out to K upstream calls


def sync_fanout(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    args = params.parse(request, params.N, params.DELAY)
    answers = upstream.fanout(n=args["n"], ms=args["delay"])
    return respond(request, started, result=answers, args=args)


async def async_fanout(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    args = params.parse(request, params.N, params.DELAY)
    answers = await upstream.afanout(n=args["n"], ms=args["delay"])
    return respond(request, started, result=answers, args=args)


def sync_fanout_threaded(request: HttpRequest) -> JsonResponse:
    """The honest sync alternative: the same calls at once, from a pool of threads."""
    started = time.perf_counter()
    args = params.parse(request, params.N, params.DELAY)
    answers = upstream.fanout_threaded(n=args["n"], ms=args["delay"])
    return respond(request, started, result=answers, args=args)
