"""Server-Timing: one middleware, both modes, no thread hop; upstream wait counted once per overlap."""

import pytest
from asgiref.sync import iscoroutinefunction
from django.http import HttpResponse
from django.urls import reverse

from lab.middleware import ServerTimingMiddleware
from tests.readers import timing


def test_sync_view_under_the_sync_client(client):
    """A sync view's header has the app time and at least the upstream delay, for one call."""
    found = timing(client.get(reverse("views_demo:sync_upstream"), {"delay": 100}))
    assert found["calls"] == 1
    assert found["upstream"] >= 100
    assert found["app"] >= found["upstream"]


@pytest.mark.asyncio
async def test_async_view_under_the_async_client(async_client):
    """An async view served by the ASGI handler gets the same header."""
    found = timing(await async_client.get(reverse("views_demo:async_upstream"), {"delay": 100}))
    assert found["calls"] == 1
    assert found["upstream"] >= 100
    assert found["app"] >= found["upstream"]


@pytest.mark.asyncio
async def test_sync_view_under_the_async_client(async_client):
    """A sync view under ASGI runs in a thread; the context variable follows it there."""
    found = timing(await async_client.get(reverse("views_demo:sync_upstream"), {"delay": 100}))
    assert found["calls"] == 1
    assert found["upstream"] >= 100


def test_overlapping_calls_count_once(client):
    """Five concurrent 200 ms calls are five calls but about 200 ms of waiting, not 1000."""
    found = timing(client.get(reverse("views_demo:async_fanout"), {"n": 5, "delay": 200}))
    assert found["calls"] == 5
    assert 200 <= found["upstream"] < 1000


def test_calls_from_a_plain_thread_pool_are_not_counted(client):
    """The threaded fan-out's pool threads do not inherit the request's context: 0 calls counted."""
    found = timing(client.get(reverse("views_demo:sync_fanout_threaded"), {"n": 5, "delay": 20}))
    assert (found["calls"], found["upstream"]) == (0, 0)


def test_a_failed_call_counts_its_wait(client, settings):
    """A call the upstream refuses still counts as one call: its wait ends when it fails."""
    settings.UPSTREAM_URL = "http://127.0.0.1:9"  # the discard port: nothing listens there
    failed = timing(client.get(reverse("views_demo:sync_upstream"), {"delay": 0}))
    assert failed["calls"] == 1


def test_sequential_calls_add_up(client):
    """Five calls one after another wait at least five delays."""
    found = timing(client.get(reverse("views_demo:sync_fanout"), {"n": 5, "delay": 50}))
    assert found["calls"] == 5
    assert found["upstream"] >= 250


def test_view_without_upstream_calls(client):
    """A view that calls nothing reports no upstream wait."""
    found = timing(client.get(reverse("views_demo:async_hello")))
    assert (found["calls"], found["upstream"]) == (0, 0)


def test_takes_the_mode_of_what_it_wraps():
    """Wrapping an async handler makes the middleware a coroutine function, so Django needs no adapter."""

    def sync_handler(request):
        return HttpResponse()

    async def async_handler(request):
        return HttpResponse()

    assert not iscoroutinefunction(ServerTimingMiddleware(sync_handler))
    assert iscoroutinefunction(ServerTimingMiddleware(async_handler))
