"""
The load run: this server sends C concurrent requests to each view of a pair, one view after
the other, and reports what each took: throughput, latency percentiles, threads, loop lag.

A browser opens about six connections to one server, so the page's own runs never hold more
than six requests at once; the server can hold hundreds, which is where async differs. The
requests go only to the server's own address (the ASGI scope's "server") and the views'
reversed paths; the endpoint's guard is in lab/views.py `load_run`, the reasoning in
docs/lab.md, "The load run".
"""

import asyncio
import collections
import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import httpx
from django.apps import apps
from django.conf import settings

from lab import figures, looplag
from lab.registry import Demo
from views_demo import hardening, params
from views_demo.params import IntParam

CONCURRENCY = IntParam(
    "concurrency", default=50, minimum=1, maximum=300, help="requests the server keeps in flight at once"
)
REQUESTS = IntParam("requests", default=1000, minimum=1, maximum=2000, help="requests to each view")
SECONDS = IntParam("seconds", default=20, minimum=1, maximum=20, help="time limit for each view, in seconds")
# Unmeasured requests sent to each view first, all at once (fewer if C is smaller).
WARM_UP = 20
# Before the next view, wait at most this long for the last one's threads to end.
SETTLE_SECONDS = 3.0
SETTLE_STILL = 0.3  # seconds without a change that count as settled
LAG_POLL_SECONDS = 0.5
TIMES = "\N{MULTIPLICATION SIGN}"

# One run at a time in this process: a second would share the loop and the CPU with the first
# and measure both. A threading lock, not an asyncio one, because it is tried, never awaited.
running = threading.Lock()


def enabled() -> bool:
    """Whether this server runs loads: with DEBUG on, or with LAB_LOAD_RUN = True.

    Off in a public deployment by default: it would hand strangers a load generator.
    """
    return settings.DEBUG or getattr(settings, "LAB_LOAD_RUN", False)


def allows(demo: Demo) -> bool:
    """Whether a load run may target the demo's views.

    Only GET views, which a request without a body or session can call; not the login-only
    pairs (the server's own requests carry no session, so they would only time a redirect);
    not a view that blocks the event loop (params.BLOCK), which C at once would freeze for
    C times its delay.
    """
    return demo.method == "GET" and not demo.login and params.BLOCK not in demo.params


def profile() -> str:
    return "tuned" if apps.is_installed("tuned") else "stock"


def own_origin(scope: dict) -> str | None:
    """Return this server's own address from the ASGI scope, or None if it has none (a socket file)."""
    server = scope.get("server")
    if not server or server[1] is None:
        return None
    host, port = server
    # A server bound to every interface is reached on loopback.
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    if ":" in host:
        host = f"[{host}]"
    return f"{scope.get('scheme', 'http')}://{host}:{port}"


def open_client(origin: str, host: str, concurrency: int, seconds: float) -> httpx.AsyncClient:
    """Open the run's client: one per run, holding up to `concurrency` connections to `origin`.

    It lives as long as the run, so its connections close when the run ends instead of being
    held open on the server. The Host header is the one the reader's request passed
    ALLOWED_HOSTS with; redirects are not followed, so an answer from elsewhere is an error.
    httpx's API over aiohttp's pool, as the async views' client: the run's client shares the
    server's CPU, and httpx's own pool spent about five times as much of it per request.
    """
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(
        transport=hardening.aiohttp_transport(limits),
        base_url=origin,
        headers={"Host": host},
        limits=limits,
        timeout=httpx.Timeout(seconds, pool=None),
        follow_redirects=False,
    )


# Measuring one view


@dataclass
class Tally:
    """What one view's requests gave: latencies of the answered, errors by reason."""

    latencies: list[float] = field(default_factory=list)
    errors: collections.Counter = field(default_factory=collections.Counter)
    started: int = 0
    last_end: float = 0.0


def status_of(response: httpx.Response) -> str:
    """Name a failed answer by its status, as the load run's table shows it."""
    return f"HTTP {response.status_code}"


async def fire(
    client: httpx.AsyncClient, url: str, tally: Tally, total: int, failure: Callable[[httpx.Response], str]
) -> None:
    """Send requests one after another until `total` have been started in all."""
    while tally.started < total:
        tally.started += 1
        start = time.perf_counter()
        try:
            response = await client.get(url)
        except httpx.HTTPError as error:
            tally.errors[type(error).__name__] += 1
        else:
            if response.is_success:
                tally.latencies.append((time.perf_counter() - start) * 1000)
            else:
                tally.errors[failure(response)] += 1
        tally.last_end = time.perf_counter()


async def batch(
    client: httpx.AsyncClient,
    url: str,
    *,
    concurrency: int,
    total: int,
    seconds: float,
    failure: Callable[[httpx.Response], str] = status_of,
) -> Tally:
    """Keep `concurrency` requests in flight until `total` are done or `seconds` are up."""
    tally = Tally()
    try:
        async with asyncio.timeout(seconds), asyncio.TaskGroup() as group:
            for _ in range(min(concurrency, total)):
                group.create_task(fire(client, url, tally, total, failure))
    except TimeoutError:
        pass  # the requests still in flight were cancelled: counted as unfinished
    return tally


def percentile(values: list[float], share: float) -> float | None:
    """Return the nearest-rank percentile of `values` (share 0.5 is the median), or None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(share * len(ordered)) - 1)], 1)


class WorstLag:
    """Read the loop-lag monitor while a view runs and keep the worst lag it reported."""

    def __init__(self) -> None:
        self.monitor = looplag.current()
        self.worst = 0.0

    def read(self) -> None:
        if self.monitor is not None:
            self.worst = max(self.worst, self.monitor.report()["max_1s_ms"])

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(LAG_POLL_SECONDS)
            self.read()


async def measure(
    client: httpx.AsyncClient,
    name: str,
    url: str,
    *,
    concurrency: int,
    total: int,
    seconds: float,
    threads: Callable[..., dict[str, int]],
) -> dict:
    """Warm a view up, then load it; return its figures."""
    await batch(
        client, url, concurrency=min(concurrency, WARM_UP), total=min(concurrency, WARM_UP), seconds=seconds
    )
    before = threads(reset=True)["threads"]
    lag = WorstLag()
    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        watcher = group.create_task(lag.watch())
        tally = await batch(client, url, concurrency=concurrency, total=total, seconds=seconds)
        watcher.cancel()
    elapsed = max(tally.last_end, started) - started
    lag.read()
    answered = len(tally.latencies)
    finished = answered + sum(tally.errors.values())
    return {
        "name": name,
        "url": url,
        "sent": tally.started,
        "ok": answered,
        "errors": dict(tally.errors),
        "error_count": sum(tally.errors.values()),
        "unfinished": tally.started - finished,
        "seconds": round(elapsed, 2),
        "throughput": round(answered / elapsed, 1) if elapsed > 0 else 0.0,
        "p50_ms": percentile(tally.latencies, 0.5),
        "p90_ms": percentile(tally.latencies, 0.9),
        "p99_ms": percentile(tally.latencies, 0.99),
        "threads_before": before,
        "peak_threads": threads(reset=False)["peak"],
        "worst_lag_ms": round(lag.worst, 1) if lag.monitor is not None else None,
    }


async def settle(threads: Callable[..., dict[str, int]], baseline: int) -> None:
    """Wait until the threads the last view started have ended, or their count holds still.

    Some stay for good (the loop's default executor, the tuned profile's idle pool), so the
    count need not get back to `baseline`; SETTLE_SECONDS is the most this waits.
    """
    deadline = time.monotonic() + SETTLE_SECONDS
    count, since = threads(reset=False)["threads"], time.monotonic()
    # Polled: nothing signals a thread's end to the loop.
    while count > baseline and time.monotonic() - since < SETTLE_STILL and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        now = threads(reset=False)["threads"]
        if now != count:
            count, since = now, time.monotonic()


async def arun(
    *,
    origin: str,
    host: str,
    views: list[tuple[str, str]],
    concurrency: int,
    total: int,
    seconds: float,
    threads: Callable[..., dict[str, int]],
) -> list[dict]:
    """Load each (name, path) of `views` in turn on this server; return each one's figures."""
    results = []
    async with open_client(origin, host, concurrency, seconds) as client:
        baseline = threads(reset=False)["threads"]
        for name, url in views:
            await settle(threads, baseline)
            results.append(
                await measure(
                    client, name, url, concurrency=concurrency, total=total, seconds=seconds, threads=threads
                )
            )
    return results


# What the figures say


@dataclass(frozen=True)
class Summary:
    sentence: str  # what the threads show in this profile
    verdict: str  # what the throughputs show
    call: str  # "wins", "ties", "loses", "errors" or "" (no sync and async twin to compare)


def twins(results: list[dict]) -> tuple[dict | None, dict | None]:
    """Return the plain sync view's figures and the first async view's, either None if absent."""
    sync = next((r for r in results if r["name"].startswith("sync_") and "thread" not in r["name"]), None)
    async_ = next((r for r in results if r["name"].startswith("async_")), None)
    return sync, async_


def held(result: dict) -> str:
    return f"{result['peak_threads']} threads at the peak, {result['threads_before']} before"


def summarise(
    demo: Demo, results: list[dict], *, concurrency: int, profile: str, delay_ms: int | None = None
) -> Summary:
    """Say in one sentence what the threads show in this profile, and in one what the numbers show."""
    sync, async_ = twins(results)
    if sync is None or async_ is None:
        sentence = "These views are not a sync and an async twin: compare their figures row by row."
    elif profile == "tuned":
        sentence = (
            f"The tuned profile lends each request's sync code a pooled thread per call, so "
            f"{async_['name']} kept up to {concurrency} requests in flight with {held(async_)}, while "
            f"{sync['name']}, a sync view, held a thread for every request it was running ({held(sync)})."
        )
    else:
        sentence = (
            f"Under ASGI, Django as it ships runs each request's sync code on a thread of its own, so "
            f"{sync['name']} was not capped by a pool but held a thread for every request it was running "
            f"({held(sync)}), and its middleware started threads for {async_['name']} too ({held(async_)})."
        )
    failed = [r for r in results if r["error_count"]]
    if failed:
        names = ", ".join(f"{r['name']} ({r['error_count']} of {r['sent']})" for r in failed)
        return Summary(sentence, f"Some requests failed: {names}; no view is called faster.", "errors")
    if sync is None or async_ is None:
        return Summary(sentence, "", "")
    ratio = async_["throughput"] / sync["throughput"] if sync["throughput"] else math.inf
    call = figures.verdict_of(ratio)
    figures_text = (
        f"{async_['name']} served {async_['throughput']:g} req/s and {sync['name']} {sync['throughput']:g} "
        f"at C={concurrency}"
    )
    if call == "wins":
        verdict = f"{figures_text}: async served {ratio:.2f}{TIMES} as many."
    elif call == "ties":
        verdict = f"{figures_text}: within {figures.TIE:.0%} of each other, so async does not win here."
    else:
        verdict = f"{figures_text}: async served {ratio:.2f}{TIMES} as many, so it loses here."
    cut = [r for r in results if r["unfinished"]]
    if cut:
        # The time limit, not a failure: req/s still compare, but the slowest requests are missing
        # from the percentiles.
        names = ", ".join(f"{r['unfinished']} of {r['name']}" for r in cut)
        verdict += f" The time limit cut off the requests still in flight ({names}), so p99 leaves them out."
    # Where every view waits one upstream delay, C requests in flight allow C/D a second.
    one_wait = params.DELAY in demo.params and params.N not in demo.params
    if one_wait and delay_ms:
        allowed = concurrency * 1000 / delay_ms
        if max(r["throughput"] for r in results) < allowed / 2:
            verdict += (
                f" Both served under half the {allowed:g} req/s that waits of {delay_ms} ms allow at "
                f"C={concurrency}: the CPU, not the wait, set the pace (on a busy machine, run again)."
            )
    waits = any(param.name == "delay" for param in demo.params)
    if call != "wins" and not waits and profile == "stock":
        verdict += (
            " With no wait to overlap, the CPU per request decides, and Django's async path as it ships "
            "spends more of it on thread hops."
        )
    return Summary(sentence, verdict, call)


def report(demo: Demo, results: list[dict], *, concurrency: int, delay_ms: int | None = None) -> dict:
    """Return the run's figures and what they say, as the endpoint answers them."""
    shown = profile()
    return {
        "profile": shown,
        "views": results,
        **asdict(summarise(demo, results, concurrency=concurrency, profile=shown, delay_ms=delay_ms)),
    }
