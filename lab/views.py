"""
The pages a reader opens in a browser, and the small endpoints they read.

Every page is made from the registry: the index lists the demos by topic, and each demo's
page shows the source of the very view objects its URLs route to (found with inspect, so
it cannot drift from what runs), highlighted by Pygments, with the lines and the words
that differ between the twins marked. static/lab/lab.js runs the views from the
page and charts the timings; without JavaScript the code, the lesson and the raw
endpoints are all still there.
"""

import asyncio
import contextlib
import difflib
import gc
import inspect
import itertools
import textwrap
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_http_methods, require_POST
from pygments.lexers import PythonLexer
from pygments.token import STANDARD_TYPES

from lab import connections as connection_burst
from lab import figures, loadrun, looplag
from lab import unhandled as unhandled_errors
from lab.registry import BY_SLUG, DEMOS, Demo
from views_demo import params, upstream
from views_demo.errors import BadParameter, DemoError, NotFound, json_errors
from views_demo.responses import respond
from views_demo.views.cache import cache_key

# How many concurrent requests "Run" may fire at each view. Enough to see requests overlap
# (or queue); more would mostly measure the browser, which opens only about six
# connections to one server over HTTP/1.1 and queues the rest.
MAX_CONCURRENCY = 20
DEFAULT_CONCURRENCY = 5
# The form field for the concurrency, named so it cannot clash with a demo's parameter.
CONCURRENCY_FIELD = "concurrency"


def server_mode(request: HttpRequest) -> str:
    """Return "ASGI" or "WSGI": which kind of server this request came through."""
    return "ASGI" if hasattr(request, "scope") else "WSGI"


# Source code of the views the URLs route to


@dataclass(frozen=True)
class Line:
    number: int
    html: SafeString
    changed: bool


@dataclass(frozen=True)
class Source:
    """One view's source, highlighted line by line, and where it lives."""

    path: str
    first_line: int
    text: str
    lines: tuple[Line, ...] = ()


def read_source(view) -> Source:
    """Return the source of a view function, or of the class behind a class-based view."""
    # as_view() returns a function that only dispatches; the class holds what to read.
    target = getattr(view, "view_class", view)
    try:
        # getsourcelines() follows functools.wraps to the decorated function itself.
        lines, first_line = inspect.getsourcelines(target)
        # The file too: a decorated view's wrapper lives in Django's decorators module.
        path = Path(inspect.getsourcefile(inspect.unwrap(target))).resolve()
    except (OSError, TypeError) as error:  # built at run time, or shipped without its source
        return Source(
            path="(unknown)", first_line=1, text=f"# The source of {target!r} is not available: {error}\n"
        )
    try:
        shown = str(path.relative_to(settings.BASE_DIR))
    except ValueError:  # a view defined outside the project, such as in a test
        shown = path.name
    return Source(path=shown, first_line=first_line, text=textwrap.dedent("".join(lines)))


Token = tuple[str, str]  # (Pygments CSS class, text)


def css_class(token_type) -> str:
    """Return the short CSS class Pygments' HTML styles use for a token type."""
    while token_type not in STANDARD_TYPES:
        token_type = token_type.parent
    return STANDARD_TYPES[token_type]


def tokenize(text: str) -> list[list[Token]]:
    """Split Python source into lines of highlighted tokens."""
    lines: list[list[Token]] = [[]]
    for token_type, value in PythonLexer().get_tokens(text):
        for index, part in enumerate(value.split("\n")):
            if index:
                lines.append([])
            if part:
                lines[-1].append((css_class(token_type), part))
    # The lexer ends the text with a newline, which leaves one empty line too many.
    return lines[: len(text.splitlines())]


def changed_tokens(ours: list[Token], theirs: list[Token]) -> set[int]:
    """Return the indexes of the tokens of `ours` that differ from `theirs`, blanks aside."""
    matcher = difflib.SequenceMatcher(None, [t for _, t in ours], [t for _, t in theirs], autojunk=False)
    return {
        index
        for tag, start, end, _, _ in matcher.get_opcodes()
        if tag != "equal"
        for index in range(start, end)
        if ours[index][1].strip()
    }


def differences(ours: list[list[Token]], theirs: list[list[Token]]) -> dict[int, set[int]]:
    """Map each line of `ours` that differs from `theirs` to its changed tokens.

    A line replaced by another gets the tokens that differ from it marked (`async`,
    `await`, `afanout`); a line with no counterpart, or whose change is only blanks, gets
    an empty set: the whole line is marked.
    """
    joined = ["".join(text for _, text in line) for line in ours]
    matcher = difflib.SequenceMatcher(
        None, joined, ["".join(text for _, text in line) for line in theirs], autojunk=False
    )
    changed: dict[int, set[int]] = {}
    for tag, start, end, other_start, other_end in matcher.get_opcodes():
        if tag == "equal":
            continue
        for offset, index in enumerate(range(start, end)):
            other = other_start + offset
            paired = tag == "replace" and other < other_end
            changed[index] = changed_tokens(ours[index], theirs[other]) if paired else set()
    return changed


def changed_lines(text: str, other: str) -> set[int]:
    """Return the indexes of the lines of `text` that differ from `other`."""
    return set(differences(tokenize(text), tokenize(other)))


def render_line(tokens: list[Token], marked: set[int]) -> SafeString:
    """Return one line as HTML: a span per token, the changed ones inside <mark>."""
    html = []
    for index, (css, text) in enumerate(tokens):
        span = format_html('<span class="{}">{}</span>', css, text) if css else escape(text)
        html.append(format_html("<mark>{}</mark>", span) if index in marked else span)
    return mark_safe("".join(html))


def highlighted(source: Source, other: Source | None) -> Source:
    """Return `source` highlighted line by line, with what differs from `other` marked."""
    ours = tokenize(source.text)
    changed = differences(ours, tokenize(other.text)) if other else {}
    lines = tuple(
        Line(
            number=source.first_line + index,
            html=render_line(tokens, changed.get(index, set())),
            changed=index in changed,
        )
        for index, tokens in enumerate(ours)
    )
    return Source(source.path, source.first_line, source.text, lines)


def compare(sources: list[Source]) -> list[Source]:
    """Highlight every source, marking where each differs from its counterpart.

    The first view is compared with the second; every other view with the first, so a
    third variant (a threaded sync view, say) shows what it changes in the plain one.
    """
    if len(sources) < 2:
        return [highlighted(source, None) for source in sources]
    counterparts = [sources[1], *[sources[0]] * (len(sources) - 1)]
    return [highlighted(source, other) for source, other in zip(sources, counterparts, strict=True)]


# Labels


def view_label(demo: Demo, position: int, name: str) -> str:
    """Name the role of a demo's view: the wrong or right way for a pitfall, else its mode."""
    if demo.pitfall:
        return "the wrong way" if position == 0 else "the right way"
    if name.startswith("async_"):
        return "async"
    if name.startswith("sync_"):
        return "sync threaded" if "thread" in name else "sync"
    return name


def run_label(demo: Demo) -> str:
    return "Run both" if len(demo.views) == 2 else f"Run all {len(demo.views)}"


# Pages


def topics() -> list[tuple[str, list[Demo]]]:
    """Group the demos by topic, topics in the order they first appear in the registry."""
    grouped: dict[str, list[Demo]] = {}
    for demo in DEMOS:
        grouped.setdefault(demo.topic, []).append(demo)
    return list(grouped.items())


def index(request: HttpRequest) -> HttpResponse:
    """List every demo by topic, with its lesson and its views' raw endpoints."""
    sections = [
        {
            "topic": topic,
            "demos": [
                {
                    "demo": demo,
                    # Its place in the reading order, which the pair pages' previous and next follow.
                    "number": DEMOS.index(demo) + 1,
                    "url": reverse("lab:pair", args=[demo.slug]),
                    "views": [
                        {"name": name, "label": view_label(demo, position, name), "url": raw_url(demo, name)}
                        for position, name in enumerate(demo.view_names)
                    ],
                }
                for demo in demos
            ],
        }
        for topic, demos in topics()
    ]
    return render(
        request,
        "lab/index.html",
        {"sections": sections, "count": len(DEMOS)},
    )


def raw_url(demo: Demo, name: str, values: dict[str, int] | None = None) -> str:
    """Return the URL of a view's raw endpoint, with the demo's query for a GET."""
    url = reverse(f"views_demo:{name}")
    query = {**demo.sample, **(values or {})}
    if demo.method == "GET" and query:
        url += "?" + urlencode(query)
    return url


def form_values(request: HttpRequest, demo: Demo) -> tuple[dict[str, int], int, list[str]]:
    """Read the run form from the query: the demo's parameters, the concurrency and errors.

    A bad value is reported on the page and replaced by the demo's sample value, so a page
    never fails because of its own form.
    """
    values = {param.name: demo.sample.get(param.name, param.default) for param in demo.params}
    errors = []
    for param in demo.params:
        if param.name not in request.GET:
            continue
        try:
            values.update(params.parse(request, param))
        except BadParameter as error:
            errors.append(error.reason)
    concurrency = DEFAULT_CONCURRENCY
    raw = request.GET.get(CONCURRENCY_FIELD, "").strip()
    if raw:
        # Only the significant digits, and no more than the maximum has, go to int(): it raises
        # ValueError past 4,300 digits, leading zeros included.
        significant = raw.lstrip("0") or "0"
        in_range = (
            raw.isascii()
            and raw.isdigit()
            and len(significant) <= len(str(MAX_CONCURRENCY))
            and 1 <= int(significant) <= MAX_CONCURRENCY
        )
        if in_range:
            concurrency = int(significant)
        else:
            errors.append(f"{CONCURRENCY_FIELD} must be a whole number from 1 to {MAX_CONCURRENCY}")
    return values, concurrency, errors


def upstream_stats_url(request: HttpRequest) -> str | None:
    """Return the path of the upstream's /stats when the page may read it, else None."""
    upstream_url = urlsplit(settings.UPSTREAM_URL)
    # Only the built-in upstream, mounted on this server, counts its open calls, and only a
    # same-origin URL can be read from the page without CORS.
    same_origin = (upstream_url.scheme, upstream_url.netloc) == (request.scheme, request.get_host())
    return upstream_url.path.rstrip("/") + "/stats" if same_origin else None


def pair(request: HttpRequest, slug: str) -> HttpResponse:
    """Show a demo's views side by side, what to observe, and a form to run them."""
    demo = BY_SLUG.get(slug)
    if demo is None:
        raise Http404(f"No demo called {slug!r}.")
    values, concurrency, errors = form_values(request, demo)
    sources = compare([read_source(view) for view in demo.views])
    helpers = [compare([read_source(helper) for helper in group]) for group in demo.helpers]
    views = [
        {
            "name": name,
            "label": view_label(demo, position, name),
            "source": source,
            "url": raw_url(demo, name, values),
            "absolute_url": request.build_absolute_uri(raw_url(demo, name, values)),
        }
        for position, (name, source) in enumerate(zip(demo.view_names, sources, strict=True))
    ]
    config = {
        "slug": demo.slug,
        "method": demo.method,
        "pitfall": demo.pitfall,
        "sample": demo.sample,
        "views": [
            {"name": view["name"], "label": view["label"], "url": reverse(f"views_demo:{view['name']}")}
            for view in views
        ],
        "loopLagUrl": reverse("lab:loop_lag"),
        "threadsUrl": reverse("lab:threads"),
        "unhandledUrl": reverse("lab:unhandled"),
        "watchUnhandled": demo.unhandled,
        "resetUrl": reverse(demo.reset) if demo.reset else None,
        "leaveEarly": demo.leave_early,
        # Streamed answers get a timeline of when each piece arrived.
        "timeline": demo.topic == "Streaming",
        "measure": demo.measure,
        "csrfCookieName": settings.CSRF_COOKIE_NAME,
        # get_token() also sets the CSRF cookie, which the script sends back on POST.
        "csrfToken": get_token(request),
        "concurrencyField": CONCURRENCY_FIELD,
        "maxConcurrency": MAX_CONCURRENCY,
    }
    stats_url = upstream_stats_url(request)
    if stats_url is not None:
        config["upstreamStatsUrl"] = stats_url
    position = DEMOS.index(demo)
    context = {
        "demo": demo,
        "number": position + 1,
        "previous": DEMOS[position - 1] if position > 0 else None,
        "next": DEMOS[position + 1] if position + 1 < len(DEMOS) else None,
        "views": views,
        "helpers": [
            [{"name": helper.__name__, "source": source} for helper, source in zip(group, shown, strict=True)]
            for group, shown in zip(demo.helpers, helpers, strict=True)
        ],
        "files": sorted({source.path for source in [*sources, *(s for shown in helpers for s in shown)]}),
        "params": [{"param": param, "value": values[param.name]} for param in demo.params],
        "concurrency": concurrency,
        "concurrency_field": CONCURRENCY_FIELD,
        "max_concurrency": MAX_CONCURRENCY,
        "errors": errors,
        "run_label": run_label(demo),
        "config": config,
        "upstream_stats": stats_url is not None,
        "upstream_url": settings.UPSTREAM_URL,
        "curl_query": urlencode({**demo.sample, **values}),
        # Only this pair has the three ways in the benchmark: the sync ORM, the thread, the driver.
        "three_ways": figures.three_ways() if demo.slug == "async_orm" else None,
    }
    return render(request, "lab/pair.html", context)


# Endpoints the pages read


async def loop_lag(request: HttpRequest) -> JsonResponse:
    """Report how late this server's event loop wakes up (see looplag.py)."""
    monitor = looplag.current()
    return JsonResponse(
        {
            "server": server_mode(request),
            "watching": monitor is not None,
            "lag": monitor.report() if monitor else None,
        }
    )


async def tasks(request: HttpRequest) -> JsonResponse:
    """Count the tasks on the event loop serving this request, its own included."""
    return JsonResponse({"server": server_mode(request), "tasks": len(asyncio.all_tasks())})


class ThreadPeak:
    """Sample this process's thread count in a thread of its own and keep the peak.

    A sync view's thread under ASGI lives only as long as its request, so a page polling
    every 200 ms would miss most of them; the sampler looks every few milliseconds. It stops
    after a minute without a reader, so a server nobody watches pays nothing.
    """

    INTERVAL = 0.005  # seconds between samples
    IDLE = 60.0  # seconds without a reader before the sampler stops

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.peak = 0
        self.read_at = 0.0
        self.sampler: threading.Thread | None = None

    @staticmethod
    def count() -> int:
        """Return the threads now, the sampler's own left out."""
        return threading.active_count() - 1

    def _sample(self) -> None:
        while True:
            with self.lock:
                if time.monotonic() - self.read_at > self.IDLE:
                    self.sampler = None
                    return
                self.peak = max(self.peak, self.count())
            time.sleep(self.INTERVAL)

    def read(self, *, reset: bool) -> dict[str, int]:
        """Return the threads now and the most since the last reset; with `reset`, start again."""
        with self.lock:
            self.read_at = time.monotonic()
            if self.sampler is None:
                self.sampler = threading.Thread(target=self._sample, name="lab-thread-peak", daemon=True)
                self.sampler.start()
            now = self.count()
            peak = max(self.peak, now)
            if reset:
                self.peak = now
        return {"threads": now, "peak": peak}


THREAD_PEAK = ThreadPeak()


async def threads(request: HttpRequest) -> JsonResponse:
    """Report this process's threads now and the most since the last `?reset=1`."""
    return JsonResponse({"server": server_mode(request), **THREAD_PEAK.read(reset="reset" in request.GET)})


async def unhandled(request: HttpRequest) -> JsonResponse:
    """Report the errors this event loop could not hand to anyone (lab/unhandled.py)."""
    # "Task exception was never retrieved" is reported only when the failed task is garbage-
    # collected, which may be much later: collect now so the page sees it after a run.
    gc.collect()
    return JsonResponse(
        {
            "server": server_mode(request),
            "watching": asyncio.get_running_loop() in unhandled_errors.watched,
            "errors": list(unhandled_errors.unhandled),
        }
    )


@json_errors
@require_POST
async def forget_cached(request: HttpRequest) -> JsonResponse:
    """Forget the cache pair's answer for `delay`, so the next twin starts from a miss too."""
    args = params.parse(request, params.DELAY)
    await cache.adelete(cache_key(delay=args["delay"]))
    return JsonResponse({"forgot": args})


# Async views under WSGI: one event loop per request

# Loops get a number the first time they serve a request. id() would not do: a loop that has
# gone may leave its address to the next one.
_loop_numbers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, int] = weakref.WeakKeyDictionary()
_counter = itertools.count(1)


def loop_number() -> int:
    """Return the number of the running event loop: the same number means the same loop."""
    loop = asyncio.get_running_loop()
    if loop not in _loop_numbers:
        _loop_numbers[loop] = next(_counter)
    return _loop_numbers[loop]


@json_errors
async def event_loop(request: HttpRequest) -> JsonResponse:
    """Run a concurrent fan-out and report which server and which event loop served it."""
    args = params.parse(request, params.N, params.DELAY)
    answers = await upstream.afanout(n=args["n"], ms=args["delay"])
    result = {"server": server_mode(request), "loop": loop_number(), "calls": len(answers)}
    return respond(request, result=result, args=args)


def async_under_wsgi(request: HttpRequest) -> HttpResponse:
    """Explain why each async view under WSGI runs in an event loop of its own."""
    return render(request, "lab/async_under_wsgi.html")


# What the naive choices cost, from the published benchmark run


@dataclass(frozen=True)
class NaiveChoice:
    """A choice a newcomer makes by default, the benchmark server that makes it, and the fix."""

    choice: str
    contestant: str  # bench/contestants.py
    fix: str
    read: str
    variant: str = ""  # another view on the same server (bench/contestants.py VARIANTS)
    pitfall: str = ""  # the slug of its pitfall pair, if the lab has one
    # The load it is shown at, one upstream call of delay_ms under `concurrency` connections:
    # where its cost shows. It is compared with the project's defaults at the same load.
    concurrency: int = 100
    delay_ms: int = 100


# Each is measured beside the project's defaults in the same run.
NAIVE_SCENARIO = "upstream"
DEFAULTS = NaiveChoice("The tuned profile", "uvicorn-async", fix="", read="")
NAIVE_CHOICES = [
    NaiveChoice(
        "A new httpx.AsyncClient for every request",
        "uvicorn-async",
        variant="client-per-request",
        fix="one client per event loop, opened and closed by the ASGI lifespan",
        read="views_demo/clients.py",
        pitfall="client-per-request",
    ),
    NaiveChoice(
        "httpx's own connection pool",
        "uvicorn-async-httpx-transport",
        fix="aiohttp's pool under httpx's API, through httpx-aiohttp",
        read="views_demo/clients.py",
    ),
    NaiveChoice(
        "Django's middleware classes under ASGI",
        "uvicorn-async-stock-mw",
        fix="the same middleware, its hooks run inline unless they do I/O",
        read="tuned/middleware.py",
    ),
    NaiveChoice(
        "Django and httpx as they come: its middleware classes, its thread per request, httpx's own pool",
        "uvicorn-async-naive",
        fix="the three fixes together",
        read="docs/performance.md",
    ),
    # At C=100 the runs disagreed on what a thread per request costs beside a 100 ms wait
    # (0.66x to 1.08x the defaults); it shows when a thousand requests each hold one for 1 s.
    NaiveChoice(
        "Django's thread per request",
        "uvicorn-async-per-request",
        fix="threads lent to each request per call",
        read="tuned/threads.py",
        concurrency=1000,
        delay_ms=1000,
    ),
]


def measured(results: dict, choice: NaiveChoice, load: tuple[int, int] | None = None) -> dict | None:
    """Return the run's cell for a choice at its load (or `load`), if it was measured and answered."""
    concurrency, delay_ms = load or (choice.concurrency, choice.delay_ms)
    return figures.find(
        results,
        NAIVE_SCENARIO,
        choice.contestant,
        variant=choice.variant,
        concurrency=concurrency,
        delay_ms=delay_ms,
    )


def load_label(concurrency: int, delay_ms: int) -> str:
    wait = f"{delay_ms // 1000} s" if delay_ms % 1000 == 0 else f"{delay_ms} ms"
    return f"C={concurrency:,}, D={wait}"


def naive_loads() -> list[tuple[int, int]]:
    """The loads the choices are shown at, in the order they come."""
    return list(dict.fromkeys((c.concurrency, c.delay_ms) for c in NAIVE_CHOICES))


def naive_row(choice: NaiveChoice, cell: dict | None, defaults: dict | None) -> dict:
    """Shape one row of the naive-choices table: the choice, its figures and the fix."""
    row = {"choice": choice, "cell": cell, "errors": None, "ratio": None}
    if choice.pitfall:
        row["pitfall_url"] = reverse("lab:pair", args=[choice.pitfall])
    if cell is not None:
        row["errors"] = sum(cell["errors"].values())
        if defaults is not None and defaults["throughput"]:
            row["ratio"] = cell["throughput"] / defaults["throughput"]
    return row


def naive_rows(results: dict) -> list[dict]:
    """For each load, the defaults' row, then each choice shown at that load."""
    rows = []
    for load in naive_loads():
        defaults = measured(results, DEFAULTS, load)
        choices = [c for c in NAIVE_CHOICES if (c.concurrency, c.delay_ms) == load]
        label = load_label(*load)
        rows.append({**naive_row(DEFAULTS, defaults, defaults), "load": label})
        rows += [{**naive_row(c, measured(results, c), defaults), "load": label} for c in choices]
    return rows


def naive_choices(request: HttpRequest) -> HttpResponse:
    """Show what each naive choice cost in the published benchmark run, beside the defaults."""
    results = figures.read_run()
    context = {"results": results, "path": figures.shown_path()}
    if results is not None:
        context["rows"] = naive_rows(results)
    return render(request, "lab/naive_choices.html", context)


# Where to start


def concepts(request: HttpRequest) -> HttpResponse:
    """Explain the ideas the pairs rely on: the event loop, ASGI, sync_to_async, when async helps."""
    context = {"first": DEMOS[0], "count": len(DEMOS), "figures": figures.published()}
    return render(request, "lab/concepts.html", context)


# The load run: the server loads a pair's views itself (lab/loadrun.py)


class LoadRunOff(DemoError):
    status = 403


class NeedsAsgi(DemoError):
    status = 400


class LoadRunBusy(DemoError):
    status = 409


@contextlib.contextmanager
def one_at_a_time(lock: threading.Lock, busy: str) -> Iterator[None]:
    """Hold `lock` for a run, or raise LoadRunBusy saying `busy` if another run holds it."""
    if not lock.acquire(blocking=False):
        raise LoadRunBusy(f"{busy}; run again when it has ended")
    try:
        yield
    finally:
        lock.release()


LOAD_RUN_PARAMS = (loadrun.CONCURRENCY, loadrun.REQUESTS, loadrun.SECONDS)


def load_run_demo(request: HttpRequest) -> Demo:
    """Return the registered demo the load run's form names, or raise why it may not be loaded."""
    slug = request.POST.get("slug", "")
    demo = BY_SLUG.get(slug)
    if demo is None:
        raise NotFound(f"No demo called {slug!r}: the load run loads only the views of a registered pair.")
    if not loadrun.allows(demo):
        raise BadParameter(
            f"slug={slug!r} is not a pair the load run loads: only GET views that need no login and do not "
            "block the event loop"
        )
    fields = {"slug", "csrfmiddlewaretoken", *(p.name for p in (*LOAD_RUN_PARAMS, *demo.params))}
    for name in request.POST:
        if name not in fields:
            raise BadParameter(
                f"{name} is not a field of the load run: it sends requests only to this server's own "
                f"views of the pair; its fields are {', '.join(sorted(fields - {'csrfmiddlewaretoken'}))}"
            )
    return demo


@json_errors
@require_POST
async def load_run(request: HttpRequest) -> JsonResponse:
    """Load each view of a pair from this server, one after the other, and answer their figures."""
    if not loadrun.enabled():
        raise LoadRunOff("the load run is off on this server: DEBUG is off and LAB_LOAD_RUN is not True")
    origin = loadrun.own_origin(request.scope) if hasattr(request, "scope") else None
    if origin is None:
        raise NeedsAsgi(
            "the load run needs an ASGI server with a network address (make run): under WSGI no event "
            "loop outlives a request to hold the run's requests"
        )
    demo = load_run_demo(request)
    args = params.parse(request, *LOAD_RUN_PARAMS)
    values = params.parse(request, *demo.params)
    with one_at_a_time(loadrun.running, "another load run is under way on this server"):
        results = await loadrun.arun(
            origin=origin,
            host=request.get_host(),
            views=[(name, raw_url(demo, name, values)) for name in demo.view_names],
            concurrency=args["concurrency"],
            total=args["requests"],
            seconds=args["seconds"],
            threads=THREAD_PEAK.read,
        )
    for position, result in enumerate(results):
        result["label"] = view_label(demo, position, result["name"])
    shown = loadrun.report(demo, results, concurrency=args["concurrency"], delay_ms=values.get("delay"))
    return JsonResponse(
        {"server": "ASGI", "slug": demo.slug, "origin": origin, **args, "values": values, **shown}
    )


# Database connections under ASGI: the server bursts its own database views (lab/connections.py)


class NeedsPostgres(DemoError):
    status = 400


CONNECTIONS_PARAMS = (connection_burst.CONCURRENCY, connection_burst.REQUESTS, connection_burst.SECONDS)


def connections_args(request: HttpRequest) -> dict[str, int]:
    """Parse the burst's form, refusing any field but its own, or raise why it may not run."""
    if not loadrun.enabled():
        raise LoadRunOff("the burst is off on this server: DEBUG is off and LAB_LOAD_RUN is not True")
    fields = {"csrfmiddlewaretoken", *(p.name for p in CONNECTIONS_PARAMS)}
    if unknown := sorted(set(request.POST) - fields):
        names = ", ".join(p.name for p in CONNECTIONS_PARAMS)
        raise BadParameter(f"{unknown[0]} is not a field of the burst; its fields are {names}")
    args = params.parse(request, *CONNECTIONS_PARAMS)
    if not connection_burst.on_postgresql():
        raise NeedsPostgres("the burst counts connections in PostgreSQL's pg_stat_activity: set DATABASE_URL")
    return args


@json_errors
@require_http_methods(["GET", "HEAD", "POST"])
async def connections(request: HttpRequest) -> HttpResponse:
    """Show what the pool, CONN_MAX_AGE and the thread per request do; on POST, burst the database views."""
    origin = loadrun.own_origin(request.scope) if hasattr(request, "scope") else None
    context = {
        "postgresql": connection_burst.on_postgresql(),
        "pool": connection_burst.pool_settings(),
        "enabled": loadrun.enabled(),
        "asgi": origin is not None,
        "fields": [(field, field.default) for field in CONNECTIONS_PARAMS],
        "views": [name.partition(":")[2] for name in connection_burst.VIEWS],
    }
    if request.method == "POST":
        args = connections_args(request)
        if origin is None:
            raise NeedsAsgi("the burst needs an ASGI server with a network address (make run)")
        with one_at_a_time(connection_burst.running, "another burst is under way on this server"):
            results = await connection_burst.arun(
                origin=origin,
                host=request.get_host(),
                concurrency=args["concurrency"],
                total=args["requests"],
                seconds=args["seconds"],
                threads=THREAD_PEAK.read,
            )
        fields = [(field, args[field.name]) for field in CONNECTIONS_PARAMS]
        context |= {"args": args, "results": results, "fields": fields}
    return render(request, "lab/connections.html", context)
