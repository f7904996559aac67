"""
The lab in a real browser: Debian's chromium, driven by Playwright, against a real uvicorn.

The browser fixture (tests/lab/conftest.py) skips these tests without chromium, except under CI.
"""

import pytest
from django.urls import reverse

from lab.registry import DEMOS
from tests import servers
from tests.browsers import Tab
from tests.demos import views_for_test_client

pytestmark = pytest.mark.browser

RUN_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with servers.uvicorn_server(tmp_path_factory.mktemp("browser")) as (url, _):
        yield url


@pytest.fixture
def tab_without_javascript(browser):
    context = browser.new_context(java_script_enabled=False)
    yield Tab(context)
    context.close()


def run_and_wait(page) -> None:
    """Press the run button and wait until every view's row is in the results table."""
    page.click("#run-button")
    views = page.locator("article.view[data-view]").count()
    page.wait_for_function(
        "n => !document.querySelector('#run-button').disabled"
        " && document.querySelectorAll('#results-body tr').length === n",
        arg=views,
        timeout=RUN_TIMEOUT_MS,
    )


def wall_ms(page, view: str) -> float:
    return float(page.get_attribute(f'#results-body tr[data-view="{view}"] td.wall', "data-ms"))


def test_index_opens_the_fanout_page(tab, server):
    """The index lists every demo and its link opens the demo's page with the code."""
    page = tab.page
    page.goto(server + "/")
    assert page.locator(".card").count() == len(DEMOS)
    page.click(f'a[href="{reverse("lab:pair", args=["fanout"])}"] >> nth=0')
    page.wait_for_url("**/pairs/fanout/")
    assert "async def async_fanout" in page.inner_text('.view[data-view="async_fanout"]')
    assert tab.errors == []


def test_running_the_fanout_pair_charts_both_twins(tab, server):
    """Running the fan-out charts a number for every request of each twin, and async finishes first."""
    page = tab.page
    page.goto(server + reverse("lab:pair", args=["fanout"]))
    page.fill("input[name=concurrency]", "4")
    page.fill("input[name=n]", "10")
    page.fill("input[name=delay]", "200")
    run_and_wait(page)

    for name in ["sync_fanout", "async_fanout"]:
        group = page.locator(f'#chart-svg g.twin[data-view="{name}"]')
        latencies = [
            float(ms)
            for ms in group.locator("rect.request").evaluate_all("bars => bars.map(b => b.dataset.ms)")
        ]
        assert len(latencies) == 4
        assert all(ms > 0 for ms in latencies)
        assert float(group.locator("text.wall").get_attribute("data-ms")) > 0
        assert page.inner_text(f'#results-body tr[data-view="{name}"]').count("ms") >= 4
    # Ten sequential 200 ms calls take at least 2 s; ten concurrent ones about 200 ms, which
    # leaves a busy machine plenty of room.
    assert wall_ms(page, "sync_fanout") >= 2000
    assert wall_ms(page, "async_fanout") < wall_ms(page, "sync_fanout")
    assert page.inner_text("#live-server") == "ASGI"
    assert page.inner_text("#live-lag").endswith("ms")
    assert tab.errors == []


@pytest.mark.parametrize("demo", DEMOS, ids=lambda demo: demo.slug)
def test_every_demo_runs_from_its_page(tab, server, demo):
    """Every demo's page runs its views (GET, or POST with the CSRF token) and times each.

    Every view of a pair answers 2xx; a pitfall's wrong way may fail on purpose (the page
    then says why), but its right way answers 2xx.
    """
    page = tab.page
    page.goto(server + reverse("lab:pair", args=[demo.slug]))
    page.fill("input[name=concurrency]", "1")
    run_and_wait(page)
    must_succeed = demo.view_names[1:] if demo.pitfall else views_for_test_client(demo)
    for name in demo.view_names:
        statuses = page.get_attribute(f'#results-body tr[data-view="{name}"]', "data-statuses")
        assert int(statuses) > 0
        if name in must_succeed:
            assert 200 <= int(statuses) < 300, page.inner_text("#results-note")
        assert wall_ms(page, name) > 0
    assert tab.errors == []


def test_pages_show_the_code_without_javascript(tab_without_javascript, server):
    """With JavaScript off the index lists the demos and a pair page shows both twins' code."""
    page = tab_without_javascript.page
    page.goto(server + "/")
    assert page.locator(".card").count() == len(DEMOS)
    page.goto(server + reverse("lab:pair", args=["fanout"]))
    assert "def sync_fanout(request" in page.inner_text('.view[data-view="sync_fanout"]')
    assert "async def async_fanout(request" in page.inner_text('.view[data-view="async_fanout"]')
    assert page.locator(".line.changed").count() >= 4
    assert "needs JavaScript" in page.inner_text("#run")


def test_fanout_page_shows_the_concurrency_primitives_of_its_helpers(tab, server):
    """Below the views, the fan-out page shows the TaskGroup and semaphore beside the thread pool."""
    page = tab.page
    page.goto(server + reverse("lab:pair", args=["fanout"]))
    afanout = page.inner_text('article.helper[data-helper="afanout"]')
    assert "asyncio.TaskGroup()" in afanout
    assert "asyncio.Semaphore" in afanout
    assert "ThreadPoolExecutor" in page.inner_text('article.helper[data-helper="fanout_threaded"]')
    # The lines that differ from the sequential fanout() are marked in afanout.
    assert page.locator('article.helper[data-helper="afanout"] .line.changed').count() >= 5
    assert tab.errors == []
