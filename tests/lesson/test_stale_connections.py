"""A GET whose pooled connection the upstream closed under it is sent once more (hardening.send/asend)."""

import asyncio

import httpx
import pytest

from views_demo import clients, upstream
from views_demo.errors import UpstreamError


def upstream_failing(times: int, error=httpx.RemoteProtocolError):
    """A mock upstream whose first `times` calls fail with `error`; return it and its calls."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) <= times:
            raise error("Server disconnected without sending a response.", request=request)
        return httpx.Response(200, json={"delay_ms": 5})

    return httpx.MockTransport(handler), calls


def call_sync(transport, monkeypatch) -> dict:
    monkeypatch.setattr(clients, "_sync_client", httpx.Client(transport=transport))
    return clients.get_json("delay", {"ms": 5})


async def call_async(transport, monkeypatch) -> dict:
    async with httpx.AsyncClient(transport=transport) as client:
        return await clients.aget_json("delay", {"ms": 5}, client=client)


@pytest.mark.parametrize("error", [httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError])
@pytest.mark.asyncio
async def test_both_twins_send_a_get_again_when_its_connection_was_closed(error, monkeypatch):
    """answers from the second attempt, in both modes, after one stale-connection failure."""
    sync_transport, sync_calls = upstream_failing(1, error)
    async_transport, async_calls = upstream_failing(1, error)
    assert call_sync(sync_transport, monkeypatch) == {"delay_ms": 5}
    assert await call_async(async_transport, monkeypatch) == {"delay_ms": 5}
    assert (len(sync_calls), len(async_calls)) == (2, 2)


@pytest.mark.asyncio
async def test_both_twins_give_up_after_one_more_attempt(monkeypatch):
    """answers 502 with the reason when the second attempt fails too, having tried twice."""
    sync_transport, sync_calls = upstream_failing(5)
    async_transport, async_calls = upstream_failing(5)
    with pytest.raises(UpstreamError, match="RemoteProtocolError"):
        call_sync(sync_transport, monkeypatch)
    with pytest.raises(UpstreamError, match="RemoteProtocolError"):
        await call_async(async_transport, monkeypatch)
    assert (len(sync_calls), len(async_calls)) == (2, 2)


@pytest.mark.asyncio
async def test_a_refused_connection_is_not_sent_again(monkeypatch):
    """leaves connection failures (no request sent) to the 502 they already give, in one attempt."""
    sync_transport, sync_calls = upstream_failing(5, httpx.ConnectError)
    async_transport, async_calls = upstream_failing(5, httpx.ConnectError)
    with pytest.raises(UpstreamError, match="refused"):
        call_sync(sync_transport, monkeypatch)
    with pytest.raises(UpstreamError, match="refused"):
        await call_async(async_transport, monkeypatch)
    assert (len(sync_calls), len(async_calls)) == (1, 1)


@pytest.mark.asyncio
async def test_both_stream_twins_send_their_get_again_too(monkeypatch):
    """relays the drip from the second attempt, in both modes, after one stale-connection failure."""
    sync_transport, sync_calls = upstream_failing(1)
    async_transport, async_calls = upstream_failing(1)
    monkeypatch.setattr(clients, "_sync_client", httpx.Client(transport=sync_transport))
    assert b"".join(upstream.drip(chunks=1, interval_ms=0)) == b'{"delay_ms":5}'
    async with httpx.AsyncClient(transport=async_transport) as client:
        monkeypatch.setitem(clients._async_clients, asyncio.get_running_loop(), client)
        assert (
            b"".join([chunk async for chunk in upstream.adrip(chunks=1, interval_ms=0)]) == b'{"delay_ms":5}'
        )
    assert (len(sync_calls), len(async_calls)) == (2, 2)
