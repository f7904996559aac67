"""
The upstream's httpx clients: one per process for the sync twins, one per event loop for the
async twins; every call with a timeout, its failures answered 502 or 504.

Views never build clients; they call the helpers in upstream.py, which use these. Guards that
are not the lesson (a body cap, a resend, aiohttp's transport) live in hardening.py.
"""

import asyncio
import contextlib
import logging
import threading
import weakref
from collections.abc import AsyncIterator, Iterator

import httpx
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from views_demo import conf, hardening
from views_demo.errors import check_status, translate_errors

logger = logging.getLogger(__name__)

# Clients


def limits(*, keepalive: bool) -> httpx.Limits:
    return httpx.Limits(
        max_connections=conf.UPSTREAM_MAX_CONNECTIONS,
        max_keepalive_connections=conf.UPSTREAM_MAX_CONNECTIONS if keepalive else 0,
        # Drop an idle connection well before the upstream does (uvicorn closes one after 5 s),
        # or a request may go out on a connection the server is closing: a 502 no fault caused.
        keepalive_expiry=conf.UPSTREAM_KEEPALIVE,
    )


def _wrapped(transport):
    """Return the transport, wrapped by UPSTREAM_TRANSPORT_WRAPPER if one is set."""
    wrapper = conf.UPSTREAM_TRANSPORT_WRAPPER
    return import_string(wrapper)(transport) if wrapper else transport


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
            transport = httpx.HTTPTransport(verify=hardening.ssl_context(), limits=limits(keepalive=True))
            _sync_client = httpx.Client(transport=_wrapped(transport), cookies=hardening.NoCookies())
        return _sync_client


def close_client() -> None:
    """Close the process-wide sync client, if any."""
    global _sync_client
    with _sync_lock:
        if _sync_client is not None:
            _sync_client.close()
            _sync_client = None


def _async_client(*, keepalive: bool) -> httpx.AsyncClient:
    pooled = limits(keepalive=keepalive)
    name = conf.UPSTREAM_TRANSPORT
    if name not in {"httpx", "aiohttp"}:
        raise ImproperlyConfigured(f"UPSTREAM_TRANSPORT must be 'aiohttp' or 'httpx', not {name!r}.")
    if name == "aiohttp" and keepalive:
        transport = hardening.aiohttp_transport(pooled)
    else:
        transport = httpx.AsyncHTTPTransport(verify=hardening.ssl_context(), limits=pooled)
    return httpx.AsyncClient(transport=_wrapped(transport), cookies=hardening.NoCookies())


def aget_client() -> httpx.AsyncClient:
    """Return the AsyncClient of the running event loop, creating one if it has none."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None or client.is_closed:
        # Nobody will close this one (no lifespan opened a client on this loop): it keeps no
        # idle connections, so it owns no sockets between requests and can go with its loop.
        client = _async_client(keepalive=False)
        _async_clients[loop] = client
    return client


async def aopen_client() -> httpx.AsyncClient:
    """Open a pooled AsyncClient for the running loop; the caller must aclose_client() (lifespan.py)."""
    client = _async_clients[asyncio.get_running_loop()] = _async_client(keepalive=True)
    return client


async def aclose_client() -> None:
    """Close the running loop's AsyncClient, if it has one."""
    client = _async_clients.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.aclose()


# Calls: each sync function has its async twin right below it.


def timeout() -> httpx.Timeout:
    # connect/read/write each get the full budget; `pool` is None so that calls beyond
    # UPSTREAM_MAX_CONNECTIONS wait for a free connection instead of failing.
    budget = conf.UPSTREAM_TIMEOUT
    return httpx.Timeout(connect=budget, read=budget, write=budget, pool=None)


def request(client: httpx.Client | httpx.AsyncClient, endpoint: str, query: dict) -> httpx.Request:
    """Build a GET of an upstream endpoint, with its timeout (UPSTREAM_URL is the only base)."""
    url = f"{conf.UPSTREAM_URL.rstrip('/')}/{endpoint}"
    return client.build_request("GET", url, params=query, timeout=timeout())


def get_json(endpoint: str, query: dict, *, client: httpx.Client | None = None) -> dict:
    """GET an upstream endpoint and return its JSON answer; `client` is for a caller that brings its own."""
    client = client or get_client()
    with translate_errors():  # noqa: SIM117 - nested like the async twin, line for line
        with hardening.send(client, request(client, endpoint, query)) as response:
            body = hardening.Body(response)
            for chunk in response.iter_bytes():
                body.take(chunk)
    return body.json()


async def aget_json(endpoint: str, query: dict, *, client: httpx.AsyncClient | None = None) -> dict:
    """See get_json()."""
    client = client or aget_client()
    with translate_errors():
        async with hardening.asend(client, request(client, endpoint, query)) as response:
            body = hardening.Body(response)
            async for chunk in response.aiter_bytes():
                body.take(chunk)
    return body.json()


@contextlib.contextmanager
def stream(endpoint: str, query: dict) -> Iterator[httpx.Response]:
    """Open a GET whose body the caller reads as it arrives; failures become 502/504."""
    client = get_client()
    with translate_errors():  # noqa: SIM117 - nested like the async twin, line for line
        with hardening.send(client, request(client, endpoint, query)) as response:
            check_status(response)
            yield response


@contextlib.asynccontextmanager
async def astream(endpoint: str, query: dict) -> AsyncIterator[httpx.Response]:
    """See stream()."""
    client = aget_client()
    with translate_errors():
        async with hardening.asend(client, request(client, endpoint, query)) as response:
            check_status(response)
            yield response
