"""
A client that leaves mid-request cancels the async view's upstream work; the sync view's thread
waits it out. Either way nothing leaks and the server keeps serving. Real uvicorn, real sockets.
"""

import time

import httpx
import pytest
from django.urls import reverse

from tests import servers

pytestmark = pytest.mark.server


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


def question_votes(url: str) -> int:
    response = httpx.get(url + reverse("views_demo:sync_question"), params={"question": 1}, timeout=10)
    return sum(choice["votes"] for choice in response.json()["result"]["choices"])


@pytest.mark.parametrize(
    ("name", "counts_the_leavers"), [("async_checked_vote", False), ("sync_checked_vote", True)]
)
def test_a_client_leaving_mid_vote_loses_no_answered_vote_and_counts_none_twice(
    server, name, counts_the_leavers
):
    """Votes whose client hung up during the upstream wait: the async view is cancelled before it
    writes, the sync view writes once after the wait; every answered vote is counted either way."""
    url, _ = server
    before = question_votes(url)
    sent = {"left": 0, "answered": 0}
    with servers.csrf_session(url) as client:
        for i in range(6):
            leaves = i % 2 == 0
            try:
                response = client.post(
                    reverse(f"views_demo:{name}"),
                    data={"question": 1, "choice": 1, "delay": 600},
                    timeout=0.2 if leaves else 10,
                )
            except httpx.ReadTimeout:
                sent["left"] += 1
            else:
                assert response.status_code == 200, response.text
                sent["answered"] += 1
    assert sent == {"left": 3, "answered": 3}
    expected = before + sent["answered"] + (sent["left"] if counts_the_leavers else 0)
    # The sync view's last leaver writes up to 600 ms after its client left; then nothing changes.
    assert servers.settles(lambda: question_votes(url), expected, timeout=5)
    time.sleep(1)
    assert question_votes(url) == expected
