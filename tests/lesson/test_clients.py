"""The upstream clients: shared, one per event loop, closed by the ASGI lifespan."""

import asyncio

import httpx
import pytest
from django.urls import reverse

from asyncdemo.asgi import application
from tests.servers import Lifespan, open_sockets
from views_demo import clients


@pytest.mark.asyncio
@pytest.mark.usefixtures("live_upstream")
async def test_lifespan_client_serves_every_request_and_is_closed_at_shutdown(monkeypatch):
    """Startup opens one AsyncClient, every request on the loop uses it, shutdown closes it."""
    browser = httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://127.0.0.1")
    created = []

    class CountedAsyncClient(httpx.AsyncClient):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            created.append(self)

    monkeypatch.setattr(httpx, "AsyncClient", CountedAsyncClient)

    async with browser, Lifespan(application):
        for _ in range(3):
            response = await browser.get(reverse("views_demo:async_upstream"), params={"delay": 0})
            assert response.status_code == 200
        answer = await browser.get(reverse("views_demo:async_fanout"), params={"n": 5, "delay": 0})
        assert answer.status_code == 200
        assert len(created) == 1
        assert not created[0].is_closed

    assert created[0].is_closed


@pytest.mark.asyncio
async def test_lifespan_startup_fails_saying_why_when_the_client_cannot_open(settings):
    """A client that cannot open (a bad UPSTREAM_TRANSPORT) fails the startup, so the server stops
    and says why, rather than serving every request without its pooled client."""
    settings.UPSTREAM_TRANSPORT = "curl"
    inbox, outbox = asyncio.Queue(), asyncio.Queue()
    lifespan = asyncio.create_task(application({"type": "lifespan"}, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})

    message = await asyncio.wait_for(outbox.get(), timeout=5)
    await asyncio.wait_for(lifespan, timeout=5)  # the lifespan ends with the failure
    assert message["type"] == "lifespan.startup.failed"
    assert "UPSTREAM_TRANSPORT must be 'aiohttp' or 'httpx', not 'curl'" in message["message"]


@pytest.mark.asyncio
async def test_each_event_loop_gets_its_own_client():
    """aget_client() returns the same client within a loop and another one in another loop."""
    here = clients.aget_client()
    assert clients.aget_client() is here

    async def client_of_new_loop():
        return clients.aget_client()

    elsewhere = await asyncio.to_thread(asyncio.run, client_of_new_loop())
    assert elsewhere is not here
    await clients.aclose_client()


def test_async_views_without_a_lifespan_leave_no_connection_open(client):
    """Under WSGI each async view runs in a loop of its own; its client leaves nothing open."""
    before = open_sockets()
    for _ in range(3):
        response = client.get(reverse("views_demo:async_fanout"), {"n": 3, "delay": 0})
        assert response.status_code == 200
    assert open_sockets() == before


def test_sync_twins_share_one_client():
    """get_client() returns one client until it is closed."""
    first = clients.get_client()
    assert clients.get_client() is first
    clients.close_client()
    assert first.is_closed
    assert clients.get_client() is not first
