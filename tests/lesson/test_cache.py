"""The cache pair: a miss waits on the upstream, a hit does not, and the twins share entries."""

import pytest
from django.urls import reverse

from tests.readers import app_ms, timing

TWINS = ["sync_cached", "async_cached"]


def get(client, name, **query):
    return client.get(reverse(f"views_demo:{name}"), query)


@pytest.mark.parametrize("name", TWINS)
def test_first_call_waits_and_second_is_a_hit(client, name):
    """The first call is a miss that waits the delay; the second is a hit with no upstream call."""
    first = get(client, name, delay=200)
    second = get(client, name, delay=200)

    assert first["X-Cache"] == "miss"
    assert app_ms(first) >= 200
    assert timing(first)["calls"] == 1
    assert second["X-Cache"] == "hit"
    assert timing(second)["calls"] == 0
    assert app_ms(second) < 200
    assert second.json()["result"] == first.json()["result"]


@pytest.mark.parametrize(("first", "then"), [TWINS, TWINS[::-1]])
def test_twins_share_entries(client, first, then):
    """What one twin stored is a hit for the other."""
    assert get(client, first, delay=50)["X-Cache"] == "miss"
    assert get(client, then, delay=50)["X-Cache"] == "hit"


@pytest.mark.parametrize("name", TWINS)
def test_key_comes_from_validated_parameters_only(client, name):
    """Other query parameters, or another spelling of the same value, still hit the same entry."""
    get(client, name, delay=50)
    assert get(client, name, delay=" 50", junk="x")["X-Cache"] == "hit"
    assert get(client, name, delay=51)["X-Cache"] == "miss"


@pytest.mark.asyncio
async def test_async_twin_under_asgi(async_client):
    """Served by the ASGI handler, the async twin misses then hits through aget/aset."""
    url = reverse("views_demo:async_cached")
    first = await async_client.get(url, {"delay": 100})
    second = await async_client.get(url, {"delay": 100})
    assert (first["X-Cache"], second["X-Cache"]) == ("miss", "hit")
    assert timing(second)["calls"] == 0
