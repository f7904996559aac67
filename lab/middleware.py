"""
Time every request, in both modes without a thread hop: a Server-Timing header and a log line.

    Server-Timing: app;dur=212.4, upstream;dur=201.3;desc="1 call"

`app` is the time under this middleware; `upstream` how long at least one upstream call was in
flight (upstream_wait.py). The lab reads it, so the views carry no timing of their own
(docs/lab.md). On its first request on an event loop it also starts the lab's watchers there.
"""

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

from lab import looplag, unhandled
from lab.upstream_wait import UpstreamWait, measure_wait

request_log = logging.getLogger("lab.requests")


@dataclass
class Timing:
    wait: UpstreamWait
    elapsed: float = 0.0

    def header(self) -> str:
        calls = f"{self.wait.calls} call{'' if self.wait.calls == 1 else 's'}"
        return (
            f'app;dur={self.elapsed * 1000:.1f}, upstream;dur={self.wait.seconds * 1000:.1f};desc="{calls}"'
        )


def log_request(request: HttpRequest, response: HttpResponseBase, timing: Timing) -> None:
    """Write the request's one structured log line."""
    if not request_log.isEnabledFor(logging.INFO):
        return
    match = request.resolver_match
    line = {
        "method": request.method,
        "path": request.path,
        "view": match.view_name if match else None,
        "status": response.status_code,
        "ms": round(timing.elapsed * 1000, 1),
        "upstream_ms": round(timing.wait.seconds * 1000, 1),
        "upstream_calls": timing.wait.calls,
    }
    request_log.info(json.dumps(line))


@contextlib.contextmanager
def timed() -> Iterator[Timing]:
    """Time the block, and the upstream calls made inside it."""
    started = time.perf_counter()
    with measure_wait() as wait:
        timing = Timing(wait)
        try:
            yield timing
        finally:
            timing.elapsed = time.perf_counter() - started


def watch_loop() -> None:
    """Start the lab's watchers on the running loop, once: its lag and its unhandled errors."""
    loop = asyncio.get_running_loop()
    if loop not in unhandled.watched:
        unhandled.keep_errors(loop)
        looplag.start()


class ServerTimingMiddleware:
    """Add a Server-Timing header (time in the app, time waiting on the upstream) and log it."""

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
        log_request(request, response, timing)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        watch_loop()
        with timed() as timing:
            response = await self.get_response(request)
        response["Server-Timing"] = timing.header()
        log_request(request, response, timing)
        return response
