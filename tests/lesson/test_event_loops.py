"""Async views under WSGI get an event loop each; under ASGI every request shares one."""

import httpx
import pytest
from django.urls import reverse

from tests import servers
from tests.readers import app_ms

URL = reverse("lab:event_loop")
QUERY = {"n": 5, "delay": 200}


def test_under_wsgi_each_request_gets_its_own_loop(client):
    """Two requests through the WSGI handler run on two different event loops."""
    first, second = (client.get(URL, QUERY).json()["result"] for _ in range(2))
    assert first["server"] == second["server"] == "WSGI"
    assert first["loop"] != second["loop"]


def test_under_wsgi_the_fanout_inside_one_request_is_still_concurrent(client):
    """Five 200 ms calls on the request's own loop take less than the 1000 ms of one after another."""
    response = client.get(URL, QUERY)
    assert response.json()["result"]["calls"] == 5
    assert 200 <= app_ms(response) < 1000


@pytest.mark.server
def test_under_uvicorn_requests_share_one_loop(tmp_path):
    """Two requests to a real uvicorn run on the same event loop."""
    with servers.uvicorn_server(tmp_path) as (url, _):
        first, second = (httpx.get(url + URL, params=QUERY, timeout=10).json()["result"] for _ in range(2))
    assert first["server"] == second["server"] == "ASGI"
    assert first["loop"] == second["loop"]


@pytest.mark.asyncio
async def test_under_asgi_in_process_requests_share_the_test_loop(async_client):
    """The ASGI handler runs async views on the caller's loop: the same loop for every request."""
    first, second = [(await async_client.get(URL, QUERY)).json()["result"]["loop"] for _ in range(2)]
    assert first == second


def test_page_explains_it(client):
    """The page says that each request under WSGI gets its own loop, and links the endpoint."""
    page = client.get(reverse("lab:async_under_wsgi")).content.decode()
    assert "async_to_sync" in page
    assert URL in page
