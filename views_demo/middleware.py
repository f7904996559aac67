"""
A middleware that works in both modes without a thread hop: Server-Timing.

Every response gets a header that browsers show in their network panel:

    Server-Timing: app;dur=212.4, upstream;dur=201.3;desc="1 call"

`app` is the time Django spent under this middleware (the view and the middleware below it);
`upstream` is how long at least one upstream call was in flight (upstream.measure_wait()).
A streamed body is still being produced after the header has gone, so only the time to the
first byte is in it.

Django wraps a middleware that supports only one mode in sync_to_async or async_to_sync,
a thread hop per request. This one declares both and picks the mode of the handler it wraps,
as DemoErrorMiddleware does; __call__ and __acall__ then differ only by `await`.
"""

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

from views_demo import upstream


@dataclass
class Timing:
    wait: upstream.UpstreamWait
    elapsed: float = 0.0

    def header(self) -> str:
        calls = f"{self.wait.calls} call{'' if self.wait.calls == 1 else 's'}"
        return (
            f'app;dur={self.elapsed * 1000:.1f}, upstream;dur={self.wait.seconds * 1000:.1f};desc="{calls}"'
        )


@contextlib.contextmanager
def timed() -> Iterator[Timing]:
    """Time the block, and the upstream calls made inside it."""
    started = time.perf_counter()
    with upstream.measure_wait() as wait:
        timing = Timing(wait)
        try:
            yield timing
        finally:
            timing.elapsed = time.perf_counter() - started


class ServerTimingMiddleware:
    """Add a Server-Timing header: time in the app and time waiting on the upstream."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if self.async_mode:
            return self.__acall__(request)
        with timed() as timing:
            response = self.get_response(request)
        response["Server-Timing"] = timing.header()
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        with timed() as timing:
            response = await self.get_response(request)
        response["Server-Timing"] = timing.header()
        return response
