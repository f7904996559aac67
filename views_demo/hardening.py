"""
Guards for the upstream clients that are not the lesson: each one answers a fault that the
lesson's happy path never meets. clients.py uses them; docs/lesson.md#clients says why.

- NoCookies: the shared clients serve every user, so they keep no cookie an upstream sets.
- aiohttp_transport(): httpx's API over aiohttp's pool, raising httpx's exceptions.
- Body: a cap on an answer's size, and a deadline on the whole body rather than on each read.
- send() / asend(): a GET sent once more when its pooled connection was closed under it.
"""

import contextlib
import functools
import http.cookiejar
import json
import ssl
import time
from collections.abc import AsyncIterator, Iterator

import httpx

from views_demo import conf
from views_demo.errors import UpstreamError, UpstreamTimeout, check_status


@functools.cache
def ssl_context() -> ssl.SSLContext:
    # Building an SSL context is most of what a new client costs; share one.
    return httpx.create_ssl_context()


class NoCookies(http.cookiejar.CookieJar):
    """A cookie jar that keeps nothing: httpx's counterpart of aiohttp.DummyCookieJar."""

    def extract_cookies(self, response, request) -> None:
        pass

    def set_cookie(self, cookie) -> None:
        pass


def aiohttp_transport(pooled: httpx.Limits) -> httpx.AsyncBaseTransport:
    """Return httpx-aiohttp's transport with aiohttp's pool sized and timed like httpx's."""
    import aiohttp
    from httpx_aiohttp import AiohttpTransport

    class Transport(AiohttpTransport):
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

    def session() -> aiohttp.ClientSession:
        # Called on the first request, inside the running loop, as aiohttp requires; the
        # transport closes it with the client.
        connector = aiohttp.TCPConnector(
            limit=pooled.max_connections or 0,
            limit_per_host=0,
            keepalive_timeout=pooled.keepalive_expiry,
            ssl=ssl_context(),
        )
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    return Transport(verify=ssl_context(), limits=pooled, client=session)


class Body:
    """Collect a response body, enforcing the size cap and the total deadline.

    httpx's timeouts apply to each read, so a body that drips one byte just inside the read
    timeout would never time out; the deadline bounds the whole answer. It is checked as
    each chunk arrives, so a stalled upstream is still cut off by the read timeout.
    """

    def __init__(self, response: httpx.Response):
        self.response = response
        self.deadline = time.monotonic() + conf.UPSTREAM_TIMEOUT
        self.cap = conf.UPSTREAM_MAX_BODY
        self.chunks: list[bytes] = []
        self.size = 0
        if int(response.headers.get("content-length") or 0) > self.cap:
            self._too_big()

    def take(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.cap:
            self._too_big()
        if time.monotonic() > self.deadline:
            raise UpstreamTimeout(f"upstream body took longer than {conf.UPSTREAM_TIMEOUT:g} s")
        self.chunks.append(chunk)

    def _too_big(self):
        raise UpstreamError(f"upstream answer is larger than the {self.cap} bytes the views read")

    def json(self) -> dict:
        check_status(self.response)
        try:
            return json.loads(b"".join(self.chunks))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UpstreamError("upstream answered with invalid JSON") from exc


# A request sent on a pooled connection can meet the server closing that connection (its
# idle timer fired first, late on a busy event loop): it fails before any answer. RFC 9112
# (9.3.1) lets a client send an idempotent request again; aiohttp does so by itself and
# httpx does not, so both twins send a GET once more when that happens.
STALE_CONNECTION = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


@contextlib.contextmanager
def send(client: httpx.Client, request: httpx.Request) -> Iterator[httpx.Response]:
    """Stream a GET's answer, sending it once more if its connection was closed under it."""
    try:
        response = client.send(request, stream=True)
    except STALE_CONNECTION:
        response = client.send(request, stream=True)
    try:
        yield response
    finally:
        response.close()


@contextlib.asynccontextmanager
async def asend(client: httpx.AsyncClient, request: httpx.Request) -> AsyncIterator[httpx.Response]:
    """See send()."""
    try:
        response = await client.send(request, stream=True)
    except STALE_CONNECTION:
        response = await client.send(request, stream=True)
    try:
        yield response
    finally:
        await response.aclose()
