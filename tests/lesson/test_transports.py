"""The lifespan's client behaves the same over either transport UPSTREAM_TRANSPORT names."""

import asyncio

import httpx
import pytest
import pytest_asyncio
from django.core.exceptions import ImproperlyConfigured
from httpx_aiohttp import AiohttpTransport

from tests.servers import free_port
from views_demo import clients, upstream
from views_demo.errors import UpstreamError, UpstreamTimeout

TRANSPORTS = {"aiohttp": AiohttpTransport, "httpx": httpx.AsyncHTTPTransport}


@pytest_asyncio.fixture(params=sorted(TRANSPORTS))
async def pooled_client(request, settings, live_upstream):
    """The client the ASGI lifespan opens, over one transport, closed after the test."""
    settings.UPSTREAM_TRANSPORT = request.param
    settings.UPSTREAM_TRANSPORT_WRAPPER = None  # the lesson's client, without the lab's timing
    client = await clients.aopen_client()
    yield request.param, client
    await clients.aclose_client()


@pytest.mark.asyncio
async def test_lifespan_client_uses_the_named_transport(pooled_client):
    """aopen_client() builds its client on the transport UPSTREAM_TRANSPORT names."""
    name, client = pooled_client
    assert isinstance(client._transport, TRANSPORTS[name])
    assert clients.aget_client() is client
    assert await upstream.adelay(ms=0) == {"delay_ms": 0}


@pytest.mark.asyncio
async def test_calls_at_once_share_the_pool(pooled_client):
    """Twenty calls at once all answer, in about one delay rather than twenty."""
    started = asyncio.get_running_loop().time()
    answers = await upstream.afanout(n=20, ms=200)
    assert answers == [{"delay_ms": 200}] * 20
    assert asyncio.get_running_loop().time() - started < 20 * 0.2 / 2


@pytest.mark.asyncio
async def test_timeout_gives_upstream_timeout(pooled_client, settings):
    """A call slower than UPSTREAM_TIMEOUT raises UpstreamTimeout (504)."""
    settings.UPSTREAM_TIMEOUT = 0.2
    with pytest.raises(UpstreamTimeout, match=r"^upstream did not answer within 0.2 s"):
        await upstream.adelay(ms=1000)


@pytest.mark.asyncio
async def test_error_status_gives_upstream_error(pooled_client, settings, upstream_url):
    """An upstream 503 raises UpstreamError (502) naming the status."""
    settings.UPSTREAM_URL = f"{upstream_url}/status/503"
    with pytest.raises(UpstreamError, match=r"^upstream answered 503$") as caught:
        await upstream.adelay(ms=0)
    assert caught.value.status == 502


@pytest.mark.asyncio
async def test_refused_connection_gives_upstream_error(pooled_client, settings):
    """A closed port raises UpstreamError (502) saying the connection was refused."""
    settings.UPSTREAM_URL = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(UpstreamError, match=r"^upstream refused the connection") as caught:
        await upstream.adelay(ms=0)
    assert caught.value.status == 502


@pytest.mark.asyncio
async def test_reset_mid_body_gives_upstream_error(pooled_client, settings, upstream_url):
    """A connection dropped halfway through the body raises UpstreamError (502)."""
    settings.UPSTREAM_URL = f"{upstream_url}/reset"
    with pytest.raises(UpstreamError, match=r"^upstream connection failed") as caught:
        await upstream.adelay(ms=0)
    assert caught.value.status == 502


@pytest.mark.asyncio
async def test_connection_closed_before_answer_gives_upstream_error(pooled_client, settings):
    """A server that hangs up without answering gives 502, not a 504 timeout."""

    async def hang_up(reader, writer):
        await reader.readline()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        settings.UPSTREAM_URL = f"http://127.0.0.1:{port}"
        with pytest.raises(UpstreamError, match=r"^upstream connection failed") as caught:
            await upstream.adelay(ms=0)
    assert caught.value.status == 502


@pytest.mark.asyncio
async def test_unknown_transport_is_refused(settings):
    """An UPSTREAM_TRANSPORT other than aiohttp or httpx is a configuration error."""
    settings.UPSTREAM_TRANSPORT = "curl"
    with pytest.raises(ImproperlyConfigured, match="UPSTREAM_TRANSPORT"):
        await clients.aopen_client()
