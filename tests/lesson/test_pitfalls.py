"""Each pitfall breaks the way its comment says (views_demo/views/pitfalls.py); its right way does not."""

import asyncio
import gc
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.urls import reverse

from asyncdemo.asgi import application
from tests import servers
from tests.readers import app_ms
from tests.servers import Lifespan
from views_demo import tasks
from views_demo.errors import UpstreamError


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with servers.uvicorn_server(tmp_path_factory.mktemp("pitfalls")) as (url, process):
        yield url, process


def asgi_browser() -> httpx.AsyncClient:
    """A client of the project's ASGI application that can POST: a CSRF secret as cookie and header."""
    token = "csrf" * 8  # any 32 letters and digits make a secret Django accepts
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application),
        base_url="http://127.0.0.1",
        cookies={"csrftoken": token},
        headers={"X-CSRFToken": token},
    )


# Blocking the event loop

BLOCK_MS = 1500


def hello_wait_during(url: str, view: str) -> float:
    """Return how long a hello request waits while `view` waits BLOCK_MS on the same server."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        slow = pool.submit(
            httpx.get, url + reverse(f"views_demo:{view}"), params={"delay": BLOCK_MS}, timeout=10
        )
        time.sleep(0.3)  # let the slow request reach its view first
        started = time.perf_counter()
        hello = httpx.get(url + reverse("views_demo:async_hello"), timeout=10)
        waited = time.perf_counter() - started
        assert slow.result().status_code == 200
    assert hello.status_code == 200
    return waited


def loop_lag(url: str) -> dict:
    return httpx.get(url + reverse("lab:loop_lag"), timeout=5).json()["lag"]


@pytest.mark.server
def test_blocking_sleep_stalls_every_other_request(server):
    """While async_sleep_badly blocks 1.5 s, hello on the same server waits for it and the loop lags."""
    url, _ = server
    # Sent 0.3 s into the block, hello can only be answered about 1.2 s later.
    assert hello_wait_during(url, "async_sleep_badly") >= 0.8
    assert loop_lag(url)["max_10s_ms"] >= 1000


@pytest.mark.server
def test_awaited_sleep_leaves_the_server_free(server):
    """While async_sleep awaits 1.5 s, hello on the same server answers at once and the loop does not lag."""
    url, _ = server
    assert hello_wait_during(url, "async_sleep") < 0.8
    # The last second was all spent awaiting, so any lag from an earlier test is out of the window.
    assert loop_lag(url)["max_1s_ms"] < 500


# A new AsyncClient per request

REQUESTS = 20


@pytest.mark.asyncio
@pytest.mark.usefixtures("live_upstream")
async def test_a_client_per_request_is_built_every_time_and_costs_cpu(monkeypatch):
    """Over 20 requests the bad view builds 20 clients and burns at least twice async_upstream's CPU."""
    created = []

    class CountedAsyncClient(httpx.AsyncClient):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            created.append(self)

    async def cost(browser: httpx.AsyncClient, view: str) -> tuple[float, int]:
        """Return the CPU seconds this process spent on REQUESTS calls, and the clients built."""
        clients_before, started = len(created), time.process_time()
        for _ in range(REQUESTS):
            response = await browser.get(reverse(f"views_demo:{view}"), params={"delay": 0})
            assert response.status_code == 200
        return time.process_time() - started, len(created) - clients_before

    async with asgi_browser() as browser, Lifespan(application):
        # Counted from here: the lifespan has opened the shared client, as under uvicorn.
        monkeypatch.setattr(httpx, "AsyncClient", CountedAsyncClient)
        await cost(browser, "async_upstream")  # warm up: imports, URL resolver, first connection
        shared_cpu, shared_clients = await cost(browser, "async_upstream")
        new_cpu, new_clients = await cost(browser, "async_client_per_request_badly")

    assert (shared_clients, new_clients) == (0, REQUESTS)
    assert new_cpu >= 2 * shared_cpu, f"{new_cpu=:.3f} s, {shared_cpu=:.3f} s"


# Fire-and-forget create_task


@pytest.mark.asyncio
@pytest.mark.usefixtures("live_upstream")
async def test_a_lost_task_error_reaches_only_the_loops_exception_handler():
    """async_task_badly answers 200 while its task fails; the error surfaces only as a loop report."""
    loop = asyncio.get_running_loop()
    reports = []
    # The default handler would log the report; keep it instead, to check it is the only trace.
    loop.set_exception_handler(lambda loop, context: reports.append(context))
    try:
        async with asgi_browser() as browser, Lifespan(application):
            response = await browser.post(
                reverse("views_demo:async_task_badly"), data={"delay": 500, "fail": 1}
            )
            # Answered before the upstream's 500 ms were up, so before anything failed.
            assert response.status_code == 200
            assert response.json()["result"] == {"started": True}
            assert reports == []
            deadline = time.monotonic() + 10
            while not reports and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
                gc.collect()
    finally:
        loop.set_exception_handler(None)

    assert [report["message"] for report in reports] == ["Task exception was never retrieved"]
    assert isinstance(reports[0]["exception"], UpstreamError)
    assert app_ms(response) < 500


@pytest.mark.server
def test_a_lost_task_error_is_only_a_line_in_the_server_log(server):
    """Over real HTTP, async_task_badly answers 200 and its failure shows only in uvicorn's log."""
    url, process = server
    with servers.csrf_session(url, timeout=5) as client:
        response = client.post(reverse("views_demo:async_task_badly"), data={"delay": 0, "fail": 1})
    assert response.status_code == 200

    deadline = time.monotonic() + 10
    while "Task exception was never retrieved" not in process.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = process.log()
    assert "Task exception was never retrieved" in log
    assert "views_demo.errors.UpstreamError: upstream answered 503" in log


def test_a_lost_task_never_finishes_under_wsgi(client, monkeypatch):
    """Under WSGI the request's event loop ends with the response, and the task's work with it."""
    steps = []

    async def recorded(*, ms: int, fail: bool) -> dict:
        steps.append("started")
        try:
            await asyncio.sleep(ms / 1000)
        except asyncio.CancelledError:
            steps.append("cancelled")
            raise
        steps.append("finished")
        return {"delay_ms": ms}

    monkeypatch.setattr(tasks, "afetch_upstream", recorded)
    response = client.post(reverse("views_demo:async_task_badly"), {"delay": 100})
    time.sleep(0.3)

    assert response.status_code == 200
    # It starts at the loop's first await, and asyncio.run() cancels it when the view returns.
    assert steps == ["started", "cancelled"]
