"""
The load run: the server loads a pair's views itself (lab/loadrun.py, lab/views.py load_run).

First its guard and its JSON, in this process: the run's client is pointed at the ASGI
application here instead of a socket, so they take a second. Then the page in chromium
against a real uvicorn, as a reader runs it.
"""

import asyncio

import httpx
import pytest
from django.apps import apps
from django.test import AsyncClient, Client
from django.urls import reverse

from asyncdemo.asgi import application
from lab import loadrun
from lab.registry import BY_SLUG
from tests import servers
from tests.browsers import AXE, blocking_violations

URL = reverse("lab:load_run")
SMALL = {"concurrency": 4, "requests": 12, "seconds": 10}


@pytest.fixture
def enabled(settings):
    """Turn the load run on as a deployment would, with DEBUG off (as under pytest-django)."""
    settings.LAB_LOAD_RUN = True


@pytest.fixture
def in_process(monkeypatch):
    """Send the run's requests to the ASGI application in this process instead of its socket."""

    def open_client(origin: str, host: str, concurrency: int, seconds: float) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=application)
        headers = {"Host": host}
        return httpx.AsyncClient(transport=transport, base_url=origin, headers=headers, timeout=seconds)

    monkeypatch.setattr(loadrun, "open_client", open_client)


def error(response) -> str:
    return response.json()["error"]


# The guard


def test_refuses_a_post_without_a_csrf_token(enabled):
    """A POST without the CSRF token is refused 403 before anything is sent."""
    response = Client(enforce_csrf_checks=True).post(URL, {"slug": "hello", **SMALL})
    assert response.status_code == 403
    assert "CSRF" in error(response)


def test_answers_get_with_405(client, enabled):
    """Only a POST starts a run."""
    assert client.get(URL).status_code == 405


@pytest.mark.asyncio
async def test_is_off_with_debug_off_and_no_setting(async_client, settings):
    """With DEBUG off and LAB_LOAD_RUN unset, the run is refused 403 with the reason."""
    settings.DEBUG = False
    response = await async_client.post(URL, {"slug": "hello", **SMALL})
    assert response.status_code == 403
    assert "LAB_LOAD_RUN" in error(response)
    assert not loadrun.running.locked()


def test_says_it_needs_asgi_under_wsgi(client, enabled):
    """Under WSGI (the sync test client) the run is refused 400, naming ASGI."""
    response = client.post(URL, {"slug": "hello", **SMALL})
    assert response.status_code == 400
    assert "needs an ASGI server" in error(response)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("fields", "status", "named"),
    [
        ({"slug": "nowhere"}, 404, "nowhere"),
        ({}, 404, "No demo called ''"),
        ({"slug": "vote"}, 400, "slug='vote'"),  # a POST pair
        ({"slug": "profile"}, 400, "slug='profile'"),  # login only
        ({"slug": "blocking"}, 400, "slug='blocking'"),  # would freeze the loop C times
        ({"slug": "hello", "url": "http://example.com/"}, 400, "url is not a field"),
        ({"slug": "upstream", "upstream": "http://example.com/"}, 400, "upstream is not a field"),
        ({"slug": "hello", "concurrency": 301}, 400, "concurrency=301 is out of range"),
        ({"slug": "hello", "concurrency": 0}, 400, "concurrency=0 is out of range"),
        ({"slug": "hello", "requests": 2001}, 400, "requests=2001 is out of range"),
        ({"slug": "hello", "seconds": 21}, 400, "seconds=21 is out of range"),
        ({"slug": "upstream", "delay": 10_001}, 400, "delay=10001 is out of range"),
    ],
)
async def test_refuses_what_is_not_a_registered_pairs_own_views_in_bounds(
    async_client, enabled, fields, status, named
):
    """A foreign slug or URL, a pair it may not load, a value out of bounds: refused, the reason named."""
    response = await async_client.post(URL, fields)
    assert response.status_code == status
    assert named in error(response)
    assert not loadrun.running.locked()


@pytest.mark.asyncio
async def test_a_second_run_at_once_is_refused_409(async_client, enabled, in_process):
    """While one run is under way, another gets 409 with the reason; the first still answers."""
    first = asyncio.create_task(
        async_client.post(URL, {"slug": "upstream", "concurrency": 1, "requests": 2, "delay": 100})
    )
    for _ in range(200):
        if loadrun.running.locked():
            break
        await asyncio.sleep(0.01)
    second = await AsyncClient().post(URL, {"slug": "hello", **SMALL})
    assert second.status_code == 409
    assert "another load run" in error(second)
    assert (await first).status_code == 200
    assert not loadrun.running.locked()


def test_own_origin_is_the_servers_own_address():
    """The run's origin is the scope's server address, a wildcard bind reached on loopback."""
    assert loadrun.own_origin({"scheme": "http", "server": ("127.0.0.1", 8125)}) == "http://127.0.0.1:8125"
    assert loadrun.own_origin({"scheme": "http", "server": ("0.0.0.0", 8000)}) == "http://127.0.0.1:8000"
    assert loadrun.own_origin({"scheme": "https", "server": ("::", 443)}) == "https://[::1]:443"
    assert loadrun.own_origin({"scheme": "http", "server": ("/tmp/app.sock", None)}) is None
    assert loadrun.own_origin({"scheme": "http"}) is None


# The answer


@pytest.mark.asyncio
async def test_answers_each_views_figures(async_client, enabled, in_process):
    """A small run of the upstream pair answers every request of both twins, with the figures in order."""
    response = await async_client.post(URL, {"slug": "upstream", **SMALL, "delay": 20})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["slug"], body["concurrency"], body["requests"], body["values"]) == (
        "upstream",
        4,
        12,
        {"delay": 20},
    )
    assert [view["name"] for view in body["views"]] == ["sync_upstream", "async_upstream"]
    for view, label in zip(body["views"], ["sync", "async"], strict=True):
        assert view["label"] == label
        assert view["url"] == reverse(f"views_demo:{view['name']}") + "?delay=20"
        assert (view["sent"], view["ok"], view["error_count"], view["unfinished"]) == (12, 12, 0, 0)
        assert view["throughput"] > 0
        assert 20 <= view["p50_ms"] <= view["p90_ms"] <= view["p99_ms"]
        assert view["peak_threads"] >= view["threads_before"] >= 1
    # The suite runs under either settings module; each profile has its own sentence on threads.
    if apps.is_installed("tuned"):
        assert body["profile"] == "tuned"
        assert "async_upstream kept up to 4 requests in flight" in body["sentence"]
    else:
        assert body["profile"] == "stock"
        assert "sync_upstream was not capped by a pool" in body["sentence"]
    assert body["call"] in {"wins", "ties", "loses"}
    assert "req/s" in body["verdict"]


def figures_of(name: str, throughput: float, *, errors: int = 0, unfinished: int = 0, peak: int = 10) -> dict:
    return {
        "name": name,
        "throughput": throughput,
        "sent": 40,
        "error_count": errors,
        "unfinished": unfinished,
        "peak_threads": peak,
        "threads_before": 3,
    }


@pytest.mark.parametrize(
    ("slug", "profile", "sync", "async_", "call", "says"),
    [
        ("upstream", "stock", 100, 180, "wins", "async served 1.80\N{MULTIPLICATION SIGN} as many"),
        ("upstream", "stock", 100, 105, "ties", "async does not win here"),
        ("upstream", "tuned", 100, 50, "loses", "so it loses here"),
        ("questions", "stock", 300, 200, "loses", "With no wait to overlap"),
        ("questions", "tuned", 300, 310, "ties", "async does not win here"),
    ],
)
def test_the_verdict_claims_only_what_the_throughputs_show(slug, profile, sync, async_, call, says):
    """Async wins only at 10% more req/s; a tie or a loss says so, and why where no wait is overlapped."""
    names = BY_SLUG[slug].view_names
    results = [figures_of(names[0], sync), figures_of(names[1], async_)]
    summary = loadrun.summarise(BY_SLUG[slug], results, concurrency=200, profile=profile)
    assert summary.call == call
    assert says in summary.verdict
    if call != "wins":
        assert "as many." not in summary.verdict
    first = "The tuned profile lends" if profile == "tuned" else "Under ASGI, Django as it ships"
    assert summary.sentence.startswith(first)


def test_a_run_with_errors_names_no_faster_view():
    """When any request failed, the verdict says which view and calls nothing faster."""
    results = [figures_of("sync_upstream", 100), figures_of("async_upstream", 300, errors=4)]
    summary = loadrun.summarise(BY_SLUG["upstream"], results, concurrency=200, profile="stock")
    assert summary.call == "errors"
    assert "async_upstream (4 of 40)" in summary.verdict
    assert "as many" not in summary.verdict


def test_a_run_far_below_what_the_waits_allow_says_the_cpu_set_the_pace():
    """At C=200 and D=500 ms the waits allow 400 req/s; both twins under 200 is the CPU's doing."""
    results = [figures_of("sync_upstream", 15), figures_of("async_upstream", 17)]
    summary = loadrun.summarise(BY_SLUG["upstream"], results, concurrency=200, profile="stock", delay_ms=500)
    assert "under half the 400 req/s that waits of 500 ms allow" in summary.verdict
    fast = [figures_of("sync_upstream", 150), figures_of("async_upstream", 380)]
    summary = loadrun.summarise(BY_SLUG["upstream"], fast, concurrency=200, profile="stock", delay_ms=500)
    assert "CPU" not in summary.verdict


def test_requests_cut_off_by_the_time_limit_still_compare_and_are_named():
    """Requests still in flight at the time limit are no failure: req/s compare, and the verdict says so."""
    results = [
        figures_of("sync_upstream", 100, unfinished=200),
        figures_of("async_upstream", 300, unfinished=200),
    ]
    summary = loadrun.summarise(BY_SLUG["upstream"], results, concurrency=200, profile="stock")
    assert summary.call == "wins"
    assert (
        "cut off the requests still in flight (200 of sync_upstream, 200 of async_upstream)"
        in summary.verdict
    )


def test_the_page_offers_the_run_only_where_it_may_run(client, settings):
    """The upstream page has the form; a POST pair has none; with the run off, the page says why."""
    settings.DEBUG = True
    upstream = client.get(reverse("lab:pair", args=["upstream"])).content.decode()
    assert 'id="load-run"' in upstream
    assert "needs an ASGI server" in upstream  # the test client is WSGI
    assert 'id="load-run"' not in client.get(reverse("lab:pair", args=["vote"])).content.decode()
    settings.DEBUG = False
    assert "LAB_LOAD_RUN" in client.get(reverse("lab:pair", args=["upstream"])).content.decode()


# The page in a browser. Last: Playwright's sync API runs an event loop in this thread while
# the browser is open, and the async tests above could not run beside it.


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {"DJANGO_SETTINGS_MODULE": "asyncdemo.settings", "DEBUG": "1"}
    with servers.uvicorn_server(tmp_path_factory.mktemp("load-run"), env=env) as (url, _):
        yield url


@pytest.mark.browser
def test_the_page_runs_a_load_from_the_server(tab, server):
    """On the upstream page the server loads both twins and the table shows their numbers and the sentence."""
    page = tab.page
    page.set_default_timeout(60_000)
    page.goto(server + reverse("lab:pair", args=["upstream"]))
    page.fill("#run-form input[name=delay]", "100")
    for name, value in {"concurrency": 20, "requests": 60, "seconds": 10}.items():
        page.fill(f"#load-run-form input[name={name}]", str(value))
    page.click("#load-run-button")
    page.wait_for_selector("#load-run-summary:not([hidden])")
    rows = page.eval_on_selector_all("#load-run-body tr", "rows => rows.map(row => ({...row.dataset}))")
    assert [row["view"] for row in rows] == ["sync_upstream", "async_upstream"]
    for row in rows:
        assert (row["sent"], row["ok"], row["errors"], row["unfinished"]) == ("60", "60", "0", "0")
        assert float(row["throughput"]) > 0
        assert 100 <= float(row["p50"]) <= float(row["p99"])
        assert int(row["peakThreads"]) >= int(row["threadsBefore"]) >= 1
        assert row["worstLag"] != ""
    cells = page.inner_text('#load-run-body tr[data-view="async_upstream"]')
    assert "60 of 60" in cells and "ms" in cells
    assert page.inner_text("#load-run-sentence").startswith("Under ASGI, Django as it ships")
    assert "req/s" in page.inner_text("#load-run-verdict")
    assert "delay=100" in page.inner_text("#load-run-status")
    if AXE.exists():  # the results shown are as accessible as the rest (tests/lab/test_pages.py)
        assert blocking_violations(page, AXE.read_text()) == []
    # Every column of the figures is in view at 1280 px, none behind a sideways scroll.
    assert page.eval_on_selector("#load-run-results", "box => box.scrollWidth <= box.clientWidth")
    assert tab.errors == []
