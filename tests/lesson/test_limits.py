"""Fan-out is bounded per request and per process: excess calls queue, they do not fail."""

import time

import pytest
from django.urls import reverse

from views_demo import clients

D_MS = 100


def timed_fanout(client, name: str, n: int) -> float:
    started = time.perf_counter()
    response = client.get(reverse(f"views_demo:{name}"), {"n": n, "delay": D_MS})
    assert response.status_code == 200
    assert len(response.json()["result"]) == n
    return (time.perf_counter() - started) * 1000


@pytest.mark.parametrize("name", ["async_fanout", "sync_fanout_threaded"])
def test_one_request_runs_at_most_fanout_concurrency_calls_at_once(client, settings, name):
    """With FANOUT_CONCURRENCY=4, 12 calls of D ms run in 3 waves: at least 3·D, well under 12·D."""
    settings.FANOUT_CONCURRENCY = 4
    elapsed = timed_fanout(client, name, 12)
    assert 3 * D_MS <= elapsed < 8 * D_MS


@pytest.mark.parametrize("name", ["async_fanout", "sync_fanout_threaded"])
def test_calls_beyond_the_connection_cap_wait_instead_of_failing(client, settings, name):
    """With UPSTREAM_MAX_CONNECTIONS=2, 6 concurrent calls all succeed, two at a time."""
    settings.UPSTREAM_MAX_CONNECTIONS = 2
    settings.UPSTREAM_TIMEOUT = 5
    clients.close_client()  # the sync client reads the cap when it is created
    try:
        elapsed = timed_fanout(client, name, 6)
    finally:
        clients.close_client()
    assert 3 * D_MS <= elapsed < 6 * D_MS
