"""The loop-lag monitor sees a blocked event loop."""

import asyncio
import gc
import time
import weakref

import httpx
import pytest
from django.urls import reverse

from asyncdemo.asgi import application
from lab import looplag
from tests.servers import Lifespan


@pytest.mark.asyncio
async def test_monitor_reports_a_blocked_loop():
    """A 300 ms block of the loop shows as at least 250 ms of lag; an idle loop shows little."""
    monitor = looplag.start()
    try:
        await asyncio.sleep(0.2)
        assert monitor.report()["max_1s_ms"] < 100
        time.sleep(0.3)  # noqa: ASYNC251 - blocking on purpose: this is what the monitor must see
        await asyncio.sleep(0.05)
        assert monitor.report()["max_1s_ms"] >= 250
    finally:
        await looplag.stop()
    assert monitor.task is None


@pytest.mark.asyncio
async def test_endpoint_reports_server_and_lag_under_asgi():
    """Under ASGI with a lifespan, /lab/loop-lag/ says ASGI and reports the lag."""
    browser = httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://127.0.0.1")
    async with browser, Lifespan(application):
        await asyncio.sleep(0.1)
        body = (await browser.get(reverse("lab:loop_lag"))).json()
    assert body["server"] == "ASGI"
    assert body["watching"] is True
    assert set(body["lag"]) == {"current_ms", "max_1s_ms", "max_10s_ms"}


def test_endpoint_says_wsgi_has_no_loop_to_watch(client):
    """Under WSGI (the test client), the endpoint says WSGI and that nothing is watched."""
    body = client.get(reverse("lab:loop_lag")).json()
    assert body == {"server": "WSGI", "watching": False, "lag": None}


def test_a_closed_loop_leaves_no_monitor_behind():
    """A loop that served requests and closed is not kept alive by its monitor (each test's loop, say)."""
    loops = []

    async def serve():
        looplag.start()
        loops.append(weakref.ref(asyncio.get_running_loop()))
        await asyncio.sleep(0)

    for _ in range(3):
        asyncio.run(serve())
    gc.collect()
    assert [loop() for loop in loops] == [None, None, None]
