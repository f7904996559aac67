"""
A client that leaves mid-request cancels the async view's upstream work; the sync view's thread
waits it out. Either way nothing leaks and the server keeps serving. Real uvicorn, real sockets.
"""

import time

import httpx
import pytest
from django.urls import reverse

from tests import servers


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with servers.uvicorn_server(tmp_path_factory.mktemp("disconnects"), options=("--no-access-log",)) as (
        url,
        process,
    ):
        yield url, process


def open_waits(url: str) -> int:
    """Upstream requests still waiting out their delay on the server's in-process upstream."""
    return httpx.get(f"{url}/upstream/stats", timeout=5).json()["open_waits"]


def loop_tasks(url: str) -> int:
    return httpx.get(url + reverse("lab:tasks"), timeout=5).json()["tasks"]


def leave_early(url: str, name: str, query: dict, after: float) -> None:
    """Send a request and hang up after `after` seconds, before the answer comes."""
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(url + reverse(f"views_demo:{name}"), params=query, timeout=after)


@pytest.mark.parametrize(
    ("name", "query", "calls"),
    [("async_upstream", {"delay": 5000}, 1), ("async_fanout", {"n": 5, "delay": 5000}, 5)],
)
def test_leaving_cancels_the_async_views_upstream_calls(server, name, query, calls):
    """Within seconds of the client leaving, long before their 5 s would end, the upstream calls are gone."""
    url, process = server
    assert servers.settles(lambda: open_waits(url), 0)
    tasks, fds = loop_tasks(url), servers.process_figures(process.pid)["fds"]

    for _ in range(3):
        leave_early(url, name, query, after=0.5)
        # The calls were in flight (5 s each), and are cancelled long before they would end.
        assert servers.settles(lambda: open_waits(url), 0, timeout=3)

    assert servers.settles(lambda: loop_tasks(url) <= tasks, True, timeout=3)
    # Idle pooled connections may come and go; what must not happen is growth.
    assert servers.settles(lambda: servers.process_figures(process.pid)["fds"] <= fds, True, timeout=5)
    assert httpx.get(url + reverse("views_demo:async_hello"), timeout=5).status_code == 200


def test_leaving_does_not_stop_the_sync_view(server):
    """The sync view's thread keeps waiting on the upstream after the client has gone."""
    url, _ = server
    leave_early(url, "sync_upstream", {"delay": 2000}, after=0.5)

    time.sleep(0.5)
    assert open_waits(url) == 1, "the sync view should still be waiting on its upstream call"
    assert servers.settles(lambda: open_waits(url), 0, timeout=3)
    assert httpx.get(url + reverse("views_demo:sync_hello"), timeout=5).status_code == 200
