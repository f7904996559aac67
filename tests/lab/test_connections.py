"""
The connections page (lab/views.py `connections`, lab/connections.py): its text and its
burst's guard, in this process. The burst itself runs against a real uvicorn on PostgreSQL in
tests/serving/test_connections.py.
"""

import httpx
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from lab import connections as connection_burst
from lab import loadrun

URL = reverse("lab:connections")
SMALL = {"concurrency": 4, "requests": 8, "seconds": 5}
on_sqlite = pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite answer")
on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL answer")


@pytest.fixture
def enabled(settings):
    """Turn the burst on as a deployment would, with DEBUG off (as under pytest-django)."""
    settings.LAB_LOAD_RUN = True


def error(response) -> str:
    return response.json()["error"]


def test_states_the_rule_of_thumb(client):
    """The page gives the rule: pool size times workers, waits then a 503, CONN_MAX_AGE piles up."""
    page = client.get(URL).text
    assert "max_size</code> &times; worker processes" in page
    assert "timed out waiting for a pooled connection" in page
    assert "piles connections up" in page
    assert "docs/running.md" in page


def test_the_index_links_the_page(client):
    """The lab's index lists the connections page under More."""
    assert f'href="{URL}"' in client.get(reverse("lab:index")).text


@on_sqlite
def test_on_sqlite_says_why_it_needs_postgresql(client):
    """On SQLite the page answers 200, saying the burst needs PostgreSQL and how to start it, with no form."""
    response = client.get(URL)
    assert response.status_code == 200
    assert "The burst needs PostgreSQL" in response.text
    assert "DATABASE_URL=postgres://" in response.text
    assert 'id="connections-form"' not in response.text


@on_sqlite
def test_on_sqlite_a_burst_is_refused_naming_postgresql(client, enabled):
    """A POST on SQLite answers 400 naming pg_stat_activity and DATABASE_URL."""
    response = client.post(URL, SMALL)
    assert response.status_code == 400
    assert "pg_stat_activity" in error(response) and "DATABASE_URL" in error(response)


@on_postgresql
def test_on_postgresql_shows_the_pool_and_says_the_burst_needs_asgi_under_wsgi(client, enabled):
    """Under WSGI the page shows this server's pool and no form; a POST answers 400 naming ASGI."""
    page = client.get(URL).text
    assert f"{connection.settings_dict['OPTIONS']['pool']['max_size']} connections" in page
    assert "The burst needs an ASGI server" in page
    response = client.post(URL, SMALL)
    assert response.status_code == 400
    assert "needs an ASGI server" in error(response)


def test_refuses_a_post_without_a_csrf_token(enabled):
    """A POST without the CSRF token is refused 403 before anything is sent."""
    response = Client(enforce_csrf_checks=True).post(URL, SMALL)
    assert response.status_code == 403
    assert "CSRF" in error(response)


def test_is_off_with_debug_off_and_no_setting(client, settings):
    """With DEBUG off and LAB_LOAD_RUN unset, a burst is refused 403 with the reason."""
    settings.DEBUG = False
    response = client.post(URL, SMALL)
    assert response.status_code == 403
    assert "LAB_LOAD_RUN" in error(response)
    assert not connection_burst.running.locked()


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({**SMALL, "url": "http://elsewhere/"}, "url is not a field of the burst"),
        ({**SMALL, "concurrency": 101}, "concurrency"),
        ({**SMALL, "requests": 0}, "requests"),
        ({**SMALL, "seconds": 31}, "seconds"),
    ],
    ids=["another-field", "too-many-at-once", "no-requests", "too-long"],
)
def test_refuses_fields_out_of_bounds_or_not_its_own(client, enabled, form, reason):
    """The burst sends only to this server's own views, C ≤ 100, at most 500 requests and 30 s each."""
    response = client.post(URL, form)
    assert response.status_code == 400
    assert reason in error(response)


def test_answers_put_with_405(client):
    """Only GET shows the page and only POST bursts."""
    assert client.put(URL).status_code == 405


@on_postgresql
@pytest.mark.asyncio
async def test_refuses_a_second_burst_while_one_runs(async_client, enabled):
    """While a burst holds the lock, another is refused 409 and sends nothing."""
    with connection_burst.running:
        response = await async_client.post(URL, SMALL)
    assert response.status_code == 409
    assert "another burst is under way" in error(response)


REASON = "database unavailable: timed out waiting for a pooled connection"


@pytest.mark.parametrize(
    ("response", "label"),
    [
        (httpx.Response(503, json={"error": REASON, "status": 503}), f"503 {REASON}"),
        (httpx.Response(500, text="<h1>Server Error (500)</h1>"), "500"),
        (httpx.Response(502, json=["not", "an", "object"]), "502"),
        (httpx.Response(503, json={"error": None}), "503"),
        (httpx.Response(404, content=b"\xff\xfe not text"), "404"),
    ],
    ids=["the-views-reason", "html", "a-json-list", "a-null-reason", "not-utf-8"],
)
def test_names_a_failed_answer_by_its_status_and_the_reason_the_view_gave(response, label):
    """labels a failure "<status> <the view's JSON error>", or the status alone when the body gives none."""
    assert connection_burst.status_and_reason(response) == label


@pytest.mark.asyncio
async def test_the_burst_sends_through_the_load_runs_batch_naming_each_failure_its_own_way():
    """The same batch counts 503s as "HTTP 503" for the load run and with the view's reason for the burst."""
    statuses = []

    def answer(request: httpx.Request) -> httpx.Response:
        statuses.append(200 if len(statuses) % 2 == 0 else 503)
        return httpx.Response(
            statuses[-1], json={"error": REASON} if statuses[-1] == 503 else {"question": 1}
        )

    transport = httpx.MockTransport(answer)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        plain = await loadrun.batch(client, "/q", concurrency=2, total=8, seconds=5)
        named = await loadrun.batch(
            client, "/q", concurrency=2, total=8, seconds=5, failure=connection_burst.status_and_reason
        )
    assert (plain.started, len(plain.latencies), dict(plain.errors)) == (8, 4, {"HTTP 503": 4})
    assert (named.started, len(named.latencies), dict(named.errors)) == (8, 4, {f"503 {REASON}": 4})
