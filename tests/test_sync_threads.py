"""ASYNCDEMO_SYNC_THREADS: requests waiting on the upstream share a few threads instead of one each."""

import asyncio
import re
from pathlib import Path

import httpx
import pytest
from django.urls import reverse

from tests import servers

IN_FLIGHT = 40


def threads_of(pid: int) -> int:
    return int(re.search(r"^Threads:\s+(\d+)", Path(f"/proc/{pid}/status").read_text(), re.M).group(1))


async def peak_threads_while_waiting(url: str, pid: int) -> tuple[int, list[int]]:
    """Send IN_FLIGHT slow requests at once; return the server's threads midway and the statuses."""
    target = url + reverse("views_demo:async_upstream")
    limits = httpx.Limits(max_connections=IN_FLIGHT)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        calls = [asyncio.create_task(client.get(target, params={"delay": 1500})) for _ in range(IN_FLIGHT)]
        await asyncio.sleep(1)
        threads = threads_of(pid)
        responses = await asyncio.gather(*calls)
    return threads, [response.status_code for response in responses]


@pytest.mark.asyncio
@pytest.mark.parametrize(("sync_threads", "many"), [("0", True), ("2", False)], ids=["per-request", "shared"])
async def test_threads_held_by_waiting_requests(tmp_path, sync_threads, many):
    """Django holds a thread per waiting request; with 2 shared threads the count stays small.

    Sync views still answer in both modes.
    """
    env = {"ASYNCDEMO_SYNC_THREADS": sync_threads}
    with servers.uvicorn_server(tmp_path, env=env) as (url, process):
        idle = threads_of(process.pid)
        threads, statuses = await peak_threads_while_waiting(url, process.pid)
        async with httpx.AsyncClient(timeout=10) as client:
            sync_view = await client.get(url + reverse("views_demo:sync_upstream"), params={"delay": 0})
    assert statuses == [200] * IN_FLIGHT
    assert sync_view.status_code == 200
    if many:
        assert threads > idle + IN_FLIGHT // 2
    else:
        assert threads <= idle + 2
