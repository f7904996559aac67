"""
The benchmark run (`python -m bench run`): which cells each plan measures, and running them.
Writes results.json, report.md and the plots to --out; the method: docs/benchmark/README.md.
"""

import argparse
import contextlib
import dataclasses
import datetime
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from bench import contestants, harness
from bench.contestants import BY_NAME, OTHER_SERVERS, PROCESSES, WHICH_SERVER

SCENARIOS = {
    "hello": "Hello: no I/O, the framework's own cost",
    "upstream": "One upstream call of D ms at concurrency C",
    "fanout": "Fan-out: K=10 upstream calls of D=100 ms per request",
    "seed": "The seed experiment: read poll 1's form, vote (CSRF), 0.5-1 s between requests",
    "read": "Read one question by primary key, with its choices",
    "locked": "A contended write: every request votes for the same choice, "
    "its row locked (select_for_update) in one transaction",
    "checked": "The mixed view: wait D on the upstream, then write one vote",
    "c10k": "C10K: C connections opened over a ramp, one request each, each waiting D on the upstream",
}
WRITES = ("locked", "checked")  # POST one form over and over (wrk/write.lua)


@dataclass(frozen=True)
class Cell:
    """One measurement: one contestant (or a variant of it) under one load."""

    scenario: str
    contestant: str
    concurrency: int
    delay_ms: int = 0
    calls: int = 1
    variant: str = ""  # another view on the same server (contestants.VARIANTS)
    think_ms: tuple[int, int] = (0, 0)  # seed: wait between requests on each connection
    round: int = 0  # a repeat of the same cell later in the run (the tables show round 0)
    database: str = "sqlite"  # or "postgresql": the run's DATABASE_URL

    @property
    def key(self) -> str:
        name = self.contestant + (f"+{self.variant}" if self.variant else "")
        again = f"/round={self.round}" if self.round else ""
        db = f"/db={self.database}" if self.database != "sqlite" else ""
        return f"{self.scenario}/C={self.concurrency}/D={self.delay_ms}/K={self.calls}/{name}{db}{again}"

    @property
    def server(self) -> str:
        """The server a cell runs on: one per contestant and database."""
        return self.contestant if self.database == "sqlite" else f"{self.contestant}@{self.database}"

    @property
    def timeout(self) -> float:
        """The client's timeout: far above the least latency the view can have (its upstream waits,
        one after another in sync_fanout), so queueing shows as latency."""
        sequential = (
            self.scenario == "fanout" and BY_NAME[self.contestant].twin == "sync" and not self.variant
        )
        return max(10.0, 3 * self.delay_ms * (self.calls if sequential else 1) / 1000)


def view_paths() -> dict[str, str]:
    """Every view the benchmark loads, by URL name, reversed from the project's URLconf."""
    from django.urls import reverse

    return {name: reverse(f"views_demo:{name}") for name in contestants.VIEW_NAMES}


def path_for(cell: Cell, paths: dict[str, str], view: str = "") -> str:
    """The URL path a cell loads: its twin's view of the scenario (or `view`), with the query."""
    contestant, view = BY_NAME[cell.contestant], view or cell.scenario
    name = contestants.TWINS[contestant.twin][view]
    if cell.variant:
        variant = contestants.VARIANTS[cell.variant]
        if variant.view != name:
            raise ValueError(f"{cell.key}: {cell.variant!r} replaces {variant.view}, not {name}")
        name = variant.replacement
    query = contestants.QUERIES.get(view, "").format(k=cell.calls, ms=cell.delay_ms)
    if not contestant.django:
        return name + query
    if name not in paths:
        raise RuntimeError(f"{cell.key}: the project has no view named {name!r}")
    return paths[name] + query


# The plans


@dataclass(frozen=True)
class Plan:
    mode: str
    duration: int  # seconds measured per cell
    warmup: int  # seconds of load before measuring
    cells: list[Cell]
    c10k_ramp: int = 10  # C10K: seconds over which its connections open, one request each


SYNC_SERVERS = ["gunicorn-sync", "gunicorn-gthread", "uvicorn-sync"]
ASYNC_SERVERS = ["uvicorn-async", "uvicorn-async-stock", "uvicorn-async-per-request", "uvicorn-async-naive"]
MAIN = [*SYNC_SERVERS, *ASYNC_SERVERS, "reference"]
# The defaults with one naive choice each (lab/views.py's naive-choices page), beside the naive server.
ONE_NAIVE_CHOICE = ["uvicorn-async-stock-mw", "uvicorn-async-httpx-transport"]
HELLO = [*MAIN[:-1], "uvicorn-async-stock-mw", "uvicorn-async-nomw", "uvicorn-async-cli", "reference"]
# The other servers run beside the rest in hello, seed and these upstream cells (C, D ms).
SERVER_POINTS = ((100, 100), (1000, 1000))
# The mixed view: C above gthread's 100 threads, D long enough that threads, not CPU, bound it.
CHECKED_POINT = (300, 1000)
# The fan-out's target (P1) is read at light load: 2 requests of 10 calls, 200 calls a second.
FANOUT_LIGHT = 2
# P4 compares two hello cells' CPU, a ratio that one pair of 8 s cells moved between 1.01 and 1.83
# on a shared machine: the pair runs again later in the run, and P4 reads the rounds' medians.
MIDDLEWARE_PAIR = ("uvicorn-async", "uvicorn-async-nomw")
MIDDLEWARE_ROUNDS = 3


def point(scenario: str, names, concurrency: int, **load) -> list[Cell]:
    """A cell per contestant whose twin has a view for the scenario and who may use the database."""
    runs = [BY_NAME[name] for name in names if scenario in contestants.TWINS[BY_NAME[name].twin]]
    return [
        Cell(scenario, c.name, concurrency, **load) for c in runs if c.only_on in ("", load.get("database"))
    ]


def database_points(users: int, think_ms, concurrency: int, checked) -> list[list[Cell]]:
    """The database scenarios on each database (PostgreSQL too when DATABASE_URL names one)."""
    points = []
    for db in ["sqlite", "postgresql"] if os.environ.get("DATABASE_URL") else ["sqlite"]:
        servers = [*contestants.DATABASE_SERVERS, *contestants.DRIVER_SERVERS]  # drivers: PostgreSQL only
        seed = [*SYNC_SERVERS, *ASYNC_SERVERS, *OTHER_SERVERS] if db == "sqlite" else servers
        points += [
            point("seed", seed, users, think_ms=think_ms, database=db),
            point("read", servers, concurrency, database=db),
            point("locked", servers, concurrency, database=db),
            # Two sync workers cannot hold C waits of D: their cell would only measure the queue.
            point("checked", servers[1:], checked[0], delay_ms=checked[1], database=db),
        ]
    return points


def interleave(points: list[list[Cell]]) -> list[Cell]:
    """Flatten load points, reversing every other one so no contestant always goes first."""
    return [cell for i, point in enumerate(points) for cell in (point if i % 2 == 0 else point[::-1])]


def upstream_point(names: list[str], concurrency: int, delay_ms: int, naive: bool = False) -> list[Cell]:
    cells = point("upstream", names, concurrency, delay_ms=delay_ms)
    if naive:  # each naive choice alone, and the pitfall view on the defaults' server
        cells += point("upstream", ONE_NAIVE_CHOICE, concurrency, delay_ms=delay_ms)
        cells += [Cell("upstream", "uvicorn-async", concurrency, delay_ms, variant="client-per-request")]
    return cells


def fanout_points(concurrency: int) -> list[list[Cell]]:
    cells = point("fanout", MAIN, concurrency, delay_ms=100, calls=10)
    # The honest sync alternative: the same K calls from a thread pool, on the threaded server.
    cells.insert(2, Cell("fanout", "gunicorn-gthread", concurrency, 100, 10, variant="threaded"))
    return [cells, point("fanout", ("uvicorn-async", "reference"), FANOUT_LIGHT, delay_ms=100, calls=10)]


def full_plan() -> Plan:
    points = [point("hello", [*HELLO, *OTHER_SERVERS], 50)]
    for delay in (100, 1000):
        for concurrency in (10, 100, 1000):
            # The documented `uvicorn --workers` line: with uvloop it matches the launcher (Nagle off).
            names = [*MAIN, "uvicorn-async-cli"] if delay == 100 else MAIN
            names = [*names, *OTHER_SERVERS] if (concurrency, delay) in SERVER_POINTS else names
            points.append(upstream_point(names, concurrency, delay, naive=(concurrency, delay) == (100, 100)))
            if (concurrency, delay) == (1000, 100):
                points.append(point("hello", MIDDLEWARE_PAIR, 50, round=1))
    points += [*fanout_points(10), point("hello", MIDDLEWARE_PAIR, 50, round=2)]
    points += database_points(200, (500, 1000), 100, CHECKED_POINT)
    c10k = ("uvicorn-async", "uvicorn-async-per-request", "reference")
    points.append(point("c10k", c10k, 10_000, delay_ms=10_000))
    return Plan("full", duration=8, warmup=1, cells=interleave(points))


def quick_plan() -> Plan:
    """The smoke test: every server of the full run, every scenario, short cells."""
    points = [
        point("hello", [*HELLO, *OTHER_SERVERS], 10),
        upstream_point([*MAIN, "uvicorn-async-cli", *OTHER_SERVERS], 10, 100, naive=True),
        *fanout_points(4),
        point("hello", MIDDLEWARE_PAIR, 10, round=1),
        *database_points(10, (50, 100), 10, (10, 100)),
        point("c10k", ("uvicorn-async", "reference"), 300, delay_ms=1000),
    ]
    return Plan("quick", duration=2, warmup=0, cells=interleave(points), c10k_ramp=1)


def database_plan() -> Plan:
    """Only the database path: the full run's database cells."""
    return Plan("database", 8, 1, interleave(database_points(200, (500, 1000), 100, CHECKED_POINT)))


def servers_plan() -> Plan:
    """Only the server comparison (docs/servers.md): the full run's cells for WHICH_SERVER."""
    points = [point("hello", WHICH_SERVER, 50), *(upstream_point(WHICH_SERVER, *p) for p in SERVER_POINTS)]
    points.append(point("seed", WHICH_SERVER, 200, think_ms=(500, 1000)))
    return Plan("servers", duration=8, warmup=1, cells=interleave(points))


PLANS = {"full": full_plan, "quick": quick_plan, "database": database_plan, "servers": servers_plan}


# Running a plan


def load_args(cell: Cell, server: harness.Server, paths: dict[str, str]) -> tuple:
    """The wrk script's arguments: the seed's page and vote paths, or a write's form; the form's token."""
    if cell.scenario not in ("seed", *WRITES):
        return ()
    page = httpx.get(server.url + path_for(cell, paths, "form"))
    token, choices = harness.vote_form(page)  # the twin's poll form: its CSRF token and its choices
    if cell.scenario == "seed":
        flow = path_for(cell, paths), path_for(cell, paths, "vote"), 1, *cell.think_ms
        return *flow, token, ",".join(choices)
    # One choice for every request: the contended write queues on that one row.
    return token, f"question=1&choice={choices[0]}" + (f"&delay={cell.delay_ms}" if cell.delay_ms else "")


def run_cell(cell: Cell, plan: Plan, server: harness.Server, upstream: harness.Server, tmp: Path, paths):
    """Warm up, measure and record one cell; restart its server if it stopped answering."""
    path = path_for(cell, paths)
    record = {**asdict(cell), "key": cell.key, "status": "ok", "restarts": [], "url_path": path}

    def drain(when: str) -> None:
        # A WSGI worker cannot tell that a queued client went away: it would serve the whole backlog
        # (C=1000 at D=1 s keeps 2 sync workers busy for minutes) during the next cell.
        if not server.answers(timeout=2):
            server.restart()
            record["restarts"].append(when)

    def load(seconds: int) -> list[str]:
        url = server.url + path  # the server's URL now: a restart starts it on a new port
        if cell.scenario == "c10k":
            return harness.hold(url, connections=cell.concurrency, ramp=plan.c10k_ramp, timeout=cell.timeout)
        script, args = harness.lua_script(tmp, cell.scenario), load_args(cell, server, paths)
        return harness.wrk(url, cell.concurrency, seconds, cell.timeout, script=script, args=args)

    if plan.warmup and cell.scenario != "c10k":
        harness.load(load(plan.warmup))
        drain("after warm-up")
    record |= {**harness.measure(load(plan.duration), server, upstream), "timeout_s": cell.timeout}
    drain("after measuring")
    return record


def check(results: dict, complete: bool = True) -> list[str]:
    """Every cell was measured; if `complete` (the quick run), it answered every request, nothing missing."""
    cells = results["cells"]
    problems = [f"{c['key']}: {c['status']}: {c.get('reason', '')}" for c in cells if c["status"] != "ok"]
    required = ("throughput", "latency_ms", "errors", "cpu_ms_per_request", "peak_threads", "peak_rss_mb")
    for cell in [c for c in cells if c["status"] == "ok"] if complete else []:
        missing = [name for name in (*required, "wrk_cpu_s", "server_cpu_s") if cell.get(name) is None]
        errors = {k: v for k, v in cell["errors"].items() if v}
        if missing or not cell["requests"] or errors:
            problems.append(f"{cell['key']}: missing {missing}, {cell['requests']} answered, errors {errors}")
    files = ("results.json", "report.md", *results.get("plots", [])) if complete else ()
    return problems + [f"{f} was not written" for f in files if not (Path(results["out"]) / f).is_file()]


def start(plan: Plan, stack: contextlib.ExitStack, tmp: Path, results: dict) -> tuple:
    """Start the upstream, prepare each database, start every server the plan needs (once)."""
    from bench import probes

    upstream = stack.enter_context(harness.serving(harness.upstream(tmp)))
    base = harness.django_env(tmp / "bench.sqlite3", upstream.url)
    # No server inherits DATABASE_URL: each cell says which database its server uses. The pool: 6 servers
    # x 2 processes x 6 = 72 connections, within PostgreSQL's default max_connections of 100.
    url, pool = os.environ.pop("DATABASE_URL", ""), os.environ.get("DATABASE_POOL_SIZE", "6")
    envs = {"sqlite": base, "postgresql": {**base, "DATABASE_URL": url, "DATABASE_POOL_SIZE": pool}}
    for db in dict.fromkeys(cell.database for cell in plan.cells):
        harness.migrate(envs[db])
        results["databases"][db] = harness.project(envs[db])["database"]
        tuned = harness.project({**envs[db], **contestants.TUNED})["database"]  # SQLite: kept on its threads
        results["databases"][db]["conn_max_age_tuned"] = tuned["conn_max_age"]
    about = harness.project(base)
    results["project"] = {k: about[k] for k in ("paths", "middleware", "upstream_transport")}
    servers: dict[str, harness.Server] = {}
    for cell in plan.cells:
        contestant = BY_NAME[cell.contestant]
        env = {**envs[cell.database], **contestant.env}
        if cell.scenario in contestants.DATABASE_SCENARIOS and contestant.django:
            # Thread hops per request of one read of the seed's page and one vote, counted in-process.
            hops = results["hops"].setdefault(contestant.name, {})
            if cell.database not in hops:
                hops[cell.database] = probes.seed_in_process(contestant.twin, contestant.app, env, 10, 5)[1]
        if cell.server in servers:
            continue
        # Every Django server answers the hello views; the driver twin has none of its own.
        hello = contestant.name if "hello" in contestants.TWINS[contestant.twin] else "uvicorn-async"
        probe = path_for(Cell("hello", hello, 1), about["paths"])
        servers[cell.server] = harness.Server(cell.server, contestant.argv, env, probe, tmp).start()
        stack.callback(servers[cell.server].stop)
        described = harness.project({**base, **contestant.env}) if contestant.env else about
        results["contestants"].setdefault(contestant.name, {
            "label": contestant.label, "switches": contestant.env,
            "command": " ".join(["python -m", *contestant.command]).replace("{port}", "PORT"),
            "middleware": described["middleware"] if contestant.django else None,
            "upstream_transport": described["upstream_transport"]})  # fmt: skip
    say("starting servers: " + ", ".join(servers))
    for server in servers.values():
        server.wait_ready()
        harness.wait_quiet(server.pid)
        for _ in range(2 * PROCESSES):  # load each worker's code before anything is measured
            server.answers(timeout=10)
    return upstream, servers, about["paths"]


def run(plan: Plan, out: Path) -> int:
    """Run a plan: start the upstream and every server, measure each cell, write the results."""
    harness.raise_open_files_limit()  # C=10,000: a socket per connection here, in servers, upstream
    # SIGTERM (from CI or a parent) unwinds like Ctrl-C, so every server is stopped; a shell starting
    # this in the background ignores SIGINT for it, and Ctrl-C must still clean up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    settings = {"duration_s": plan.duration, "warmup_s": plan.warmup, "c10k_ramp_s": plan.c10k_ramp,
                "processes_per_server": PROCESSES, "load_generator": "wrk (closed loop)"}  # fmt: skip
    databases = {cell.database for cell in plan.cells if cell.scenario in contestants.DATABASE_SCENARIOS}
    not_run = [c for c in contestants.CONTESTANTS if c.only_on and databases and c.only_on not in databases]
    results = {"schema": 1, "mode": plan.mode, "started": now(), "machine": harness.machine(),
               "loadavg_start": loadavg(), "settings": settings,
               "scenarios": SCENARIOS, "contestants": {}, "databases": {}, "hops": {}, "out": str(out),
               "not_run": {c.name: f"not run: {contestants.DATABASE_NAMES[c.only_on]} only" for c in not_run},
               "cells": []}  # fmt: skip
    tmp, total = Path(tempfile.mkdtemp(prefix="asyncdemo-bench-")), len(plan.cells)
    minutes = total * (plan.warmup + plan.duration + 2) / 60
    say(f"benchmark ({plan.mode}): {total} cells, about {minutes:.0f} min; logs in {tmp}")
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, tmp, ignore_errors=True)
        upstream, servers, paths = start(plan, stack, tmp, results)
        started = time.monotonic()
        for index, cell in enumerate(plan.cells):
            minutes = (time.monotonic() - started) / index * (total - index) / 60 if index else minutes
            say(f"[{index + 1}/{total}] {minutes:.0f} min left · {cell.key}")
            server = servers[cell.server]
            try:
                record = run_cell(cell, plan, server, upstream, tmp, paths)
                say(f"  {record['throughput']:>8.1f} req/s  p50 {record['latency_ms']['p50']:>8.1f} ms  "
                    f"p99 {record['latency_ms']['p99']:>8.1f} ms  errors {sum(record['errors'].values())}  "
                    f"cpu {record['cpu_ms_per_request']} ms/req")  # fmt: skip
            except RuntimeError as exc:
                record = {**asdict(cell), "key": cell.key, "status": "failed", "reason": str(exc)[-1500:]}
                say(f"  failed: {exc}")
                with contextlib.suppress(RuntimeError):
                    server.restart()
            results["cells"].append(record)
        for server in servers.values():
            starts = results["contestants"][server.name.split("@")[0]].setdefault("starts", {})
            starts[server.name] = server.starts
    results |= {"finished": now(), "loadavg_end": loadavg()}
    from bench import report  # matplotlib loads only once the servers are gone

    report.write(results, out)
    say(f"wrote {out}/report.md, results.json and {len(results['plots'])} plots")
    problems = check(results, complete=plan.mode == "quick")
    say("FAILED:\n  " + "\n  ".join(problems) if problems else f"{plan.mode} benchmark: every cell answered")
    return 1 if problems else 0


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def loadavg() -> list[str]:
    return [f"{x:.2f}" for x in os.getloadavg()]


def main(args: argparse.Namespace) -> int:
    """Pick the plan's cells (--only, --skip), check the prerequisites, run it."""
    plan = PLANS[args.plan]()
    chosen = [c for c in plan.cells if any(p in c.key for p in args.only or [""])]
    plan = dataclasses.replace(plan, cells=[c for c in chosen if not any(p in c.key for p in args.skip)])
    if any(cell.database == "postgresql" for cell in plan.cells) and not os.environ.get("DATABASE_URL"):
        raise SystemExit("the plan has PostgreSQL cells but DATABASE_URL is not set")
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian/Ubuntu: apt install wrk; macOS: brew install wrk)")
    out = args.out or harness.ROOT / "bench" / "results" / now().replace(":", "").replace("-", "")[:15]
    out.mkdir(parents=True, exist_ok=True)
    return run(plan, out)
