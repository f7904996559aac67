"""
Run the benchmark: start the slow upstream and every contestant, load each with wrk, stop them all.

    python -m bench.run            # the full run (make bench): about 20 minutes on 2 cores
    python -m bench.run --quick    # the smoke test (make bench-quick): under 3 minutes
    python -m bench.run --servers  # only the server comparison (docs/servers.md): about 6 minutes

Writes results.json (every figure and the machine), report.md and the plots to --out
(default bench/results/<UTC time>/). The quick run then checks that every server answered
every request with 2xx and that the results are complete; it never checks timings.

Method (../shared/BENCHMARKING.md in the project's notes): the upstream is its own process;
every contestant runs the same number of processes; all are started once and the cells are
interleaved (each load point runs every contestant in turn, in alternating order); each
cell warms up, then measures for a fixed time; CPU comes from /proc deltas over all of a
server's processes.
"""

import argparse
import contextlib
import dataclasses
import datetime
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from bench import procstat
from bench.contestants import (
    BY_NAME,
    CONTESTANTS,
    OTHER_SERVERS,
    PROCESSES,
    TUNED,
    VARIANTS,
    WHICH_SERVER,
    Contestant,
)
from bench.hold import raise_open_files_limit

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "wrk"
SECRET_KEY = "bench-only-secret-key-not-for-production-0123456789abcdef"


# The plan: which cells to run


@dataclass(frozen=True)
class Cell:
    """One measurement: one contestant (or a variant of it) under one load."""

    scenario: str
    contestant: str
    concurrency: int
    delay_ms: int = 0
    calls: int = 1
    variant: str = ""  # e.g. "threaded": another view on the same server
    think_ms: tuple[int, int] = (0, 0)  # seed: wait between requests on each connection
    round: int = 0  # a repeat of the same cell later in the run (the tables show round 0)
    database: str = "sqlite"  # or "postgresql": the run's DATABASE_URL (database_names())

    @property
    def key(self) -> str:
        name = self.contestant + (f"+{self.variant}" if self.variant else "")
        again = f"/round={self.round}" if self.round else ""
        db = f"/db={self.database}" if self.database != "sqlite" else ""
        return f"{self.scenario}/C={self.concurrency}/D={self.delay_ms}/K={self.calls}/{name}{db}{again}"

    @property
    def server(self) -> str:
        """The server this cell runs on: one per contestant and database."""
        return self.contestant if self.database == "sqlite" else f"{self.contestant}@{self.database}"

    @property
    def sequential(self) -> bool:
        """Whether this cell's view makes its upstream calls one after another (sync_fanout)."""
        sync_view = BY_NAME[self.contestant].paths["fanout"].startswith("/demo/sync_fanout/")
        return self.scenario == "fanout" and sync_view and self.variant != "threaded"

    @property
    def expected_ms(self) -> int:
        """The least latency the view can have: its upstream waits."""
        return self.delay_ms * (self.calls if self.sequential else 1)


@dataclass(frozen=True)
class Plan:
    mode: str
    duration: int  # seconds measured per cell (wrk takes whole seconds)
    warmup: int  # seconds of load before measuring, 0 for none
    cells: list[Cell]
    c10k_ramp: int = 10  # C10K: seconds over which its connections open, one request each


SYNC_SERVERS = ["gunicorn-sync", "gunicorn-gthread", "uvicorn-sync"]
ASYNC_SERVERS = ["uvicorn-async", "uvicorn-async-stock", "uvicorn-async-per-request", "uvicorn-async-naive"]
MAIN = [*SYNC_SERVERS, *ASYNC_SERVERS, "reference"]
# The project's defaults with one naive choice each, beside all of them at once (the naive
# server above): what the lab's naive-choices page (lab/views.py) shows.
ONE_NAIVE_CHOICE = ["uvicorn-async-stock-mw", "uvicorn-async-httpx-transport"]
HELLO = [
    *SYNC_SERVERS,
    *ASYNC_SERVERS,
    "uvicorn-async-stock-mw",
    "uvicorn-async-nomw",
    "uvicorn-async-cli",
    "reference",
]
SEED = [*SYNC_SERVERS, *ASYNC_SERVERS]
# The other servers (OTHER_SERVERS, docs/servers.md) are measured beside uvicorn and gunicorn
# on the stock profile in the hello, seed and two upstream cells: C=100 at D=100 ms, C=1000 at
# D=1 s; --servers runs only those cells, for WHICH_SERVER.
SERVER_POINTS = ((100, 100), (1000, 1000))

# The database path (docs/performance.md): the seed scenario and three more, on SQLite and, when
# DATABASE_URL is set, on PostgreSQL too, each contestant on each database side by side.
DATABASE_SERVERS = ["gunicorn-sync", "gunicorn-gthread", "uvicorn-async", "uvicorn-async-stock"]
DATABASE_SCENARIOS = ("seed", "read", "locked", "checked")
# The mixed view waits D on the upstream, then writes: C above gthread's 100 threads, and a D
# long enough that the threads, not the CPU, are what bounds it.
CHECKED_POINT = (300, 1000)


def database_names() -> list[str]:
    """SQLite always; PostgreSQL too when DATABASE_URL names one."""
    return ["sqlite", "postgresql"] if os.environ.get("DATABASE_URL") else ["sqlite"]


def database_points(database: str, *, users: int, think_ms, concurrency: int, checked) -> list[list[Cell]]:
    """The database scenarios on one database: seed, read one row, a contended write, the mixed view."""
    seed = [*SEED, *OTHER_SERVERS] if database == "sqlite" else DATABASE_SERVERS
    # Two sync workers cannot hold C waits of D: their cell would only measure the queue.
    waiting = [name for name in DATABASE_SERVERS if name != "gunicorn-sync"]
    checked_concurrency, checked_delay = checked
    return [
        [Cell("seed", name, users, think_ms=think_ms, database=database) for name in seed],
        [Cell("read", name, concurrency, database=database) for name in DATABASE_SERVERS],
        [Cell("locked", name, concurrency, database=database) for name in DATABASE_SERVERS],
        [
            Cell("checked", name, checked_concurrency, delay_ms=checked_delay, database=database)
            for name in waiting
        ],
    ]


def interleave(points: list[list[Cell]]) -> list[Cell]:
    """Flatten load points, reversing every other one so no contestant always goes first."""
    cells: list[Cell] = []
    for i, point in enumerate(points):
        cells.extend(point if i % 2 == 0 else reversed(point))
    return cells


def naive_choices_point(concurrency: int, delay_ms: int) -> list[Cell]:
    """One upstream call under each naive choice alone, beside the project's defaults."""
    cells = [Cell("upstream", name, concurrency, delay_ms=delay_ms) for name in ONE_NAIVE_CHOICE]
    pitfall = Cell("upstream", "uvicorn-async", concurrency, delay_ms=delay_ms, variant="client-per-request")
    return [*cells, pitfall]


def fanout_point(concurrency: int) -> list[Cell]:
    cells = [Cell("fanout", name, concurrency, delay_ms=100, calls=10) for name in MAIN]
    # The honest sync alternative: the same K calls from a thread pool, on the threaded server.
    cells.insert(
        2, Cell("fanout", "gunicorn-gthread", concurrency, delay_ms=100, calls=10, variant="threaded")
    )
    return cells


# Light load for the fan-out's latency (target P1): 2 requests of 10 calls, 200 calls a second.
# At C=10 the calls alone (1,000 a second, about 1 ms of client CPU each) keep a core busy,
# and the reference's own p50 there was 1.10-1.24 D: that cell measures CPU, not overlap.
FANOUT_LIGHT = 2


def fanout_light_point() -> list[Cell]:
    names = ("uvicorn-async", "reference")
    return [Cell("fanout", name, FANOUT_LIGHT, delay_ms=100, calls=10) for name in names]


# Target P4 compares two hello cells' CPU per request, a ratio near its bound that one pair of
# 8 s cells on a shared machine moved between 1.01 and 1.83. The pair is measured again later
# in the run, each round side by side, and P4 is read from the medians of the rounds.
MIDDLEWARE_PAIR = ("uvicorn-async", "uvicorn-async-nomw")
MIDDLEWARE_ROUNDS = 3


def middleware_round(concurrency: int, round: int) -> list[Cell]:
    return [Cell("hello", name, concurrency, round=round) for name in MIDDLEWARE_PAIR]


def full_plan() -> Plan:
    points = [[Cell("hello", name, 50) for name in [*HELLO, *OTHER_SERVERS]]]
    for delay in (100, 1000):
        for concurrency in (10, 100, 1000):
            # The documented `uvicorn --workers` line is shown where its 40 ms per response shows.
            names = [*MAIN, "uvicorn-async-cli"] if delay == 100 else MAIN
            if (concurrency, delay) in SERVER_POINTS:
                names = [*names, *OTHER_SERVERS]
            point = [Cell("upstream", name, concurrency, delay_ms=delay) for name in names]
            if (concurrency, delay) == (100, 100):
                point += naive_choices_point(concurrency, delay)
            points.append(point)
            if (concurrency, delay) == (1000, 100):
                points.append(middleware_round(50, 1))
    points.append(fanout_point(10))
    points.append(fanout_light_point())
    points.append(middleware_round(50, 2))
    for database in database_names():
        points += database_points(
            database, users=200, think_ms=(500, 1000), concurrency=100, checked=CHECKED_POINT
        )
    c10k = ("uvicorn-async", "uvicorn-async-per-request", "reference")
    points.append([Cell("c10k", name, 10_000, delay_ms=10_000) for name in c10k])
    return Plan("full", duration=8, warmup=1, cells=interleave(points))


def quick_plan() -> Plan:
    # Every server is started once, at the start, like in the full run.
    points = [
        [Cell("hello", name, 10) for name in [*HELLO, *OTHER_SERVERS]],
        [
            *(Cell("upstream", name, 10, delay_ms=100) for name in [*MAIN, "uvicorn-async-cli"]),
            *(Cell("upstream", name, 10, delay_ms=100) for name in OTHER_SERVERS),
            *naive_choices_point(10, 100),
        ],
        fanout_point(4),
        fanout_light_point(),
        middleware_round(10, 1),
        *(
            point
            for database in database_names()
            for point in database_points(
                database, users=10, think_ms=(50, 100), concurrency=10, checked=(10, 100)
            )
        ),
        [Cell("c10k", name, 300, delay_ms=1000) for name in ("uvicorn-async", "reference")],
    ]
    return Plan("quick", duration=2, warmup=0, cells=interleave(points), c10k_ramp=1)


def database_plan() -> Plan:
    """Only the database path (docs/performance.md): the full run's database cells."""
    points = []
    for database in database_names():
        points += database_points(
            database, users=200, think_ms=(500, 1000), concurrency=100, checked=CHECKED_POINT
        )
    return Plan("database", duration=8, warmup=1, cells=interleave(points))


def servers_plan() -> Plan:
    """Only the server comparison (docs/servers.md): the full run's cells for WHICH_SERVER."""
    points = [[Cell("hello", name, 50) for name in WHICH_SERVER]]
    for concurrency, delay in SERVER_POINTS:
        points.append([Cell("upstream", name, concurrency, delay_ms=delay) for name in WHICH_SERVER])
    points.append([Cell("seed", name, 200, think_ms=(500, 1000)) for name in WHICH_SERVER])
    return Plan("servers", duration=8, warmup=1, cells=interleave(points))


SCENARIOS = {
    "hello": "Hello: no I/O, the framework's own cost",
    "upstream": "One upstream call of D ms at concurrency C",
    "fanout": "Fan-out: K=10 upstream calls of D=100 ms per request",
    "seed": "The seed experiment: read poll 1's form, vote (CSRF), 0.5-1 s between requests",
    "read": "Read one question by primary key, with its choices",
    "locked": "A contended write: every request votes for the same choice, its row locked "
    "(select_for_update) in one transaction",
    "checked": "The mixed view: wait D on the upstream, then write one vote",
    "c10k": "C10K: C connections opened over a ramp, one request each, each waiting D on the upstream",
}


def path_for(cell: Cell) -> str:
    key = {"c10k": "upstream", "seed": "poll"}.get(cell.scenario, cell.scenario)
    path = BY_NAME[cell.contestant].paths[key]
    if cell.variant:
        variant = VARIANTS[cell.variant]
        if variant.view not in path:
            raise ValueError(f"{cell.key}: {cell.variant!r} replaces {variant.view}, not in {path}")
        path = path.replace(variant.view, variant.replacement)
    return path.format(k=cell.calls, ms=cell.delay_ms)


# Processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, timeout: float) -> int:
    """Return the status of a GET, or 0 if nothing answered in time."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, TimeoutError):
        return 0


class Server:
    """A server in its own session, so it and every process it forks stop together."""

    def __init__(self, name: str, command, env: dict[str, str], probe: str, logs: Path):
        self.name, self.command, self.env, self.probe = name, command, env, probe
        self.log_path = logs / f"{name}.log"
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def session(self) -> int:
        return self.process.pid

    def start(self) -> None:
        self.port = free_port()
        self.argv = self.command(self.port)
        with self.log_path.open("a") as log:
            log.write(f"\n--- {' '.join(self.argv)}\n")
            log.flush()
            self.process = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        self.starts += 1

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            if get(self.url + self.probe, timeout=2) == 200:
                return
            time.sleep(0.1)
        raise RuntimeError(
            f"{self.name} did not answer {self.probe} within {timeout:g} s:\n{self.log_tail()}"
        )

    def answers(self, timeout: float = 2) -> bool:
        return self.process.poll() is None and get(self.url + self.probe, timeout=timeout) == 200

    def stop(self) -> None:
        if self.process is None:
            return
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.session, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=wait)
                # The leader is gone; make sure no worker of its session outlived it.
                if not procstat.session_pids(self.session):
                    break
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()
        self.wait_ready()
        # One worker answering does not mean all have booted: let the others finish first,
        # so no worker's start-up is counted as CPU spent on requests.
        procstat.wait_quiet(self.session)

    def log_tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])


# The load generator


@dataclass
class WrkRun:
    result: dict
    cpu_s: float
    output: str


def lua_script(tmp: Path, scenario: str) -> Path:
    """Write the wrk script for a scenario: the status counter, plus the vote flow or the write."""
    path = tmp / f"{scenario}.lua"
    if not path.exists():
        parts = [(LUA / "report.lua").read_text()]
        if scenario == "seed":
            parts.append((LUA / "vote.lua").read_text())
        elif scenario in WRITES:
            parts.append((LUA / "write.lua").read_text())
        path.write_text("\n".join(parts))
    return path


def wrk(url: str, *, connections: int, duration: int, timeout: float, script: Path, args=()) -> WrkRun:
    argv = [
        "wrk",
        "--threads",
        str(min(2, connections)),
        "--connections",
        str(connections),
        "--duration",
        f"{duration}s",
        "--timeout",
        f"{math.ceil(timeout)}s",
        "--script",
        str(script),
        url,
        "--",
        *map(str, args),
    ]
    return load(argv, "wrk")


def hold(url: str, *, connections: int, ramp: float, timeout: float) -> WrkRun:
    """C10K's load: one request per connection, opened over `ramp` seconds (bench/hold.py)."""
    argv = [
        sys.executable, "-m", "bench.hold", url,
        "--connections", str(connections),
        "--ramp", str(ramp),
        "--timeout", str(timeout),
    ]  # fmt: skip
    return load(argv, "bench.hold")


def load(argv: list[str], name: str) -> WrkRun:
    """Run a load generator to its end; return its BENCH_RESULT line and its own CPU time."""
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT
        )
        try:
            # wait4 gives the load generator's own CPU time, so a saturated wrk shows.
            _, status, rusage = os.wait4(process.pid, 0)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            raise
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read().decode(errors="replace")
    line = next((x for x in output.splitlines() if x.startswith("BENCH_RESULT ")), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(f"{name} failed ({process.returncode}): {output[-2000:]}")
    return WrkRun(json.loads(line.removeprefix("BENCH_RESULT ")), rusage.ru_utime + rusage.ru_stime, output)


# Progress


class Progress:
    def __init__(self, plan: Plan):
        self.plan, self.total, self.done = plan, len(plan.cells), 0
        self.started = time.monotonic()
        self.overhead = 2.0  # seconds per cell beyond warm-up + measurement, refined as cells finish

    def cell_seconds(self, cell: Cell) -> float:
        if cell.scenario == "c10k":
            return self.plan.c10k_ramp + cell.delay_ms / 1000 + 5
        return self.plan.warmup + self.plan.duration

    def left(self, remaining: list[Cell]) -> float:
        return sum(self.cell_seconds(cell) + self.overhead for cell in remaining)

    def show(self, cell: Cell, remaining: list[Cell], what: str) -> None:
        left = self.left(remaining)
        print(
            f"[{self.done + 1:>2}/{self.total}] {int(left // 60)}m{int(left % 60):02d}s left · "
            f"{cell.key} · {what}",
            file=sys.stderr,
            flush=True,
        )

    def finished(self, cell: Cell, seconds: float) -> None:
        self.done += 1
        spent = seconds - self.cell_seconds(cell)
        self.overhead += (spent - self.overhead) / self.done


# Running


def django_env(tmp: Path, upstream_url: str) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "asyncdemo.settings",
        "DEBUG": "0",
        "SECRET_KEY": SECRET_KEY,
        # Plain HTTP on loopback: without this, DEBUG=0 turns on the HTTPS redirect.
        "HTTPS": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "UPSTREAM_URL": upstream_url,
        # Each process may hold every request of C=10,000 on the upstream at once.
        "UPSTREAM_MAX_CONNECTIONS": "10000",
        "SQLITE_PATH": str(tmp / "bench.sqlite3"),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


PROBE_CODE = """
import json
import django
django.setup()
from django.conf import settings
from django.core.management import get_commands
from django.urls import NoReverseMatch, reverse
urls = {}
for name in ("sync_poll", "async_poll", "sync_vote", "async_vote"):
    try:
        urls[name] = bool(reverse("views_demo:" + name))
    except NoReverseMatch:
        urls[name] = False
from django.db import connection
db = settings.DATABASES["default"]
options = {
    k: v for k, v in db.get("OPTIONS", {}).items() if k in ("pool", "init_command", "transaction_mode")
}
if connection.vendor == "postgresql":
    version = "PostgreSQL " + ".".join(map(str, divmod(connection.pg_version, 10000)))
else:
    version = "SQLite " + connection.Database.sqlite_version
print(json.dumps({
    "database": {"vendor": connection.vendor, "version": version, "conn_max_age": db["CONN_MAX_AGE"],
                 "options": options},
    "urls": urls,
    "seed_demo": "seed_demo" in get_commands(),
    "middleware": list(settings.MIDDLEWARE),
    "upstream_transport": getattr(settings, "UPSTREAM_TRANSPORT", None),
}))
"""


def probe_project(env: dict[str, str]) -> dict:
    """Ask the project (not a running server) what it has: seed URLs, command, middleware."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE_CODE],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**os.environ, **env}, check=True, timeout=120
    )


def seed_status(project: dict, contestant: Contestant) -> tuple[bool, str]:
    """Whether the seed scenario applies to a contestant, and why not if it does not.

    It applies as soon as the project defines the poll and vote URLs the contestant would
    call: from then on a failure there fails the run. The reference has no ORM.
    """
    if not contestant.django:
        return False, "the reference has no database"
    prefix = "sync" if contestant.paths["poll"].startswith("/demo/sync_") else "async"
    if not (project["urls"][f"{prefix}_poll"] and project["urls"][f"{prefix}_vote"]):
        return False, f"the project defines no {prefix}_poll/{prefix}_vote views yet"
    return True, ""


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    packages = {}
    for name in (
        "Django",
        "asgiref",
        "httpx",
        "httpcore",
        "uvicorn",
        "gunicorn",
        "starlette",
        "uvloop",
        "httptools",
        "httpx-aiohttp",
        "aiohttp",
        "daphne",
        "Twisted",
        "hypercorn",
        "granian",
    ):
        with contextlib.suppress(metadata.PackageNotFoundError):
            packages[name] = metadata.version(name)
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split(" Copyright")[0]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": packages,
        "wrk": wrk_version.strip(),
        "commit": commit.stdout.strip() + (" (with local changes)" if dirty.stdout.strip() else ""),
        "somaxconn": int(Path("/proc/sys/net/core/somaxconn").read_text()),
        "open_files_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
    }


def timeout_for(cell: Cell) -> float:
    """wrk's timeout: far above the latency expected, so queueing shows as latency, not errors."""
    return max(10.0, 3 * cell.expected_ms / 1000)


def measure(cell: Cell, server: Server, upstream: Server, duration: int, tmp: Path) -> dict:
    script = lua_script(tmp, cell.scenario)
    url = server.url + path_for(cell)
    with procstat.PeakSampler(server.session) as sampler:
        pids_before = set(procstat.session_pids(server.session))
        server_before = procstat.usage(server.session, count_fds=False).cpu_s
        upstream_before = procstat.usage(upstream.session, count_fds=False).cpu_s
        busy_before, total_before = procstat.machine_cpu_s()
        if cell.scenario == "c10k":
            run = hold(url, connections=cell.concurrency, ramp=duration, timeout=timeout_for(cell))
        else:
            run = wrk(
                url,
                connections=cell.concurrency,
                duration=duration,
                timeout=timeout_for(cell),
                script=script,
                args=measure_args(cell, server),
            )
        busy_after, total_after = procstat.machine_cpu_s()
        server_cpu = procstat.usage(server.session, count_fds=False).cpu_s - server_before
        # A worker that died or was replaced during the window takes its CPU time with it.
        churn = set(procstat.session_pids(server.session)) != pids_before
        upstream_cpu = procstat.usage(upstream.session, count_fds=False).cpu_s - upstream_before
    r = run.result
    seconds = r["duration_us"] / 1e6
    statuses = {int(k): v for k, v in r["statuses"].items()}
    non_2xx = sum(n for status, n in statuses.items() if not 200 <= status < 300)
    requests = r["requests"]
    cores = os.cpu_count() or 1
    machine_busy = busy_after - busy_before
    wall = (total_after - total_before) / cores
    other = max(0.0, machine_busy - server_cpu - upstream_cpu - run.cpu_s)
    return {
        "url_path": path_for(cell),
        "requests": requests,
        "seconds": round(seconds, 3),
        "throughput": round(requests / seconds, 1),
        "ok_throughput": round((requests - non_2xx) / seconds, 1),
        "latency_ms": {k: round(v / 1000, 1) for k, v in r["latency_us"].items()},
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": {
            "non_2xx": non_2xx,
            "timeout": r["errors"]["timeout"],
            "connect": r["errors"]["connect"],
            "read": r["errors"]["read"],
            "write": r["errors"]["write"],
        },
        "server_cpu_s": round(server_cpu, 2),
        "cpu_ms_per_request": round(server_cpu / requests * 1000, 3) if requests else None,
        "peak_threads": sampler.peak.threads,
        "peak_rss_mb": round(sampler.peak.rss_bytes / 2**20, 1),
        "peak_fds": sampler.peak.fds,
        "peak_processes": sampler.peak.processes,
        "process_churn": churn,
        "wrk_cpu_s": round(run.cpu_s, 2),
        "wrk_cpu_percent_of_core": round(run.cpu_s / seconds * 100, 1),
        "upstream_cpu_s": round(upstream_cpu, 2),
        # CPU the machine spent on anything but this cell's server, upstream and wrk.
        "other_cpu_percent_of_machine": round(other / (wall * cores) * 100, 1) if wall else None,
        "timeout_s": timeout_for(cell),
        # C10K: the most connections the client had open at once.
        **({"max_in_flight": r["max_in_flight"]} if "max_in_flight" in r else {}),
    }


def run_cell(
    cell: Cell, plan: Plan, server: Server, upstream: Server, tmp: Path, progress, remaining
) -> dict:
    record = {**asdict(cell), "key": cell.key, "status": "ok", "restarts": []}
    duration = plan.c10k_ramp if cell.scenario == "c10k" else plan.duration
    if plan.warmup and cell.scenario != "c10k":
        progress.show(cell, remaining, f"warming up {plan.warmup} s")
        wrk(
            server.url + path_for(cell),
            connections=cell.concurrency,
            duration=plan.warmup,
            timeout=timeout_for(cell),
            script=lua_script(tmp, cell.scenario),
            args=measure_args(cell, server),
        )
        drain(server, record, "after warm-up")
    what = f"opening {cell.concurrency} connections over {duration} s" if cell.scenario == "c10k" else ""
    progress.show(cell, remaining, what or f"measuring {duration} s")
    record.update(measure(cell, server, upstream, duration, tmp))
    drain(server, record, "after measuring")
    return record


def measure_args(cell: Cell, server: "Server") -> tuple:
    paths = BY_NAME[cell.contestant].paths
    if cell.scenario == "seed":
        return (paths["poll"], paths["vote"], 1, *cell.think_ms)
    if cell.scenario in WRITES:
        token, choices = form_token(server.url + paths["poll"])
        # One choice for every request: the contended write queues on that one row.
        body = f"question=1&choice={choices[0]}" + (f"&delay={cell.delay_ms}" if cell.delay_ms else "")
        return (token, body)
    return ()


# The scenarios that POST a form with wrk/write.lua.
WRITES = ("locked", "checked")


def form_token(url: str) -> tuple[str, list[str]]:
    """GET the poll's form: the CSRF token its cookie sets, and its choices' ids."""
    with urllib.request.urlopen(url, timeout=10) as response:
        cookies = response.headers.get_all("Set-Cookie") or []
        page = response.read().decode()
    token = next((m.group(1) for c in cookies if (m := re.match(r"csrftoken=([^;]+)", c))), None)
    choices = re.findall(r'name="choice"[^>]*value="(\d+)"', page)
    if not token or not choices:
        raise RuntimeError(f"{url} set no csrftoken cookie or listed no choice")
    return token, choices


def drain(server: Server, record: dict, when: str) -> None:
    """Restart a server still busy with requests wrk gave up on, so the next cell starts clean.

    A WSGI worker cannot tell that a queued client went away: it would serve the whole
    backlog (C=1000 at D=1 s keeps 2 sync workers busy for minutes) during the next cell.
    """
    if not server.answers(timeout=2):
        server.restart()
        record["restarts"].append(when)


def check(results: dict) -> list[str]:
    """What the quick run requires: every server answered every request, and nothing is missing."""
    problems = []
    required = (
        "throughput",
        "latency_ms",
        "errors",
        "cpu_ms_per_request",
        "peak_threads",
        "peak_rss_mb",
        "wrk_cpu_s",
        "server_cpu_s",
    )
    answered = set()
    for cell in results["cells"]:
        if cell["status"] == "not available":
            if cell["scenario"] != "seed":
                problems.append(f"{cell['key']}: not available ({cell['reason']})")
            continue
        if cell["status"] != "ok":
            problems.append(f"{cell['key']}: {cell['status']}: {cell.get('reason', '')}")
            continue
        missing = [name for name in required if cell.get(name) is None]
        if missing:
            problems.append(f"{cell['key']}: missing {', '.join(missing)}")
        errors = {k: v for k, v in cell["errors"].items() if v}
        if cell["requests"] == 0:
            problems.append(f"{cell['key']}: no request was answered")
        elif errors:
            problems.append(f"{cell['key']}: errors {errors}, statuses {cell['statuses']}")
        else:
            answered.add(cell["contestant"])
    for name in {cell["contestant"] for cell in results["cells"]} - answered:
        problems.append(f"{name}: answered no cell")
    for name in ("results.json", "report.md", *results.get("plots", [])):
        if not (Path(results["out"]) / name).is_file():
            problems.append(f"{name} was not written")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the short smoke-test run")
    parser.add_argument(
        "--servers", action="store_true", help="only the server comparison (docs/servers.md), about 6 minutes"
    )
    parser.add_argument(
        "--database",
        action="store_true",
        help="only the database path on SQLite, and on PostgreSQL when DATABASE_URL is set, about 6 minutes",
    )
    parser.add_argument("--out", type=Path, help="where to write results (default bench/results/<time>)")
    parser.add_argument(
        "--only", nargs="*", default=[], help="run only the cells whose key contains one of these, e.g. c10k"
    )
    args = parser.parse_args(argv)

    if sum((args.quick, args.servers, args.database)) > 1:
        parser.error("--quick, --servers and --database are plans: pick one")
    plan = (
        quick_plan()
        if args.quick
        else servers_plan()
        if args.servers
        else database_plan()
        if args.database
        else full_plan()
    )
    if args.only:
        chosen = [c for c in plan.cells if any(part in c.key for part in args.only)]
        plan = dataclasses.replace(plan, cells=chosen)
    stamp = datetime.datetime.now(datetime.UTC)
    out = args.out or ROOT / "bench" / "results" / stamp.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    if not shutil.which("wrk"):
        print(
            "wrk is not installed (Debian/Ubuntu: apt install wrk; macOS: brew install wrk)", file=sys.stderr
        )
        return 2
    # C=10,000 needs a socket per connection in the load generator, the server and towards the
    # upstream; the servers inherit this process's limit.
    raise_open_files_limit()
    # SIGTERM (from CI or a parent) unwinds like Ctrl-C, so every server is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # A shell starting this in the background ignores SIGINT for it; Ctrl-C must still clean up.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    # No server inherits DATABASE_URL: the cells say which database each server uses.
    postgres_url = os.environ.pop("DATABASE_URL", None)
    if any(cell.database == "postgresql" for cell in plan.cells) and not postgres_url:
        parser.error("the plan has PostgreSQL cells but DATABASE_URL is not set")
    tmp = Path(tempfile.mkdtemp(prefix="asyncdemo-bench-"))
    results = {
        "schema": 1,
        "mode": plan.mode,
        "started": stamp.isoformat(timespec="seconds"),
        "machine": machine(),
        "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
        "settings": {
            "duration_s": plan.duration,
            "warmup_s": plan.warmup,
            "c10k_ramp_s": plan.c10k_ramp,
            "processes_per_server": PROCESSES,
            "load_generator": "wrk (closed loop: each connection sends its next request when the "
            "previous one is answered)",
        },
        "scenarios": SCENARIOS,
        "contestants": {},
        "out": str(out),
        "cells": [],
    }
    progress = Progress(plan)
    print(
        f"benchmark ({plan.mode}): {len(plan.cells)} cells, about {progress.left(plan.cells) / 60:.0f} min; "
        f"logs in {tmp}",
        file=sys.stderr,
    )
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, tmp, ignore_errors=True)
        upstream = Server(
            "upstream",
            lambda port: [sys.executable, "-m", "slow_upstream", "--port", str(port)],
            {},
            "/delay?ms=0",
            tmp,
        )
        stack.callback(upstream.stop)
        upstream.start()
        upstream.wait_ready()
        base_env = django_env(tmp, upstream.url)
        # Each database's servers get their own settings: SQLite's file, or PostgreSQL's URL.
        database_env = {"sqlite": base_env, "postgresql": {**base_env, "DATABASE_URL": postgres_url or ""}}

        # The project as the contestants will see it, under each set of switches.
        project = probe_project(base_env)
        switches = {}
        for contestant in CONTESTANTS:
            if contestant.django and contestant.env:
                switches[contestant.name] = probe_project({**base_env, **contestant.env})
        databases = sorted({cell.database for cell in plan.cells}, key=["sqlite", "postgresql"].index)
        seeded = project["seed_demo"]
        results["databases"] = {}
        for database in databases:
            manage(database_env[database], "migrate", "--no-input", "--verbosity", "0")
            if seeded:
                manage(database_env[database], "seed_demo")
            results["databases"][database] = probe_project(database_env[database])["database"]
            # The tuned profile keeps SQLite connections on its threads (tuned/settings.py).
            tuned = probe_project({**database_env[database], **TUNED})["database"]
            results["databases"][database]["conn_max_age_tuned"] = tuned["conn_max_age"]
        results["project"] = {
            "seed_urls": project["urls"],
            "seed_demo_command": seeded,
            "middleware": project["middleware"],
            "upstream_transport": project["upstream_transport"],
        }

        servers: dict[str, Server] = {}
        needed = list(dict.fromkeys((cell.server, cell.contestant, cell.database) for cell in plan.cells))
        for server_name, name, database in needed:
            contestant = BY_NAME[name]
            env = {**database_env[database], **contestant.env}
            server = Server(server_name, contestant.command, env, contestant.paths["hello"].format(), tmp)
            stack.callback(server.stop)
            servers[server_name] = server
            server.start()
            if name in results["contestants"]:
                continue
            results["contestants"][name] = {
                "label": contestant.label,
                "command": " ".join(server.argv)
                .replace(str(server.port), "PORT")
                .replace(sys.executable, "python"),
                "switches": contestant.env,
                "slots": contestant.slots,
                "why": contestant.why,
                "middleware": switches.get(name, project)["middleware"] if contestant.django else None,
                "upstream_transport": switches.get(name, project)["upstream_transport"]
                if contestant.django
                else project["upstream_transport"],
            }
        print("starting servers: " + ", ".join(servers), file=sys.stderr, flush=True)
        for server in servers.values():
            server.wait_ready()
            procstat.wait_quiet(server.session)
            # A few requests load each worker's code before anything is measured.
            for _ in range(2 * PROCESSES):
                get(server.url + server.probe, timeout=10)

        for index, cell in enumerate(plan.cells):
            remaining = plan.cells[index:]
            started = time.monotonic()
            server = servers[cell.server]
            if cell.scenario == "seed":
                applies, reason = seed_status(project, BY_NAME[cell.contestant])
                if applies and not seeded:
                    applies, reason = False, "the poll views exist but `manage.py seed_demo` does not"
                    results["cells"].append(
                        {**asdict(cell), "key": cell.key, "status": "failed", "reason": reason}
                    )
                    progress.finished(cell, progress.cell_seconds(cell))
                    continue
                if not applies:
                    results["cells"].append(
                        {**asdict(cell), "key": cell.key, "status": "not available", "reason": reason}
                    )
                    progress.finished(cell, progress.cell_seconds(cell))
                    continue
            try:
                record = run_cell(cell, plan, server, upstream, tmp, progress, remaining)
            except RuntimeError as exc:
                record = {**asdict(cell), "key": cell.key, "status": "failed", "reason": str(exc)[-1500:]}
                print(f"  failed: {exc}", file=sys.stderr)
                with contextlib.suppress(RuntimeError):
                    server.restart()
            results["cells"].append(record)
            progress.finished(cell, time.monotonic() - started)
            if record["status"] == "ok":
                print(
                    f"  {record['throughput']:>8.1f} req/s  p50 {record['latency_ms']['p50']:>8.1f} ms  "
                    f"p99 {record['latency_ms']['p99']:>8.1f} ms  errors {sum(record['errors'].values())}  "
                    f"cpu {record['cpu_ms_per_request']} ms/req",
                    file=sys.stderr,
                    flush=True,
                )
        for server_name, server in servers.items():
            contestant = results["contestants"][server_name.split("@")[0]]
            contestant.setdefault("starts", {})[server.name] = server.starts

    results["finished"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    results["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    results["plots"] = []
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    from bench import report  # matplotlib loads only once the servers are gone

    results["plots"] = report.plot(results, out)
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "report.md").write_text(report.markdown(results))
    print(f"wrote {out}/report.md, results.json and {len(results['plots'])} plots", file=sys.stderr)

    problems = (
        check(results)
        if plan.mode == "quick"
        else [
            f"{c['key']}: {c['status']}: {c.get('reason', '')}"
            for c in results["cells"]
            if c["status"] == "failed"
        ]
    )
    unavailable = [c["key"] for c in results["cells"] if c["status"] == "not available"]
    if unavailable:
        print(f"NOTE: not available in this checkout: {', '.join(unavailable)}", file=sys.stderr)
    if problems:
        print("FAILED:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print(f"{plan.mode} benchmark: every server answered; results complete", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
