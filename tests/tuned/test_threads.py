"""
Where requests' sync code runs under ASGI (tuned/threads.py).

The executor is checked directly (one call at a time, a thread lent per call, kept while a
database connection is open), then a real server: waiting async requests hold no threads,
and slow sync views hold one each without making the async requests wait.
"""

import asyncio
import itertools
import os
import queue
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import wait
from pathlib import Path

import httpx
import pytest
from django.db import connections
from django.urls import reverse

from tests import servers
from tuned.threads import ThreadPool, holds_database_connection


@pytest.fixture
def pool():
    pool = ThreadPool(max_idle=2, name="test-sync")
    yield pool
    pool.close_idle()


def on_thread(executor, fn=lambda: None):
    """Run fn through the executor; return the thread it ran on."""
    return executor.submit(lambda: (fn(), threading.get_ident())[1]).result(timeout=5)


def test_calls_that_leave_no_connection_give_the_thread_back(pool):
    first, second = pool.executor(), pool.executor()
    thread = on_thread(first)
    # `first` has not ended, yet its thread is free for another request between its calls.
    assert on_thread(second) == thread
    assert on_thread(first) == thread
    first.end(), second.end()


@pytest.mark.django_db(transaction=True)
def test_a_request_keeps_its_thread_while_it_holds_a_database_connection(pool):
    holder, other = pool.executor(), pool.executor()
    thread = on_thread(holder, lambda: connections["default"].ensure_connection())
    assert on_thread(other) != thread
    # The holder's next call finds its connection where it left it.
    assert holder.submit(holds_database_connection).result(timeout=5)
    assert on_thread(holder, lambda: connections["default"].close()) == thread
    holder.end(), other.end()


def test_calls_made_at_once_run_one_at_a_time_on_one_thread(pool):
    executor = pool.executor()
    spans = []

    def call():
        started = time.monotonic()
        time.sleep(0.05)
        spans.append((started, time.monotonic(), threading.get_ident()))

    wait([executor.submit(call) for _ in range(4)], timeout=5)
    spans.sort()
    assert len({thread for *_, thread in spans}) == 1
    assert all(ended <= next_started for (_, ended, _), (next_started, _, _) in itertools.pairwise(spans))
    executor.end()


def test_errors_reach_the_caller_and_the_thread_goes_back(pool):
    executor = pool.executor()
    failed = executor.submit(lambda: 1 / 0)
    assert isinstance(failed.exception(timeout=5), ZeroDivisionError)
    assert executor.submit(lambda: "next").result(timeout=5) == "next"
    executor.end()


def test_ending_during_a_call_gives_the_thread_back_when_it_returns(pool):
    executor, release, started = pool.executor(), threading.Event(), queue.SimpleQueue()
    running = executor.submit(lambda: (started.put(threading.get_ident()), release.wait(5)))
    thread = started.get(timeout=5)
    executor.end()
    with pytest.raises(RuntimeError, match="has ended"):
        executor.submit(lambda: None)
    # While its call runs, the thread is lent to no one else; once it returns, it is back.
    other = pool.executor()
    assert on_thread(other) != thread
    release.set()
    running.result(timeout=5)
    assert on_thread(other) == thread
    other.end()


def test_only_max_idle_threads_wait_for_work(pool):
    executors = [pool.executor() for _ in range(5)]
    gate = threading.Barrier(5, timeout=5)
    wait([executor.submit(gate.wait) for executor in executors], timeout=5)
    for executor in executors:
        executor.end()
    assert servers.settles(lambda: len(threads_named("test-sync")), pool.max_idle)
    pool.close_idle()
    assert servers.settles(lambda: len(threads_named("test-sync")), 0)


def threads_named(prefix: str) -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith(prefix)]


# A real server

IN_FLIGHT = 100


def threads_of(pid: int) -> int:
    return int(re.search(r"^Threads:\s+(\d+)", Path(f"/proc/{pid}/status").read_text(), re.M).group(1))


async def peak_threads_while_waiting(url: str, pid: int) -> tuple[int, list[int]]:
    """Send IN_FLIGHT slow requests at once; return the server's threads midway and the statuses."""
    target = url + reverse("views_demo:async_upstream")
    limits = httpx.Limits(max_connections=IN_FLIGHT)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        calls = [asyncio.create_task(client.get(target, params={"delay": 2000})) for _ in range(IN_FLIGHT)]
        await asyncio.sleep(1)
        threads = threads_of(pid)
        responses = await asyncio.gather(*calls)
    return threads, [response.status_code for response in responses]


@pytest.mark.server
@pytest.mark.asyncio
@pytest.mark.parametrize(("module", "many"), [("asyncdemo.settings", True), ("tuned.settings", False)])
async def test_threads_held_by_waiting_async_requests(tmp_path, module, many):
    """Django holds a thread per waiting request; with the pool, waiting holds none.

    A burst of arrivals borrows a few threads at once; the pool keeps at most 32 of them.
    """
    with servers.uvicorn_server(tmp_path, env={"DJANGO_SETTINGS_MODULE": module}) as (url, process):
        idle = threads_of(process.pid)
        threads, statuses = await peak_threads_while_waiting(url, process.pid)
    assert statuses == [200] * IN_FLIGHT
    if many:
        assert threads > idle + IN_FLIGHT * 0.6
    else:
        assert threads <= idle + ThreadPool().max_idle + 4


@pytest.mark.server
@pytest.mark.asyncio
async def test_slow_sync_views_do_not_hold_up_async_requests(tmp_path):
    """Four sync views waiting 2 s hold four threads; async requests meanwhile answer in one wait."""
    with servers.uvicorn_server(tmp_path) as (url, process):
        async with httpx.AsyncClient(timeout=30) as client:
            sync_view, async_view = (
                url + reverse("views_demo:sync_upstream"),
                url + reverse("views_demo:async_upstream"),
            )
            slow = [asyncio.create_task(client.get(sync_view, params={"delay": 2000})) for _ in range(4)]
            await asyncio.sleep(0.5)
            started = time.monotonic()
            fast = await asyncio.gather(*(client.get(async_view, params={"delay": 100}) for _ in range(8)))
            fast_seconds = time.monotonic() - started
            threads = threads_of(process.pid)
            slow = await asyncio.gather(*slow)
    assert [r.status_code for r in fast + slow] == [200] * 12
    # The async requests finished while the sync views were still waiting.
    assert fast_seconds < 1.4
    assert threads >= 4


SETTING_OF = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.DATABASES['default']['CONN_MAX_AGE'])"
)


@pytest.mark.server
@pytest.mark.parametrize(
    ("env", "kept"),
    [
        ({"DJANGO_SETTINGS_MODULE": "asyncdemo.settings"}, 0),
        ({"DJANGO_SETTINGS_MODULE": "tuned.settings"}, 60),
        ({"DJANGO_SETTINGS_MODULE": "tuned.settings", "SQLITE_CONN_MAX_AGE": "0"}, 0),
        ({"DJANGO_SETTINGS_MODULE": "bench.settings"}, 60),
        ({"DJANGO_SETTINGS_MODULE": "bench.settings", "BENCH_LEND_THREADS": "0"}, 0),
    ],
)
def test_sqlite_connections_persist_only_where_threads_outlive_requests(env, kept):
    """The tuned profile's lent threads keep their SQLite connection; a thread per request keeps none."""
    base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SQLITE_CONN_MAX_AGE")}
    out = subprocess.run(
        [sys.executable, "-c", SETTING_OF],
        cwd=servers.ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(out.stdout.split()[-1]) == kept


@pytest.mark.server
@pytest.mark.parametrize("module", ["tests.tuned.hardening_settings", "tests.tuned.hardening_stock_settings"])
def test_a_background_task_may_call_sync_code_after_its_request(tmp_path, module):
    """A task that outlives its request and then calls sync_to_async runs, as under Django as it ships.

    asgiref refuses such a call from a context whose own executor has exited ("ThreadSensitiveContext
    has exited"); the tuned profile lets it start a thread of its own, as Django's context does.
    """
    tries = 5
    with servers.uvicorn_server(tmp_path, env={"DJANGO_SETTINGS_MODULE": module}) as (url, process):
        with httpx.Client(timeout=5) as client:
            for _ in range(tries):
                assert client.get(f"{url}/test/sync_call_after_response/").text == "started"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and process.log().count("late sync call") < tries:
            time.sleep(0.1)
        outcomes = re.findall(r"late sync call (\w+)", process.log())
    assert outcomes == ["ran"] * tries, process.log()
