"""
Cache pairs: memoise a slow upstream answer with cache.get/set, or cache.aget/aset.

Both twins build the same key from the validated parameters, so they share hits.
"""

from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from views_demo import params, upstream
from views_demo.errors import json_errors
from views_demo.responses import respond

TIMEOUT = 60  # seconds an answer stays cached


def cache_key(**args: int) -> str:
    """Return the key of an upstream answer, built from validated parameters only."""
    return "upstream-delay:" + ",".join(f"{name}={value}" for name, value in sorted(args.items()))


def with_cache_status(response: JsonResponse, *, hit: bool) -> JsonResponse:
    response["X-Cache"] = "hit" if hit else "miss"
    return response


# Cache: memoise one upstream call


def cached_delay(*, ms: int) -> tuple[dict, bool]:
    """Return the upstream's answer for `ms` and whether it came from the cache."""
    key = cache_key(delay=ms)
    answer = cache.get(key)
    if answer is not None:
        return answer, True
    answer = upstream.delay(ms=ms)
    cache.set(key, answer, TIMEOUT)
    return answer, False


async def acached_delay(*, ms: int) -> tuple[dict, bool]:
    """See cached_delay()."""
    key = cache_key(delay=ms)
    answer = await cache.aget(key)
    if answer is not None:
        return answer, True
    answer = await upstream.adelay(ms=ms)
    await cache.aset(key, answer, TIMEOUT)
    return answer, False


@json_errors
@require_safe
def sync_cached(request: HttpRequest) -> JsonResponse:
    args = params.parse(request, params.DELAY)
    answer, hit = cached_delay(ms=args["delay"])
    return with_cache_status(respond(request, result=answer, args=args), hit=hit)


@json_errors
@require_safe
async def async_cached(request: HttpRequest) -> JsonResponse:
    args = params.parse(request, params.DELAY)
    answer, hit = await acached_delay(ms=args["delay"])
    return with_cache_status(respond(request, result=answer, args=args), hit=hit)
