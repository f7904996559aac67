"""
Every page of the lab in a real browser: accessible to axe-core, readable at 1366 and 390 px.

axe-core comes from the npm registry (`.ci/run` installs it into .cache/axe); Debian's
chromium runs it, driven by Playwright as in test_browser.py. Without either the browser
tests are skipped with a reason, except under CI (the CI variable is set), where they fail.
"""

import json
import re

import pytest
from django.urls import reverse
from django.utils.html import strip_tags

from bench import report
from lab import figures
from lab.registry import DEMOS
from tests import servers
from tests.browsers import AXE, blocking_violations, missing

WIDE = {"width": 1366, "height": 900}
NARROW = {"width": 390, "height": 844}

PAGES = {
    "index": "/",
    **{f"pair-{demo.slug}": f"/pairs/{demo.slug}/" for demo in DEMOS},
    "naive-choices": "/lab/naive-choices/",
    "async-under-wsgi": "/lab/async-under-wsgi/",
    "concepts": "/lab/concepts/",
    "connections": "/lab/connections/",
    "async-poll": "/demo/async_poll/?question=1",
    "sync-poll": "/demo/sync_poll/?question=1",
}


@pytest.fixture(scope="module")
def axe_source():
    if not AXE.exists():
        missing(f"no axe-core at {AXE} (.ci/run installs it: npm install --prefix .cache/axe axe-core@4)")
    return AXE.read_text()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with servers.uvicorn_server(tmp_path_factory.mktemp("pages")) as (url, _):
        yield url


@pytest.fixture(scope="module")
def wide(browser):
    context = browser.new_context(viewport=WIDE)
    yield context
    context.close()


@pytest.fixture(scope="module")
def narrow(browser):
    context = browser.new_context(viewport=NARROW, device_scale_factor=2, is_mobile=True, has_touch=True)
    yield context
    context.close()


def open_page(context, url: str):
    page = context.new_page()
    page.goto(url)
    page.wait_for_load_state("load")
    return page


@pytest.mark.browser
@pytest.mark.parametrize("name", PAGES)
def test_page_has_no_serious_accessibility_violation(wide, server, axe_source, name):
    """axe-core finds no serious or critical violation on the page."""
    page = open_page(wide, server + PAGES[name])
    try:
        assert blocking_violations(page, axe_source) == []
    finally:
        page.close()


@pytest.mark.browser
@pytest.mark.parametrize("demo", DEMOS, ids=lambda demo: demo.slug)
def test_no_code_is_cut_off_at_1366_px(wide, server, demo):
    """At 1366 px every line of code fits its column, in a font of at least 14 px.

    A long line wraps inside its <pre> rather than running past the edge; a <pre> that
    still scrolls must be reachable with the keyboard and named for screen readers.
    """
    page = open_page(wide, server + reverse("lab:pair", args=[demo.slug]))
    try:
        blocks = page.eval_on_selector_all(
            "pre.highlight",
            """pres => pres.map(pre => ({
                label: pre.getAttribute("aria-label"),
                focusable: pre.tabIndex >= 0,
                font: parseFloat(getComputedStyle(pre.querySelector("code")).fontSize),
                width: pre.clientWidth,
                scrolls: pre.scrollWidth > pre.clientWidth + 1,
                cut: [...pre.querySelectorAll(".line")]
                    .filter(line => line.scrollWidth > pre.clientWidth + 1)
                    .map(line => line.dataset.n),
            }))""",
        )
        assert len(blocks) >= len(demo.views)
        for block in blocks:
            assert block["label"] and block["focusable"], block
            assert block["font"] >= 14, block
            assert block["cut"] == [] and not block["scrolls"], block
    finally:
        page.close()


@pytest.mark.browser
@pytest.mark.parametrize("name", PAGES)
def test_page_does_not_scroll_sideways_at_390_px(narrow, server, name):
    """At 390 px the page itself never scrolls sideways: wide tables scroll in their own box."""
    page = open_page(narrow, server + PAGES[name])
    try:
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= NARROW["width"] + 1
        wrappers = page.eval_on_selector_all(
            "table",
            """tables => tables.filter(t => t.offsetParent !== null).map(t => {
                const box = t.closest(".table-scroll, .results");
                return box && {focusable: box.tabIndex >= 0, label: box.getAttribute("aria-label")
                               || box.getAttribute("aria-labelledby"),
                               scrolls: box.scrollWidth > box.clientWidth};
            })""",
        )
        for wrapper in wrappers:
            assert wrapper is not None
            if wrapper["scrolls"]:
                assert wrapper["focusable"] and wrapper["label"], wrapper
    finally:
        page.close()


def run_pair(context, server: str, slug: str, **fields: int):
    """Open a pair's page, run it with `fields` and return the page once every view has its row."""
    page = open_page(context, server + reverse("lab:pair", args=[slug]))
    for name, value in fields.items():
        page.fill(f"input[name={name}]", str(value))
    page.click("#run-button")
    page.wait_for_function(
        "n => !document.querySelector('#run-button').disabled"
        " && document.querySelectorAll('#results-body tr').length === n",
        arg=page.locator("article.view[data-view]").count(),
        timeout=120_000,
    )
    return page


def cut_tables(page) -> list[dict]:
    """Return each visible table whose box scrolls sideways: a column is hidden past its edge."""
    return page.eval_on_selector_all(
        "table",
        """tables => tables.filter(t => t.offsetParent !== null).map(t => {
            const box = t.closest(".table-scroll, .results") || t.parentElement;
            return {box: box.id || box.className, scroll: box.scrollWidth, client: box.clientWidth};
        }).filter(box => box.scroll > box.client + 1)""",
    )


def chart_texts(page) -> list[dict]:
    """Return every text of the charts with its size on screen and whether it runs past the chart."""
    return page.eval_on_selector_all(
        ".chart svg",
        """svgs => svgs.flatMap(svg => {
            const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
            return [...svg.querySelectorAll("text")].map(text => {
                const box = text.getBBox();
                return {text: text.textContent, px: parseFloat(getComputedStyle(text).fontSize) * scale,
                        cut: box.x < -1 || box.x + box.width > svg.viewBox.baseVal.width + 1};
            });
        })""",
    )


@pytest.mark.browser
def test_every_column_is_in_view_at_1366_px(wide, server, axe_source):
    """At 1366 px no table hides a column: the results after a run and the naive-choices table fit.

    The fan-out pair has the most views and the widest cells (a wall time with its range, the
    peak threads, the worst loop lag). After its run the page still has no serious axe finding
    and no chart text runs past its chart.
    """
    page = run_pair(wide, server, "fanout", concurrency=2, n=3, delay=20)
    try:
        assert page.locator("#results-body tr").count() == 3
        assert cut_tables(page) == []
        assert [text for text in chart_texts(page) if text["cut"]] == []
        assert blocking_violations(page, axe_source) == []
    finally:
        page.close()
    page = open_page(wide, server + reverse("lab:naive_choices"))
    try:
        assert page.locator("td.fix").count() >= 1
        assert cut_tables(page) == []
    finally:
        page.close()


@pytest.mark.browser
@pytest.mark.parametrize("slug", ["stream", "fanout"])
def test_chart_labels_are_readable_at_390_px(narrow, server, slug):
    """On a 390 px phone every chart label is drawn at 10 px or more, and none runs past its chart."""
    fields = (
        {"concurrency": 2, "chunks": 3, "interval": 100}
        if slug == "stream"
        else {"concurrency": 2, "delay": 20}
    )
    page = run_pair(narrow, server, slug, **fields)
    try:
        texts = chart_texts(page)
        assert len(texts) >= 10
        assert [text for text in texts if text["px"] < 10] == []
        assert [text for text in texts if text["cut"]] == []
        assert page.evaluate("document.scrollingElement.scrollWidth") <= NARROW["width"] + 1
    finally:
        page.close()


@pytest.mark.browser
def test_naive_choices_table_keeps_its_first_column_in_view(narrow, server):
    """The naive-choices table scrolls inside a focusable region, its first column sticky."""
    page = open_page(narrow, server + reverse("lab:naive_choices"))
    try:
        region = page.locator(".table-scroll")
        assert region.get_attribute("tabindex") == "0"
        assert region.get_attribute("role") == "region"
        positions = page.eval_on_selector_all(
            "tr > :first-child", "cells => [...new Set(cells.map(cell => getComputedStyle(cell).position))]"
        )
        assert positions == ["sticky"]
    finally:
        page.close()


@pytest.mark.browser
def test_voting_from_the_poll_page_shows_the_new_count(wide, server):
    """Voting on the poll page shows the new count on the page, which keeps its way back."""
    page = open_page(wide, server + "/demo/async_poll/?question=1")
    try:
        assert page.locator("main").count() == 1
        assert page.locator(f'a[href="{reverse("lab:index")}"]').count() >= 1
        page.check('input[name="choice"] >> nth=0')
        page.click("form button[type=submit]")
        status = page.locator("[aria-live]")
        page.wait_for_function(
            "() => /\\d+ votes?/.test(document.querySelector('[aria-live]').textContent)", timeout=10_000
        )
        assert "vote" in status.inner_text()
        assert page.url.endswith("/demo/async_poll/?question=1")
    finally:
        page.close()


# The reading path, checked in the HTML itself (no browser needed)


def test_index_starts_with_the_concepts_then_the_first_pair(client):
    """The "Start here" box links the concepts page, then pair 1; the cards are numbered in order."""
    page = client.get(reverse("lab:index")).text
    start = page[page.index('class="start-here"') :]
    concepts = start.index(f'href="{reverse("lab:concepts")}"')
    first = start.index(f'href="{reverse("lab:pair", args=[DEMOS[0].slug])}"')
    assert concepts < first
    numbered = re.findall(r'<span class="number">(\d+)\.</span> ([^<]+)</a>', page)
    assert numbered == [(str(number), demo.title) for number, demo in enumerate(DEMOS, 1)]


def test_pair_pages_name_previous_and_next_with_their_numbers(client):
    """A pair page's pager reads "Previous: 1. Hello" and "Next: 3. Fan-out", in the order of DEMOS."""
    page = client.get(reverse("lab:pair", args=[DEMOS[1].slug])).text
    assert f"Previous: 1. {DEMOS[0].title}" in page
    assert f"Next: 3. {DEMOS[2].title}" in page
    last = client.get(reverse("lab:pair", args=[DEMOS[-1].slug])).text
    assert f"Previous: {len(DEMOS) - 1}. {DEMOS[-2].title}" in last
    assert "Next:" not in last


@pytest.mark.parametrize(("profile", "shown"), [("stock", "Django as it ships"), ("tuned", "tuned")])
def test_the_header_links_the_concepts_and_names_the_profile(client, settings, profile, shown):
    """Every page's header links the concepts page and says which profile served it.

    The tuned profile is the one whose settings install the tuned app.
    """
    stock_apps = [app for app in settings.INSTALLED_APPS if app != "tuned"]
    settings.INSTALLED_APPS = [*stock_apps, "tuned"] if profile == "tuned" else stock_apps
    for url in [reverse("lab:index"), reverse("lab:concepts"), reverse("lab:pair", args=["fanout"])]:
        header = re.search(r'<header class="site">(.*?)</header>', client.get(url).text, re.DOTALL).group(1)
        assert f'href="{reverse("lab:concepts")}"' in header
        assert f'<span class="profile profile-{profile}">{shown}</span>' in header


def figures_cell(scenario: str, contestant: str, throughput: float, **where) -> dict:
    return {
        "status": "ok",
        "scenario": scenario,
        "contestant": contestant,
        "variant": "",
        "concurrency": where.get("concurrency", 200),
        "delay_ms": where.get("delay_ms", 0),
        "database": where.get("database", "sqlite"),
        "throughput": throughput,
        "cpu_ms_per_request": 4.2,
    }


def concepts_text(client) -> str:
    return " ".join(strip_tags(client.get(reverse("lab:concepts")).text.replace("<", " <")).split())


def test_the_concepts_page_gives_the_published_runs_figures_and_verdicts(client, settings, tmp_path):
    """The long wait and the first database load come from results.json, with each async verdict."""
    settings.BENCHMARK_RESULTS = tmp_path / "results.json"
    long_wait = {"concurrency": 1000, "delay_ms": 1000}
    cells = [
        figures_cell("upstream", "gunicorn-gthread", 87, **long_wait),
        figures_cell("upstream", "uvicorn-async", 540, **long_wait),
        figures_cell("upstream", "uvicorn-async-stock", 91, **long_wait),
        figures_cell("seed", "gunicorn-gthread", 201, database="postgresql"),
        figures_cell("seed", "uvicorn-async", 150, database="postgresql"),
        figures_cell("read", "gunicorn-gthread", 100, database="postgresql"),
        figures_cell("read", "uvicorn-async", 300, database="postgresql"),
    ]
    results = {"started": "2026-12-02T02:03:04+00:00", "machine": {"commit": "abc1234"}, "cells": cells}
    settings.BENCHMARK_RESULTS.write_text(json.dumps(results))
    page = concepts_text(client)
    assert "run of 2026-12-02 02:03 UTC, commit abc1234" in page
    assert "1,000 connections, each request waiting 1 s on the upstream:" in page
    assert "uvicorn, async views, tuned profile 540 req/s, async wins (6.21x)" in page
    assert "uvicorn, async views, Django as it ships 91 req/s, async ties (1.05x)" in page
    assert "200 users reading a poll and voting, on PostgreSQL:" in page
    assert "uvicorn, async views, tuned profile 150 req/s, async loses (0.75x)" in page
    # One database load is shown, the first; the rest are linked, not inlined.
    assert "reading one question" not in page
    assert "300 req/s" not in page
    assert f'href="{reverse("lab:naive_choices")}"' in client.get(reverse("lab:concepts")).text
    settings.BENCHMARK_RESULTS.unlink()
    assert "No benchmark run is published here" in client.get(reverse("lab:concepts")).text


def test_the_concepts_page_cites_the_published_run(client, settings):
    """The page names the run docs/benchmark/results.json holds, and draws the event loop."""
    results = json.loads(settings.BENCHMARK_RESULTS.read_text())
    page = client.get(reverse("lab:concepts")).text
    assert results["started"][:16].replace("T", " ") + " UTC" in page
    assert "async wins" in page
    assert "<svg" in page


def test_the_concepts_page_is_a_five_minute_read(client):
    """The page's own words come to about 1,000, a five-minute read, as the index announces."""
    page = client.get(reverse("lab:concepts")).text
    article = page[page.index("<article") : page.index("</article>")]
    assert 700 <= len(strip_tags(article).split()) <= 1100
    assert "A five-minute read." in client.get(reverse("lab:index")).text


def test_the_concepts_page_ties_within_ten_percent_and_shows_first_rounds_only(client, settings, tmp_path):
    """1.10x wins, 1.09x and 0.91x tie, 0.90x loses; a server's later round or failed cell is not shown."""
    settings.BENCHMARK_RESULTS = tmp_path / "results.json"
    long_wait = {"concurrency": 1000, "delay_ms": 1000}
    on = {"database": "postgresql"}
    cells = [
        figures_cell("upstream", "gunicorn-gthread", 100, **long_wait),
        figures_cell("upstream", "uvicorn-async", 90, **long_wait),
        figures_cell("upstream", "uvicorn-async-stock", 91, **long_wait),
        figures_cell("read", "gunicorn-gthread", 100, **on),
        {**figures_cell("read", "uvicorn-async", 500, **on), "round": 1},
        {**figures_cell("read", "uvicorn-async", 999, **on), "status": "failed"},
        figures_cell("read", "uvicorn-async", 110, **on),
        figures_cell("read", "uvicorn-async-stock", 109, **on),
    ]
    results = {"started": "2026-12-02T02:03:04+00:00", "machine": {"commit": "abc1234"}, "cells": cells}
    settings.BENCHMARK_RESULTS.write_text(json.dumps(results))
    page = concepts_text(client)
    assert "uvicorn, async views, tuned profile 110 req/s, async wins (1.10x)" in page
    assert "uvicorn, async views, Django as it ships 109 req/s, async ties (1.09x)" in page
    assert "uvicorn, async views, tuned profile 90 req/s, async loses (0.90x)" in page
    assert "uvicorn, async views, Django as it ships 91 req/s, async ties (0.91x)" in page
    assert "tuned profile 500" not in page
    assert "tuned profile 999" not in page


def test_the_lab_reads_the_published_run_as_the_report_does():
    """On docs/benchmark/results.json the lab finds the report's cells, databases and verdicts."""
    results = figures.read_run()
    assert figures.TIE == report.TIE
    recorded = [db for db in report.DATABASE_NAMES if any(c["database"] == db for c in results["cells"])]
    assert figures.databases_in(results) == recorded
    for cell in results["cells"]:
        where = {"concurrency": cell["concurrency"], "delay_ms": cell["delay_ms"]}
        key = (results, cell["scenario"], cell["contestant"])
        database = cell["database"]
        found = figures.find(*key, variant=cell["variant"], database=database, **where)
        assert found is report.find(*key, variant=cell["variant"], database=database, **where), cell["key"]
    rows = [row for group in figures.published()["groups"] for row in group["rows"] if "verdict" in row]
    assert {row["verdict"] for row in rows} >= {"wins", "loses"}
    for ratio in [row["ratio"] for row in rows] + [1 - report.TIE, 0.95, 1.0, 1.05, 1 + report.TIE]:
        assert figures.verdict_of(ratio) == report.verdict_of(ratio), ratio


@pytest.mark.parametrize("name", ["sync_poll", "async_poll"])
def test_the_poll_page_has_one_main_and_a_way_back(client, seeded, name):
    """The voting form sits in the project's chrome: one <main>, a link to the lab, a live status."""
    page = client.get(reverse(f"views_demo:{name}"), {"question": 1}).text
    assert page.count("<main") == 1
    assert f'href="{reverse("lab:index")}"' in page
    assert 'aria-live="polite"' in page
