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
(docs/performance.md has the figures). The per-loop client without a lifespan always uses
httpx's transport: nothing would close an aiohttp session when its loop goes away.

Every call has an explicit timeout, and every failure becomes an UpstreamError (502) or
UpstreamTimeout (504) with a reason.
"""

import asyncio
import contextlib
import functools
import json
import os
import ssl
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

import aiohttp
import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from httpx_aiohttp import AiohttpTransport

from views_demo.errors import UpstreamError, UpstreamTimeout

# Clients


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Building an SSL context is most of what a new client costs; share one.
    return httpx.create_ssl_context()


def _limits(*, keepalive: bool) -> httpx.Limits:
    return httpx.Limits(
        max_connections=settings.UPSTREAM_MAX_CONNECTIONS,
        max_keepalive_connections=settings.UPSTREAM_MAX_CONNECTIONS if keepalive else 0,
    )


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
            _sync_client = httpx.Client(verify=_ssl_context(), limits=_limits(keepalive=True))
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
        client = httpx.AsyncClient(verify=_ssl_context(), limits=_limits(keepalive=False))
        _async_clients[loop] = client
    return client


async def aopen_client() -> httpx.AsyncClient:
    """Open a pooled AsyncClient for the running loop; the caller must aclose_client()."""
    loop = asyncio.get_running_loop()
    limits = _limits(keepalive=True)
    transport = _transport(limits)
    client = httpx.AsyncClient(verify=_ssl_context(), limits=limits, transport=transport)
    _async_clients[loop] = client
    return client


def _transport(limits: httpx.Limits) -> httpx.AsyncBaseTransport | None:
    """Return the transport UPSTREAM_TRANSPORT names; None means httpx's own."""
    name = os.environ.get("UPSTREAM_TRANSPORT", "aiohttp")
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
        return aiohttp.ClientSession(connector=connector)

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


# Calls: each sync function has its async twin right below it.


def _timeout() -> httpx.Timeout:
    return httpx.Timeout(settings.UPSTREAM_TIMEOUT)


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


def _decode(response: httpx.Response) -> dict:
    if response.status_code >= 400:
        raise UpstreamError(f"upstream answered {response.status_code}")
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UpstreamError("upstream answered with invalid JSON") from exc


def _url(endpoint: str) -> str:
    return f"{settings.UPSTREAM_URL.rstrip('/')}/{endpoint}"


def delay(*, ms: int) -> dict:
    """Call the upstream once; it answers after `ms` milliseconds."""
    with _translate_errors():
        response = get_client().get(_url("delay"), params={"ms": ms}, timeout=_timeout())
    return _decode(response)


async def adelay(*, ms: int) -> dict:
    """See delay()."""
    with _translate_errors():
        response = await aget_client().get(_url("delay"), params={"ms": ms}, timeout=_timeout())
    return _decode(response)


def fanout(*, n: int, ms: int) -> list[dict]:
    """Call the upstream `n` times, one after another: about n * ms in all."""
    return [delay(ms=ms) for _ in range(n)]


def fanout_threaded(*, n: int, ms: int) -> list[dict]:
    """Call the upstream `n` times at once from a pool of threads: about ms in all."""
    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="fanout") as pool:
        return list(pool.map(lambda _: delay(ms=ms), range(n)))


async def afanout(*, n: int, ms: int) -> list[dict]:
    """Call the upstream `n` times at once on the event loop: about ms in all."""
    try:
        # A TaskGroup cancels the other calls as soon as one fails, so none is left running.
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(adelay(ms=ms)) for _ in range(n)]
    except ExceptionGroup as failures:
        # Answer like the sync twins, which stop at their first failure.
        raise failures.exceptions[0] from None
    return [task.result() for task in tasks]
