"""
Failed upstream calls leave nothing behind: no socket, no thread, no task.

The async views are checked the way they run in production: under the ASGI lifespan, with
its pooled client. (Without a lifespan, each async view's client uses httpx's own
transport, whose pool can lose a socket when a TaskGroup cancels a call that is still
connecting: httpcore issue 1093, open in 1.0.9. The lifespan's aiohttp transport does not.)
"""

import asyncio
import threading

import httpx
import pytest
from django.urls import reverse

from asyncdemo.asgi import application
from tests.demos import DEMO_OF, UPSTREAM_VIEWS, get
from tests.servers import Lifespan, open_sockets, settles
from views_demo import clients

FAULTS = ["status/503", "invalid-json", "reset", "big", "drip"]
SYNC_VIEWS = [name for name in UPSTREAM_VIEWS if name.startswith("sync_")]
ASYNC_GET_VIEWS = [
    name for name in UPSTREAM_VIEWS if name.startswith("async_") and DEMO_OF[name].method == "GET"
]


@pytest.fixture
def faulty_upstream(settings, upstream_url, request):
    settings.UPSTREAM_TIMEOUT = 0.1  # the drip fault fails at its second chunk, 200 ms in
    settings.UPSTREAM_MAX_BODY = 64 * 1024
    settings.UPSTREAM_URL = f"{upstream_url}/{request.param}"


@pytest.mark.parametrize("faulty_upstream", FAULTS, indirect=True)
@pytest.mark.parametrize("name", SYNC_VIEWS)
def test_sync_faults_leave_no_socket_or_thread(client, seeded, faulty_upstream, name):
    """Repeated failures of a sync view leave the same sockets and threads as one failure."""
    assert get(client, name, delay=0).status_code in {502, 504}
    clients.close_client()  # idle pooled connections are not a leak
    sockets, threads = open_sockets(), threading.active_count()

    for _ in range(3):
        assert get(client, name, delay=0).status_code in {502, 504}

    clients.close_client()
    # Threads other tests started may still be ending: what must not happen is growth.
    assert settles(lambda: open_sockets() <= sockets and threading.active_count() <= threads, True)


@pytest.mark.asyncio
@pytest.mark.parametrize("faulty_upstream", FAULTS, indirect=True)
@pytest.mark.parametrize("name", ASYNC_GET_VIEWS)
async def test_async_faults_leave_no_socket_or_task(faulty_upstream, name):
    """Under the lifespan, repeated failures of an async view leave no socket or task behind.

    How many idle connections the pool keeps between failures depends on timing, so the
    sockets are counted before the lifespan starts and after it has closed its client:
    every socket a failure opened must have been closed by then.
    """
    path = reverse(f"views_demo:{name}")
    query = {**DEMO_OF[name].sample, "delay": 0}
    browser = httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://127.0.0.1")
    sockets = open_sockets()
    async with browser, Lifespan(application):
        assert (await browser.get(path, params=query)).status_code in {502, 504}
        tasks = len(asyncio.all_tasks())

        for _ in range(3):
            assert (await browser.get(path, params=query)).status_code in {502, 504}

        assert await asettles(lambda: len(asyncio.all_tasks()), tasks)

    assert await asettles(lambda: open_sockets() <= sockets, True)


async def asettles(measure, expected) -> bool:
    """Like servers.settles, but yields to the event loop for up to 2 s while it waits."""
    for _ in range(100):
        if measure() == expected:
            return True
        await asyncio.sleep(0.02)
    return measure() == expected
