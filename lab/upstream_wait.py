"""
How long each request waited on the upstream, for the Server-Timing header (middleware.py).

The lesson's clients take a transport wrapper from the UPSTREAM_TRANSPORT_WRAPPER setting;
the project names `lab.upstream_wait.timed` there, so every upstream call, sync or async, is
counted without a line of timing in the lesson. A call counts from the moment it is sent
until its body is closed.
"""

import contextlib
import contextvars
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx


@dataclass
class UpstreamWait:
    """How many upstream calls a request made, and how long at least one was in flight.

    Overlapping calls count once: ten concurrent 200 ms calls wait 200 ms, not 2 s. A lock,
    not the event loop, guards the counts, because sync_to_async threads update them too.
    """

    calls: int = 0
    seconds: float = 0.0
    _in_flight: int = 0
    _since: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def begin(self) -> None:
        with self._lock:
            if self._in_flight == 0:
                self._since = time.perf_counter()
            self._in_flight += 1
            self.calls += 1

    def end(self) -> None:
        with self._lock:
            self._in_flight -= 1
            if self._in_flight == 0:
                self.seconds += time.perf_counter() - self._since


# A context variable follows the request into sync_to_async threads and into the tasks of a
# TaskGroup. The threads of a plain ThreadPoolExecutor (the threaded fan-out) do not inherit
# it, so their calls are not counted: the header then says 0 calls for that view.
_wait: contextvars.ContextVar[UpstreamWait | None] = contextvars.ContextVar("upstream_wait", default=None)


@contextlib.contextmanager
def measure_wait() -> Iterator[UpstreamWait]:
    """Count the upstream calls made inside this block (and the threads and tasks it starts)."""
    wait = UpstreamWait()
    token = _wait.set(wait)
    try:
        yield wait
    finally:
        _wait.reset(token)


class _TimedStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body that ends its call's wait when it is closed."""

    def __init__(self, stream, wait: UpstreamWait):
        self.stream = stream
        self.wait = wait
        self.open = True

    def _end(self) -> None:
        if self.open:
            self.open = False
            self.wait.end()

    def __iter__(self):
        yield from self.stream

    async def __aiter__(self):
        async for chunk in self.stream:
            yield chunk

    def close(self) -> None:
        try:
            self.stream.close()
        finally:
            self._end()

    async def aclose(self) -> None:
        try:
            await self.stream.aclose()
        finally:
            self._end()


class _TimedTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Wrap a transport, counting each request's call in the request's UpstreamWait."""

    def __init__(self, transport):
        self.transport = transport

    def _timed(self, response: httpx.Response, wait: UpstreamWait) -> httpx.Response:
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_TimedStream(response.stream, wait),
            extensions=response.extensions,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        wait = _wait.get()
        if wait is None:
            return self.transport.handle_request(request)
        wait.begin()
        try:
            response = self.transport.handle_request(request)
        except BaseException:
            wait.end()
            raise
        return self._timed(response, wait)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        wait = _wait.get()
        if wait is None:
            return await self.transport.handle_async_request(request)
        wait.begin()
        try:
            response = await self.transport.handle_async_request(request)
        except BaseException:
            wait.end()
            raise
        return self._timed(response, wait)

    def close(self) -> None:
        self.transport.close()

    async def aclose(self) -> None:
        await self.transport.aclose()


def timed(transport):
    """Return `transport`, counting its calls (the UPSTREAM_TRANSPORT_WRAPPER setting)."""
    return _TimedTransport(transport)
