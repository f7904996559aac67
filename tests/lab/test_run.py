"""
Running a demo from its page: honest verdicts, streamed answers' timelines, the server's
threads and the error nobody retrieved, checked in chromium against a real uvicorn
(like tests/lab/test_browser.py), and the lab endpoints behind them.
"""

import asyncio
import gc
import re

import pytest
from django.urls import reverse

from lab import unhandled
from tests import servers
from tests.browsers import Tab

# Long enough for a run's rounds on a busy machine, short enough to fail a hung page.
WAIT_MS = 60_000


# The endpoints behind the page. They come first: Playwright's sync API runs an event loop
# in this thread while the browser is open, and neither asyncio.run() nor Django's test
# client (async_to_sync) may run beside it.


def test_loop_keeps_unhandled_task_errors():
    """A failed task nobody awaited is kept, message and exception, and still reaches the old handler."""
    passed_on = []

    async def fail():
        raise ValueError("lost")

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda loop, context: passed_on.append(context["message"]))
        unhandled.keep_errors(loop)
        asyncio.create_task(fail())  # noqa: RUF006 - the lost task under test
        await asyncio.sleep(0.01)
        gc.collect()
        return loop in unhandled.watched

    before = max((error["id"] for error in unhandled.unhandled), default=0)
    assert asyncio.run(main())
    [kept] = [error for error in unhandled.unhandled if error["id"] > before]
    assert kept["message"] == "Task exception was never retrieved"
    assert kept["exception"] == "ValueError('lost')"
    assert passed_on == ["Task exception was never retrieved"]


def test_threads_endpoint_reports_a_peak(client):
    """/lab/threads/ answers the threads now and a peak no lower, and resets it on ?reset=1."""
    body = client.get(reverse("lab:threads") + "?reset=1").json()
    assert body["threads"] >= 1
    assert body["peak"] >= body["threads"]
    again = client.get(reverse("lab:threads")).json()
    assert again["peak"] >= again["threads"] >= 1


def test_forget_cached_empties_the_cache_pairs_entry(client):
    """POST /lab/forget-cached/ drops the cache twins' answer for that delay; GET is refused."""
    from django.core.cache import cache

    from views_demo.views.cache import cache_key

    cache.set(cache_key(delay=7), {"delay_ms": 7})
    assert client.get(reverse("lab:forget_cached"), {"delay": 7}).status_code == 405
    assert client.post(reverse("lab:forget_cached"), {"delay": 7}).status_code == 200
    assert cache.get(cache_key(delay=7)) is None
    assert client.post(reverse("lab:forget_cached"), {"delay": "x"}).status_code == 400


# The page in a browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # With a task worker, so the right way's queued task gets to FAILED. On Django as it ships,
    # whatever profile the suite runs: the thread counts and what a sync stream does after its
    # client left are what these pages show of Django's own thread per request; the tuned
    # profile's pool keeps idle threads around, so its counts tell another story.
    env = {"DJANGO_SETTINGS_MODULE": "asyncdemo.settings"}
    with servers.uvicorn_server(tmp_path_factory.mktemp("run"), env=env, worker=True) as (url, _):
        yield url


def open_pair(tab: Tab, server: str, slug: str, **fields: int):
    page = tab.page
    page.set_default_timeout(WAIT_MS)
    page.goto(server + reverse("lab:pair", args=[slug]))
    for name, value in fields.items():
        page.fill(f"input[name={name}]", str(value))
    return page


def run_and_wait(page) -> None:
    """Press the run button and wait until every view has its row and the button is back."""
    page.click("#run-button")
    page.wait_for_function(
        "n => !document.querySelector('#run-button').disabled"
        " && document.querySelectorAll('#results-body tr').length === n",
        arg=page.locator("article.view[data-view]").count(),
        timeout=WAIT_MS,
    )


def row(page, view: str) -> dict[str, str]:
    return page.eval_on_selector(f'#results-body tr[data-view="{view}"]', "row => ({...row.dataset})")


def comparisons(page) -> list[dict[str, str]]:
    return page.eval_on_selector_all(
        "#verdict p.comparison", "lines => lines.map(line => ({...line.dataset, text: line.textContent}))"
    )


@pytest.mark.browser
def test_cache_verdict_agrees_with_the_measured_numbers(tab, server):
    """Both cache twins start cold, and the verdict claims only what the rounds' numbers show.

    Each twin's median round takes at least the upstream's delay (no twin rides on the
    other's cache); overlapping ranges are called "within noise", and a claimed ratio is the
    medians' ratio with ranges that do not overlap.
    """
    page = open_pair(tab, server, "cache", concurrency=3, delay=150)
    run_and_wait(page)

    sync, async_ = row(page, "sync_cached"), row(page, "async_cached")
    for twin in (sync, async_):
        assert int(twin["rounds"]) >= 3
        assert twin["failed"] == "0"
        assert float(twin["wallMin"]) <= float(twin["wallMedian"]) <= float(twin["wallMax"])
        assert float(twin["wallMedian"]) >= 150, twin
    [verdict] = comparisons(page)
    assert (verdict["base"], verdict["view"]) == ("sync_cached", "async_cached")
    assert float(verdict["baseMedian"]) == float(sync["wallMedian"])
    assert float(verdict["viewMedian"]) == float(async_["wallMedian"])
    low, high = sorted([float(sync["wallMedian"]), float(async_["wallMedian"])])
    ratio = high / low
    overlap = float(sync["wallMin"]) <= float(async_["wallMax"]) and float(async_["wallMin"]) <= float(
        sync["wallMax"]
    )
    assert abs(float(verdict["ratio"]) - ratio) < 0.01
    if overlap:
        assert verdict["call"] == "noise"
        assert "within noise" in verdict["text"]
    claimed = re.search(r"([\d.]+)\N{MULTIPLICATION SIGN} faster", verdict["text"])
    if claimed:
        assert not overlap
        assert abs(float(claimed[1]) - ratio) <= 0.05 + 0.01 * ratio
    else:
        assert "within noise" in verdict["text"]
    assert tab.errors == []


@pytest.mark.browser
def test_failed_wrong_way_is_not_compared(tab, server):
    """A pitfall whose wrong way fails gets no ratio: the verdict says it failed, and why."""
    page = open_pair(tab, server, "question_badly", concurrency=1)
    run_and_wait(page)

    [verdict] = comparisons(page)
    assert verdict["call"] == "failed"
    assert "the wrong way (async_question_badly) failed: 501" in verdict["text"]
    assert "SynchronousOnlyOperation" in verdict["text"]
    assert "faster" not in verdict["text"]
    assert row(page, "async_question")["failed"] == "0"
    assert tab.errors == []


@pytest.mark.browser
def test_stream_timeline_shows_which_twin_streams(tab, server):
    """Under ASGI the async stream's first byte comes long before its end, the sync one's at its end."""
    page = open_pair(tab, server, "stream", concurrency=1, chunks=5, interval=300)
    run_and_wait(page)

    page.wait_for_selector("#timeline:not([hidden]) g.timeline")
    lanes = {
        name: page.eval_on_selector(f'#timeline-svg g.timeline[data-view="{name}"]', "g => ({...g.dataset})")
        for name in ("sync_stream", "async_stream")
    }
    async_first, async_total = (float(lanes["async_stream"][key]) for key in ("firstByte", "total"))
    sync_first, sync_total = (float(lanes["sync_stream"][key]) for key in ("firstByte", "total"))
    # Five chunks 300 ms apart: about 1.5 s each; the async one's first arrives after one interval.
    assert async_total >= 1200 and sync_total >= 1200
    assert async_first < 0.6 * async_total, lanes
    assert sync_first > 0.8 * sync_total, lanes
    # The async twin's pieces arrive spread out: more than one read, the last near the end.
    arrivals = page.get_attribute(
        '#timeline-svg g.timeline[data-view="async_stream"] g.request-timeline', "data-arrivals"
    ).split()
    assert len(arrivals) >= 3
    for name in ("sync_stream", "async_stream"):
        assert float(row(page, name)["firstByte"]) > 0
        assert page.inner_text(f'#results-body tr[data-view="{name}"] td.first-byte').endswith("ms")
    assert tab.errors == []


@pytest.mark.browser
def test_thread_peak_is_shown_per_view(tab, server):
    """The results show each view's peak thread count, and each concurrent sync request holds a thread.

    Nothing is asserted of the async twin: Django's stock middleware hops to a thread per
    request under ASGI (the "naive choices" page), so it may peak as high.
    """
    page = open_pair(tab, server, "upstream", concurrency=4, delay=300)
    run_and_wait(page)

    sync, async_ = row(page, "sync_upstream"), row(page, "async_upstream")
    for twin in (sync, async_):
        assert int(twin["peakThreads"]) >= int(twin["threadsBefore"]) >= 1
    assert int(sync["peakThreads"]) >= int(sync["threadsBefore"]) + 3
    shown = page.inner_text('#results-body tr[data-view="sync_upstream"] td.threads')
    assert re.fullmatch(r"\d+ \(\d+ before\)", shown)
    assert page.inner_text("#live-threads").isdigit()
    assert tab.errors == []


@pytest.mark.browser
def test_lost_task_page_shows_the_error_nobody_retrieved(tab, server):
    """After a run with fail=1 the page shows the lost task's error and the queued task FAILED."""
    page = open_pair(tab, server, "lost-task", concurrency=1, delay=20, fail=1)
    run_and_wait(page)

    lost = page.wait_for_selector('#aftermath .after[data-view="async_task_badly"] .unhandled-errors li')
    assert "Task exception was never retrieved: UpstreamError(" in lost.inner_text()
    status = page.wait_for_selector(
        '#aftermath .after[data-view="async_enqueue"] .task-status[data-status="FAILED"]', timeout=WAIT_MS
    )
    assert "FAILED" in status.inner_text()
    assert "503" in status.inner_text()
    assert tab.errors == []


def leave_early_and_wait(page) -> dict[str, dict[str, str]]:
    """Press Leave early; return each view's result entry's data once every view has one."""
    page.click("#leave-button")
    page.wait_for_function(
        "n => !document.querySelector('#leave-button').disabled"
        " && document.querySelectorAll('#left-early-list .after').length === n",
        arg=page.locator("article.view[data-view]").count(),
        timeout=WAIT_MS,
    )
    entries = page.eval_on_selector_all(
        "#left-early-list .after", "items => items.map(item => ({...item.dataset}))"
    )
    return {entry["view"]: entry for entry in entries}


def samples(entry: dict[str, str]) -> list[tuple[float, int]]:
    """Return (ms after leaving, upstream calls open) for every poll after the client left."""
    return [
        (float(at), int(open_)) for at, open_, _ in (sample.split(":") for sample in entry["samples"].split())
    ]


@pytest.mark.browser
def test_leave_early_shows_the_sync_stream_reading_on(tab, server):
    """After the client leaves, the async stream's upstream drips close within 1 s; the sync one's stay open.

    Under ASGI Django cancels the async view when its client disconnects, which closes its
    upstream response. The sync twin's body is read whole in a thread that nothing cancels,
    so its drips are still open right after leaving (they run to their end, 2 s in).
    """
    page = open_pair(tab, server, "stream", concurrency=2, chunks=5, interval=400)
    assert page.get_attribute("#leave-button", "hidden") is None
    entries = leave_early_and_wait(page)

    sync, async_ = entries["sync_stream"], entries["async_stream"]
    for entry in (sync, async_):
        # Left a third of the way into a 2 s stream, before any request was answered.
        assert entry["leftAfterMs"] == "667"
        assert entry["answered"] == "0"
        assert int(entry["openDuring"]) >= 1, entry
    assert [open_ for at, open_ in samples(async_) if at <= 1000][-1] == 0, async_
    assert int(async_["openLater"]) == 0
    assert int(sync["openAfter"]) >= 1, sync
    # The sync view's threads are still busy right after leaving.
    assert int(sync["threadsAfter"]) >= 1, sync
    shown = page.inner_text('#left-early-list .after[data-view="sync_stream"] .right-after')
    assert re.match(r"after the client left: \d+ upstream calls? still open, \d+ threads busy", shown)
    assert page.locator("#left-early-no-upstream").count() == 0
    assert tab.errors == []
