"""
The upstream's httpx clients: one per process for the sync twins, one per event loop for the
async twins, each call with a timeout, a body cap and errors turned into 502/504.

Views never build clients; they call the helpers in upstream.py, which use these.
docs/clients.md explains the choices (transport, keep-alive, no cookies, the resend).
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


def limits(*, keepalive: bool) -> httpx.Limits:
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
                verify=_ssl_context(), limits=limits(keepalive=True), cookies=NoCookies()
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
        client = httpx.AsyncClient(verify=_ssl_context(), limits=limits(keepalive=False), cookies=NoCookies())
        _async_clients[loop] = client
    return client


async def aopen_client() -> httpx.AsyncClient:
    """Open a pooled AsyncClient for the running loop; the caller must aclose_client()."""
    loop = asyncio.get_running_loop()
    pooled = limits(keepalive=True)
    transport = _transport(pooled)
    client = httpx.AsyncClient(verify=_ssl_context(), limits=pooled, transport=transport, cookies=NoCookies())
    _async_clients[loop] = client
    return client


def _transport(pooled: httpx.Limits) -> httpx.AsyncBaseTransport | None:
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
            limit=pooled.max_connections or 0,
            limit_per_host=0,
            keepalive_timeout=pooled.keepalive_expiry,
            ssl=_ssl_context(),
        )
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    return _AiohttpTransport(verify=_ssl_context(), limits=pooled, client=session)


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


def waiting() -> contextlib.AbstractContextManager:
    wait = _wait.get()
    return wait.waiting() if wait is not None else contextlib.nullcontext()


# Calls: each sync function has its async twin right below it.


def _timeout() -> httpx.Timeout:
    # connect/read/write each get the full budget; `pool` is None so that calls beyond
    # UPSTREAM_MAX_CONNECTIONS wait for a free connection instead of failing.
    budget = settings.UPSTREAM_TIMEOUT
    return httpx.Timeout(connect=budget, read=budget, write=budget, pool=None)


@contextlib.contextmanager
def translate_errors():
    """Turn httpx's exceptions into the 502/504 errors the views answer with."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise UpstreamTimeout(
            f"upstream did not answer within {settings.UPSTREAM_TIMEOUT:g} s ({type(exc).__name__})"
        ) from exc
    except httpx.ConnectError as exc:
        raise UpstreamError(
            f"upstream refused the connection ({exc}); is UPSTREAM_URL={settings.UPSTREAM_URL} right?"
        ) from exc
    except httpx.HTTPError as exc:
        raise UpstreamError(f"upstream connection failed ({type(exc).__name__}: {exc})") from exc


def check_status(response: httpx.Response) -> None:
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
        check_status(self.response)
        try:
            return json.loads(b"".join(self.chunks))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UpstreamError("upstream answered with invalid JSON") from exc


def url(endpoint: str) -> str:
    """Return the address of an upstream endpoint (settings.UPSTREAM_URL is the only base)."""
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


def get_json(endpoint: str, query: dict, *, client: httpx.Client | None = None) -> dict:
    """GET an upstream endpoint and return its JSON answer; `client` is for a caller that brings its own."""
    with translate_errors(), waiting():  # noqa: SIM117 - nested like the async twin, line for line
        with _get(client or get_client(), url(endpoint), query) as r:
            body = _Body(r)
            for chunk in r.iter_bytes():
                body.take(chunk)
    return body.json()


async def aget_json(endpoint: str, query: dict, *, client: httpx.AsyncClient | None = None) -> dict:
    """See get_json()."""
    with translate_errors(), waiting():
        async with _aget(client or aget_client(), url(endpoint), query) as r:
            body = _Body(r)
            async for chunk in r.aiter_bytes():
                body.take(chunk)
    return body.json()


@contextlib.contextmanager
def stream(endpoint: str, query: dict) -> Iterator[httpx.Response]:
    """Open a GET whose body the caller reads as it arrives; failures become 502/504."""
    with translate_errors():  # noqa: SIM117 - nested like the async twin, line for line
        with _get(get_client(), url(endpoint), query) as response:
            check_status(response)
            yield response


@contextlib.asynccontextmanager
async def astream(endpoint: str, query: dict) -> AsyncIterator[httpx.Response]:
    """See stream()."""
    with translate_errors():
        async with _aget(aget_client(), url(endpoint), query) as response:
            check_status(response)
            yield response
