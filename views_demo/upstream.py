"""
The only module that talks to the upstream: its httpx clients and the calls the views make.

Clients are expensive to create (an SSL context, a connection pool) and an AsyncClient
cannot cross event loops, so:

- the sync twins share one process-wide httpx.Client (it is thread-safe);
- the async twins get one AsyncClient per event loop from aget_client(). Under ASGI the
  application's lifespan opens it at startup and closes it at shutdown (see asgi.py), so
  every request reuses its pooled connections. Where nothing owns the loop (an async view
  under WSGI or runserver gets a fresh loop per request, and so does each async test), the
  client made for that loop keeps no idle connections, so nothing is left open when the
  loop goes away.

The lifespan's client sends its requests through aiohttp (the `httpx-aiohttp` transport)
unless UPSTREAM_TRANSPORT=httpx: the views still see the httpx API and httpx's exceptions,
but at 100 calls in flight httpx's own connection pool costs many times more CPU per call
(docs/performance.md has the figures), and httpcore 1.0.9 can lose a socket when a call is
cancelled while it connects (tests/test_leaks.py). The per-loop client without a lifespan
always uses httpx's transport: nothing would close an aiohttp session when its loop goes away.

Every call has an explicit timeout, and every failure becomes an UpstreamError (502) or
UpstreamTimeout (504) with a reason. The shared clients keep no cookies: one client serves
every user, so a cookie the upstream sets while serving one user must not go out with the
next user's calls (and httpx and aiohttp each keep a jar by default).
"""

import asyncio
import contextlib
import contextvars
import functools
import http.cookiejar
import json
import logging
import ssl
import threading
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import aiohttp
import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from httpx_aiohttp import AiohttpTransport

from views_demo.errors import UpstreamError, UpstreamTimeout

logger = logging.getLogger(__name__)

# Clients


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Building an SSL context is most of what a new client costs; share one.
    return httpx.create_ssl_context()


def _limits(*, keepalive: bool) -> httpx.Limits:
    return httpx.Limits(
        max_connections=settings.UPSTREAM_MAX_CONNECTIONS,
        max_keepalive_connections=settings.UPSTREAM_MAX_CONNECTIONS if keepalive else 0,
        # Drop an idle connection well before the upstream does: uvicorn (like most servers)
        # closes one after 5 s idle, and a client that keeps it almost as long may send a
        # request on a connection the server is closing, a 502 that no upstream fault caused.
        # A busy event loop (the in-process upstream shares it with the views) can run the
        # server's idle timer a second or more late, after a request has already arrived.
        keepalive_expiry=settings.UPSTREAM_KEEPALIVE,
    )


class NoCookies(http.cookiejar.CookieJar):
    """A cookie jar that keeps nothing: httpx's counterpart of aiohttp.DummyCookieJar."""

    def extract_cookies(self, response, request) -> None:
        pass

    def set_cookie(self, cookie) -> None:
        pass


_sync_client: httpx.Client | None = None
_sync_lock = threading.Lock()
_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)


def get_client() -> httpx.Client:
    """Return the process-wide sync client, creating it on first use."""
    global _sync_client
    with _sync_lock:
        if _sync_client is None:
            _sync_client = httpx.Client(
                verify=_ssl_context(), limits=_limits(keepalive=True), cookies=NoCookies()
            )
        return _sync_client


def close_client() -> None:
    """Close the process-wide sync client, if any."""
    global _sync_client
    with _sync_lock:
        if _sync_client is not None:
            _sync_client.close()
            _sync_client = None


def aget_client() -> httpx.AsyncClient:
    """Return the AsyncClient of the running event loop, creating one if it has none."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None or client.is_closed:
        # Nobody will close this one: keep no idle connections, so it owns no sockets
        # between requests and can simply be dropped with its loop.
        client = httpx.AsyncClient(
            verify=_ssl_context(), limits=_limits(keepalive=False), cookies=NoCookies()
        )
        _async_clients[loop] = client
    return client


async def aopen_client() -> httpx.AsyncClient:
    """Open a pooled AsyncClient for the running loop; the caller must aclose_client()."""
    loop = asyncio.get_running_loop()
    limits = _limits(keepalive=True)
    transport = _transport(limits)
    client = httpx.AsyncClient(verify=_ssl_context(), limits=limits, transport=transport, cookies=NoCookies())
    _async_clients[loop] = client
    return client


def _transport(limits: httpx.Limits) -> httpx.AsyncBaseTransport | None:
    """Return the transport UPSTREAM_TRANSPORT names; None means httpx's own."""
    name = settings.UPSTREAM_TRANSPORT
    if name == "httpx":
        return None
    if name != "aiohttp":
        raise ImproperlyConfigured(f"UPSTREAM_TRANSPORT must be 'aiohttp' or 'httpx', not {name!r}.")

    def session() -> aiohttp.ClientSession:
        # Called on the first request, inside the running loop, as aiohttp requires; the
        # transport closes it with the client.
        connector = aiohttp.TCPConnector(
            limit=limits.max_connections or 0,
            limit_per_host=0,
            keepalive_timeout=limits.keepalive_expiry,
            ssl=_ssl_context(),
        )
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    return _AiohttpTransport(verify=_ssl_context(), limits=limits, client=session)


class _AiohttpTransport(AiohttpTransport):
    """httpx-aiohttp's transport, raising httpx's exception for each connection failure.

    httpx-aiohttp 0.2.0 raises ConnectTimeout for any aiohttp connection error it has no
    closer match for, a refused connection or a hang-up included; httpx's own transport
    raises ConnectError and RemoteProtocolError there, and only a timeout may become a 504.
    """

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except httpx.ConnectTimeout as exc:
            cause = exc.__cause__
            if cause is None or isinstance(cause, TimeoutError):
                raise
            if isinstance(cause, aiohttp.ClientConnectorError):
                raise httpx.ConnectError(str(cause), request=request) from cause
            if isinstance(cause, aiohttp.ServerDisconnectedError):
                raise httpx.RemoteProtocolError(str(cause), request=request) from cause
            raise httpx.ReadError(str(cause), request=request) from cause


async def aclose_client() -> None:
    """Close the running loop's AsyncClient, if it has one."""
    client = _async_clients.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.aclose()


# Time spent waiting: what the Server-Timing middleware reports.


@dataclass
class UpstreamWait:
    """How many upstream calls a request made, and how long at least one was in flight.

    Overlapping calls count once: ten concurrent 200 ms calls wait 200 ms, not 2 s. A lock,
    not the event loop, guards the counts, because the threaded fan-out updates them from
    several threads at once.
    """

    calls: int = 0
    seconds: float = 0.0
    _in_flight: int = 0
    _since: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @contextlib.contextmanager
    def waiting(self) -> Iterator[None]:
        with self._lock:
            if self._in_flight == 0:
                self._since = time.perf_counter()
            self._in_flight += 1
            self.calls += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1
                if self._in_flight == 0:
                    self.seconds += time.perf_counter() - self._since


# A context variable follows the request into sync_to_async threads and into the tasks of a
# TaskGroup (each gets a copy of the context, holding the same UpstreamWait object).
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


def _waiting() -> contextlib.AbstractContextManager:
    wait = _wait.get()
    return wait.waiting() if wait is not None else contextlib.nullcontext()


# Calls: each sync function has its async twin right below it.


def _timeout() -> httpx.Timeout:
    # connect/read/write each get the full budget; `pool` is None so that calls beyond
    # UPSTREAM_MAX_CONNECTIONS wait for a free connection instead of failing.
    budget = settings.UPSTREAM_TIMEOUT
    return httpx.Timeout(connect=budget, read=budget, write=budget, pool=None)


@contextlib.contextmanager
def _translate_errors():
    """Turn httpx's exceptions into the 502/504 errors the views answer with."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise UpstreamTimeout(
            f"upstream did not answer within {settings.UPSTREAM_TIMEOUT:g} s ({type(exc).__name__})"
        ) from exc
    except httpx.ConnectError as exc:
        raise UpstreamError(f"upstream refused the connection ({exc})") from exc
    except httpx.HTTPError as exc:
        raise UpstreamError(f"upstream connection failed ({type(exc).__name__}: {exc})") from exc


def _check_status(response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise UpstreamError(f"upstream answered {response.status_code}")


class _Body:
    """Collect a response body, enforcing the size cap and the total deadline.

    httpx's timeouts apply to each read, so a body that drips one byte just inside the read
    timeout would never time out; the deadline bounds the whole answer. It is checked as
    each chunk arrives, so a stalled upstream is still cut off by the read timeout.
    """

    def __init__(self, response: httpx.Response):
        self.response = response
        self.deadline = time.monotonic() + settings.UPSTREAM_TIMEOUT
        self.cap = settings.UPSTREAM_MAX_BODY
        self.chunks: list[bytes] = []
        self.size = 0
        if int(response.headers.get("content-length") or 0) > self.cap:
            self._too_big()

    def take(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.cap:
            self._too_big()
        if time.monotonic() > self.deadline:
            raise UpstreamTimeout(f"upstream body took longer than {settings.UPSTREAM_TIMEOUT:g} s")
        self.chunks.append(chunk)

    def _too_big(self):
        raise UpstreamError(f"upstream answer is larger than the {self.cap} bytes the views read")

    def json(self) -> dict:
        _check_status(self.response)
        try:
            return json.loads(b"".join(self.chunks))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UpstreamError("upstream answered with invalid JSON") from exc


def _url(endpoint: str) -> str:
    return f"{settings.UPSTREAM_URL.rstrip('/')}/{endpoint}"


# A request sent on a pooled connection can meet the server closing that connection (its
# idle timer fired first, late on a busy event loop): it fails before any answer. RFC 9112
# (9.3.1) lets a client send an idempotent request again; aiohttp does so by itself and
# httpx does not, so both twins send a GET once more when that happens.
_STALE_CONNECTION = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


@contextlib.contextmanager
def _get(client: httpx.Client, url: str, query: dict) -> Iterator[httpx.Response]:
    """Stream a GET's answer, sending it once more if its connection was closed under it."""
    request = client.build_request("GET", url, params=query, timeout=_timeout())
    try:
        response = client.send(request, stream=True)
    except _STALE_CONNECTION:
        response = client.send(request, stream=True)
    try:
        yield response
    finally:
        response.close()


@contextlib.asynccontextmanager
async def _aget(client: httpx.AsyncClient, url: str, query: dict) -> AsyncIterator[httpx.Response]:
    """See _get()."""
    request = client.build_request("GET", url, params=query, timeout=_timeout())
    try:
        response = await client.send(request, stream=True)
    except _STALE_CONNECTION:
        response = await client.send(request, stream=True)
    try:
        yield response
    finally:
        await response.aclose()


def get_json(endpoint: str, query: dict) -> dict:
    """GET an upstream endpoint and return its JSON answer."""
    with _translate_errors(), _waiting(), _get(get_client(), _url(endpoint), query) as r:
        body = _Body(r)
        for chunk in r.iter_bytes():
            body.take(chunk)
    return body.json()


async def aget_json(endpoint: str, query: dict, *, client: httpx.AsyncClient | None = None) -> dict:
    """See get_json(); `client` is for the pitfall that brings its own."""
    with _translate_errors(), _waiting():
        async with _aget(client or aget_client(), _url(endpoint), query) as r:
            body = _Body(r)
            async for chunk in r.aiter_bytes():
                body.take(chunk)
    return body.json()


def delay(*, ms: int) -> dict:
    """Call the upstream once; it answers after `ms` milliseconds."""
    return get_json("delay", {"ms": ms})


async def adelay(*, ms: int) -> dict:
    """See delay()."""
    return await aget_json("delay", {"ms": ms})


def status(*, code: int, ms: int) -> dict:
    """Call the upstream once; it answers with status `code` after `ms` milliseconds."""
    return get_json("status", {"code": code, "ms": ms})


async def astatus(*, code: int, ms: int) -> dict:
    """See status()."""
    return await aget_json("status", {"code": code, "ms": ms})


def fanout(*, n: int, ms: int) -> list[dict]:
    """Call the upstream `n` times, one after another: about n * ms in all."""
    return [delay(ms=ms) for _ in range(n)]


def fanout_threaded(*, n: int, ms: int) -> list[dict]:
    """Call the upstream `n` times, at most FANOUT_CONCURRENCY at once, from a pool of threads."""
    # Pool threads do not inherit the caller's context variables: hand each call a copy, so
    # its wait is still counted (one copy per call, as a context can run in one thread at a time).
    contexts = [contextvars.copy_context() for _ in range(n)]
    with ThreadPoolExecutor(
        max_workers=min(n, settings.FANOUT_CONCURRENCY), thread_name_prefix="fanout"
    ) as pool:
        return list(pool.map(lambda context: context.run(delay, ms=ms), contexts))


async def afanout(*, n: int, ms: int) -> list[dict]:
    """Call the upstream `n` times, at most FANOUT_CONCURRENCY at once, on the event loop."""
    # The semaphore caps what one request may open; the client's pool caps the process.
    slots = asyncio.Semaphore(settings.FANOUT_CONCURRENCY)

    async def call() -> dict:
        async with slots:
            return await adelay(ms=ms)

    try:
        # A TaskGroup cancels the other calls as soon as one fails, so none is left running.
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(call()) for _ in range(n)]
    except ExceptionGroup as failures:
        # Answer like the sync twins, which stop at their first failure.
        raise failures.exceptions[0] from None
    return [task.result() for task in tasks]


# Streams: the upstream's slow drip, relayed chunk by chunk.


def drip(*, chunks: int, interval_ms: int) -> Iterator[bytes]:
    """Yield the upstream's drip as it arrives: `chunks` chunks, one per `interval_ms`.

    The request goes out at the first step, not when drip() is called, so it runs wherever
    the body is read (under WSGI Django reads an async stream in a loop of its own, after the
    view's loop has gone). Closing the generator closes the upstream response.

    A fault can only cut the stream short: the 200 and its headers have gone out, so the
    UpstreamError propagates, the server drops the connection, and the client sees an
    incomplete body rather than a complete wrong one.
    """
    query = {"chunks": chunks, "interval_ms": interval_ms}
    try:
        with _translate_errors(), _get(get_client(), _url("drip"), query) as response:
            _check_status(response)
            yield from response.iter_bytes()
    except GeneratorExit:
        # The server closed the stream early: a WSGI server does so when writing to a departed
        # client fails. Leaving `with` above has closed the upstream response.
        logger.info("stream closed before its end: the upstream response is closed")
        raise


async def adrip(*, chunks: int, interval_ms: int) -> AsyncIterator[bytes]:
    """See drip(). When the client disconnects, Django (5.0+) cancels the task reading this."""
    query = {"chunks": chunks, "interval_ms": interval_ms}
    try:
        with _translate_errors():
            async with _aget(aget_client(), _url("drip"), query) as response:
                _check_status(response)
                async for chunk in response.aiter_bytes():
                    yield chunk
    except (asyncio.CancelledError, GeneratorExit):
        # CancelledError arrives at the `await` inside aiter_bytes(); leaving `async with` above
        # has closed the upstream response, so the upstream sees its client go. Re-raise: a
        # swallowed cancellation would leave Django's request task running.
        logger.info("stream closed before its end: the upstream response is closed")
        raise


# Pitfall


async def adelay_with_new_client_badly(*, ms: int) -> dict:
    """adelay() the wrong way: with a client built for this one call (views/pitfalls.py says why)."""
    # Pitfall: every call builds an AsyncClient: a new SSL context (the CA bundle parsed
    # again, the bulk of the cost), a new connection pool and a new TCP connection, all
    # thrown away when the call returns. aget_client() pays that once per event loop.
    async with httpx.AsyncClient(limits=_limits(keepalive=False)) as client:
        return await aget_json("delay", {"ms": ms}, client=client)
