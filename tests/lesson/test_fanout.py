"""Fan-out: sequential sync calls add up, concurrent ones overlap (structural bounds only)."""

import time

import pytest
from django.urls import reverse

K, D_MS = 10, 200


def timed_get(client, name: str) -> tuple[float, dict]:
    started = time.perf_counter()
    response = client.get(reverse(f"views_demo:{name}"), {"n": K, "delay": D_MS})
    assert response.status_code == 200
    return (time.perf_counter() - started) * 1000, response.json()


def test_sync_fanout_waits_for_each_call_in_turn(client):
    """K sequential calls of D ms take at least K·D."""
    elapsed, body = timed_get(client, "sync_fanout")
    assert len(body["result"]) == K
    assert elapsed >= K * D_MS


@pytest.mark.parametrize("name", ["async_fanout", "sync_fanout_threaded"])
def test_concurrent_fanout_takes_about_one_delay(client, name):
    """K concurrent calls of D ms finish in under 2·D, not K·D."""
    elapsed, body = timed_get(client, name)
    assert len(body["result"]) == K
    assert D_MS <= elapsed < 2 * D_MS
