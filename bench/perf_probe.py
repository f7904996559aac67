"""
Focused before/after probes for docs/performance.md (the full benchmark is `make bench`).

Each probe runs the slow upstream as its own process, starts what it measures on a free
127.0.0.1 port, and prints one line per run plus the median and spread per configuration.
Configurations are interleaved (A B A B ...) because the machine is shared and noisy.

    # CPU per upstream call, 100 calls in flight, for each transport (in this process);
    # per-call is the pitfall of a new httpx.AsyncClient for every call
    python bench/perf_probe.py transport --concurrency 100 --rounds 20 --repeat 3 \\
        --transports httpx aiohttp per-call

    # uvicorn + wrk: throughput, latency, errors and server CPU per request, per configuration.
    # A configuration is NAME:KEY=VALUE,...; lower-case keys are uvicorn options (workers,
    # loop, http), upper-case ones environment variables of the server.
    python bench/perf_probe.py wrk --path '/demo/async_upstream/?delay=100' -c 100 -d 8 --repeat 3 \\
        --config 'httpx:UPSTREAM_TRANSPORT=httpx' --config 'aiohttp:UPSTREAM_TRANSPORT=aiohttp'

    # The seed scenario in one process per configuration (WSGI sync twins, ASGI async twins
    # on each profile): CPU per request of the poll form and the vote; DATABASE_URL for PostgreSQL
    python bench/perf_probe.py seed --requests 400 --repeat 3

    # Hold N slow requests at once; report threads, RSS and open files of the server at peak
    python bench/perf_probe.py hold -n 10000 --delay 10000 --ramp 10 --upstream-workers 2 \\
        --config 'fast:workers=2,UPSTREAM_MAX_CONNECTIONS=6000'
"""

import argparse
import asyncio
import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import hold  # noqa: E402
from tests.servers import free_port, running  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# The server's process tree, read from /proc


def _tree(pid: int) -> list[int]:
    """Return pid and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by pid and its descendants."""
    total = 0
    for each in _tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def footprint(pid: int) -> dict[str, int]:
    """Threads, resident memory (MiB) and open files of pid and its descendants."""
    threads = rss_kb = fds = 0
    for each in _tree(pid):
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{each}/status").read_text()
            threads += int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))
            rss_kb += int(re.search(r"^VmRSS:\s+(\d+)", status, re.M).group(1))
            fds += len(os.listdir(f"/proc/{each}/fd"))
    return {"threads": threads, "rss_mib": rss_kb // 1024, "fds": fds}


# Servers


@contextlib.contextmanager
def slow_upstream(workers: int = 1):
    """Run the slow upstream alone; yield (url, pid)."""
    port = free_port()
    args = [sys.executable, "-m", "slow_upstream", "--port", str(port), "--workers", str(workers)]
    url = f"http://127.0.0.1:{port}"
    with running(args, probe=f"{url}/delay?ms=0", env={"PYTHONPATH": str(ROOT)}) as process:
        yield url, process.pid


def parse_config(spec: str) -> tuple[str, dict[str, str], dict[str, str]]:
    name, _, rest = spec.partition(":")
    options, env = {}, {}
    for pair in filter(None, rest.split(",")):
        key, _, value = pair.partition("=")
        (env if key.isupper() else options)[key] = value
    return name, options, env


def asgi_app(env: dict[str, str]) -> str:
    """uvicorn's name for the ASGI_APPLICATION of the settings `env` picks: "tuned.asgi:application"."""
    code = "from django.conf import settings; print(settings.ASGI_APPLICATION)"
    env = {**os.environ, **env}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    out.check_returncode()
    module, _, name = out.stdout.strip().rpartition(".")
    return f"{module}:{name}"


@contextlib.contextmanager
def django_server(options: dict[str, str], env: dict[str, str], upstream_url: str, sqlite: Path):
    """Serve asyncdemo with uvicorn, DEBUG off and no access log; yield (url, pid)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "DEBUG": "0",
        "SECRET_KEY": "perf-probe-not-secret",
        "HTTPS": "0",  # plain HTTP on loopback: DEBUG=0 would otherwise redirect to https
        "SQLITE_PATH": str(sqlite),
        "UPSTREAM_URL": upstream_url,
        "DJANGO_SETTINGS_MODULE": "asyncdemo.settings",
        **env,
    }
    args = [sys.executable, "-m", "uvicorn", asgi_app(env), "--port", str(port)]
    args += ["--no-access-log", "--log-level", "warning", "--backlog", "16384"]
    for key, value in options.items():
        args += [f"--{key}", value]
    with running(args, probe=f"{url}/demo/async_hello/", env=env) as process:
        yield url, process.pid


def migrate(sqlite: Path) -> None:
    """Create the tables and the demo polls, so the database views answer 200."""
    env = {**os.environ, "SQLITE_PATH": str(sqlite), "DJANGO_SETTINGS_MODULE": "asyncdemo.settings"}
    for command in (["migrate", "--no-input", "--verbosity", "0"], ["seed_demo"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)


# wrk


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60_000}[unit]


def run_wrk(url: str, *, connections: int, duration: float, threads: int, timeout: str) -> dict:
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration:g}s", "--timeout", timeout,
         "--latency", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    result["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    for pct in ("50", "99"):
        result[f"p{pct}"] = _ms(re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", out, re.M).group(1))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["errors"] = sum(map(int, errors.groups())) if errors else 0
    result["non2xx"] = int(non2xx.group(1)) if non2xx else 0
    return result


def _stamp() -> str:
    return f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {os.getloadavg()[0]:.2f}"


@contextlib.contextmanager
def alongside(args, url: str):
    """Run a second wrk on --alongside during the measured one (its CPU counts too)."""
    if not args.alongside:
        yield
        return
    seconds = args.warmup + args.duration + 2
    command = ["wrk", "-t1", "-c", str(args.alongside_connections), "-d", f"{seconds:g}s", "--timeout", "30s"]
    with subprocess.Popen([*command, url + args.alongside], stdout=subprocess.DEVNULL) as other:
        try:
            yield
        finally:
            other.terminate()


def probe_wrk(args) -> None:
    configs = [parse_config(spec) for spec in args.config]
    rows: dict[str, list[dict]] = {name: [] for name, _, _ in configs}
    sqlite = Path(tempfile.mkdtemp(prefix="perf-probe-")) / "db.sqlite3"
    migrate(sqlite)
    print(_stamp())
    wrk = f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s --timeout {args.timeout}"
    print(f"# {wrk} {args.path}")
    if args.alongside:
        print(f"# alongside: wrk -t1 -c{args.alongside_connections} {args.alongside}")
    with slow_upstream(args.upstream_workers) as (upstream_url, _):
        for repeat in range(args.repeat):
            for name, options, env in configs:
                with django_server(options, env, upstream_url, sqlite) as (url, pid), alongside(args, url):
                    target = url + args.path
                    run_wrk(target, connections=args.connections, duration=args.warmup, threads=args.threads,
                            timeout=args.timeout)  # fmt: skip
                    before = cpu_seconds(pid)
                    result = run_wrk(target, connections=args.connections, duration=args.duration,
                                     threads=args.threads, timeout=args.timeout)  # fmt: skip
                    used = cpu_seconds(pid) - before
                result["cpu_ms"] = 1000 * used / max(result["requests"], 1)
                result["load"] = os.getloadavg()[0]
                rows[name].append(result)
                print(
                    f"{name:>16} run {repeat + 1}: {result['rps']:8.1f} req/s  p50 {result['p50']:8.1f} ms  "
                    f"p99 {result['p99']:8.1f} ms  errors {result['errors']} non-2xx {result['non2xx']}  "
                    f"server CPU {result['cpu_ms']:.3f} ms/req  load {result['load']:.2f}",
                    flush=True,
                )
    print("# median (min-max)")
    for name, results in rows.items():
        parts = []
        for key, unit in (("rps", "req/s"), ("p50", "ms p50"), ("p99", "ms p99"), ("cpu_ms", "ms CPU/req")):
            values = [r[key] for r in results]
            parts.append(f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f}) {unit}")
        errors = sum(r["errors"] + r["non2xx"] for r in results)
        print(f"{name:>16}: " + ", ".join(parts) + f", errors {errors}")


# Transport CPU per call, in this process


async def _per_call_client() -> dict:
    # The pitfall: a new client for every call (what clients.aget_client() exists to avoid).
    import httpx
    from django.conf import settings

    async with httpx.AsyncClient() as client:
        response = await client.get(f"{settings.UPSTREAM_URL}/delay", params={"ms": args_delay}, timeout=10)
    return response.json()


async def _transport_round(name: str, concurrency: int, rounds: int) -> tuple[float, int]:
    from views_demo import clients, upstream

    call = _per_call_client if name == "per-call" else lambda: upstream.adelay(ms=args_delay)
    os.environ["UPSTREAM_TRANSPORT"] = "httpx" if name == "per-call" else name
    await clients.aopen_client()
    try:
        await asyncio.gather(*(call() for _ in range(concurrency)))  # warm the pool
        started = time.process_time()
        for _ in range(rounds):
            await asyncio.gather(*(call() for _ in range(concurrency)))
        return time.process_time() - started, concurrency * rounds
    finally:
        await clients.aclose_client()


args_delay = 10


def probe_transport(args) -> None:
    global args_delay
    args_delay = args.delay
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "asyncdemo.settings")
    os.environ["UPSTREAM_MAX_CONNECTIONS"] = str(max(args.concurrency, 1))
    import django

    with slow_upstream() as (url, _):
        os.environ["UPSTREAM_URL"] = url
        django.setup()
        if args.loop == "uvloop":
            import uvloop

            runner = uvloop.run
        else:
            runner = asyncio.run
        print(_stamp())
        print(f"# {args.concurrency} calls at once, {args.rounds} rounds, delay {args.delay} ms, {args.loop}")
        results: dict[str, list[float]] = {name: [] for name in args.transports}
        for repeat in range(args.repeat):
            for name in args.transports:
                used, calls = runner(_transport_round(name, args.concurrency, args.rounds))
                results[name].append(1000 * used / calls)
                print(f"{name:>8} run {repeat + 1}: {results[name][-1]:.3f} ms CPU per call", flush=True)
        for name, values in results.items():
            spread = f"{min(values):.3f}-{max(values):.3f}"
            print(f"{name:>8}: median {statistics.median(values):.3f} ms ({spread})")


# Hold many slow requests at once


async def _hold(url: str, count: int, delay_ms: int, pid: int, ramp: float) -> dict:
    """Run bench/hold.py's load in this process, sampling the server's footprint meanwhile."""
    peak = {"threads": 0, "rss_mib": 0, "fds": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            now = footprint(pid)
            for key in peak:
                peak[key] = max(peak[key], now[key])
            time.sleep(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = await hold.hold(
            f"{url}/demo/async_upstream/?delay={delay_ms}",
            connections=count,
            ramp=ramp,
            seconds_each=delay_ms / 1000 + 120,
        )
    finally:
        done.set()
        sampler.join()
    failures = {name: n for name, n in result["errors"].items() if n}
    return {"statuses": {**result["statuses"], **failures}, "peak": peak,
            "max_in_flight": result["max_in_flight"], "seconds": result["duration_us"] / 1e6}  # fmt: skip


def _cpu_of(server_pid: int, upstream_pid: int) -> dict[str, float]:
    own = time.process_time()
    return {"server": cpu_seconds(server_pid), "upstream": cpu_seconds(upstream_pid), "client": own}


def probe_hold(args) -> None:
    import uvloop

    # 10,000 connections need more than the usual 1,024 open files, in every process.
    hold.raise_open_files_limit()
    name, options, env = parse_config(args.config)
    sqlite = Path(tempfile.mkdtemp(prefix="perf-probe-")) / "db.sqlite3"
    migrate(sqlite)
    print(_stamp())
    with (
        slow_upstream(args.upstream_workers) as (upstream_url, upstream_pid),
        django_server(options, env, upstream_url, sqlite) as (url, pid),
    ):
        idle = footprint(pid)
        before = _cpu_of(pid, upstream_pid)
        result = uvloop.run(_hold(url, args.n, args.delay, pid, args.ramp))
        after = _cpu_of(pid, upstream_pid)
    print(f"{name}: {args.n} requests of {args.delay} ms over {args.ramp:g} s; idle server {idle}")
    print(f"  peak server {result['peak']}, most in flight at the client {result['max_in_flight']}")
    cpu = ", ".join(f"{key} {after[key] - before[key]:.1f}" for key in after)
    print(f"  {result['seconds']:.1f} s; CPU seconds: {cpu}; load {os.getloadavg()[0]:.2f}")
    print(f"  statuses {dict(sorted(result['statuses'].items()))}")


# The seed scenario in one process: CPU per request of the poll form and the vote (target D3)

SEED_CONFIGS = {
    # name: (how it is served, the environment beside the probe's own)
    "wsgi-sync": ("wsgi", {"DJANGO_SETTINGS_MODULE": "asyncdemo.settings"}),
    "asgi-stock": ("asgi", {"DJANGO_SETTINGS_MODULE": "asyncdemo.settings"}),
    "asgi-tuned": ("asgi", {"DJANGO_SETTINGS_MODULE": "tuned.settings"}),
    # The tuned profile keeps SQLite connections on its threads; these open one per request.
    "wsgi-tuned": ("wsgi", {"DJANGO_SETTINGS_MODULE": "tuned.settings"}),
    "wsgi-tuned-age0": ("wsgi", {"DJANGO_SETTINGS_MODULE": "tuned.settings", "SQLITE_CONN_MAX_AGE": "0"}),
    "asgi-tuned-age0": ("asgi", {"DJANGO_SETTINGS_MODULE": "tuned.settings", "SQLITE_CONN_MAX_AGE": "0"}),
}
SEED_CODE = """
import asyncio, os, re, sys, time
import httpx
mode, requests = sys.argv[1], int(sys.argv[2])
if mode == "wsgi":
    from asyncdemo.wsgi import application
else:
    # The settings' own entry: tuned.asgi.application lends threads, asyncdemo.asgi's does not.
    from django.conf import settings
    from django.utils.module_loading import import_string
    application = import_string(settings.ASGI_APPLICATION)
prefix = "sync" if mode == "wsgi" else "async"
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CHOICE = re.compile(r'name="choice" value="(\\d+)"')

def form(page):
    token = TOKEN.search(page).group(1)
    return {"question": 1, "choice": CHOICE.search(page).group(1), "csrfmiddlewaretoken": token}

def run_sync():
    transport = httpx.WSGITransport(app=application)
    with httpx.Client(transport=transport, base_url="http://127.0.0.1") as client:
        def round_trip():
            page = client.get(f"/demo/{prefix}_poll/?question=1").text
            vote = client.post(f"/demo/{prefix}_vote/", data=form(page))
            assert vote.status_code == 200, vote.text
        for _ in range(30):
            round_trip()
        started = time.process_time()
        for _ in range(requests // 2):
            round_trip()
        return time.process_time() - started

async def run_async():
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        async def round_trip():
            page = (await client.get(f"/demo/{prefix}_poll/?question=1")).text
            vote = await client.post(f"/demo/{prefix}_vote/", data=form(page))
            assert vote.status_code == 200, vote.text
        for _ in range(30):
            await round_trip()
        started = time.process_time()
        for _ in range(requests // 2):
            await round_trip()
        return time.process_time() - started

cpu = run_sync() if mode == "wsgi" else asyncio.run(run_async())
print(f"{cpu / (requests // 2 * 2) * 1000:.3f}")
"""


def probe_seed(args) -> None:
    """The seed scenario's requests one after another, in one process per configuration.

    No server and no load generator share the cores: this is the CPU the Django path itself
    spends per request (the process's CPU time, client included, over GET form + POST vote).
    """
    with tempfile.TemporaryDirectory(prefix="asyncdemo-seed-") as tmp:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "asyncdemo.settings",
            "DEBUG": "0",
            "SECRET_KEY": "probe-only-secret-key-not-for-production-0123456789",
            "HTTPS": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
            "SQLITE_PATH": str(Path(tmp) / "seed.sqlite3"),
        }
        for command in (["migrate", "--no-input", "--verbosity", "0"], ["seed_demo"]):
            subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)
        database = "PostgreSQL" if env.get("DATABASE_URL") else "SQLite"
        results: dict[str, list[float]] = {name: [] for name in args.configs}
        for repeat in range(args.repeat):
            for name in args.configs if repeat % 2 == 0 else reversed(args.configs):
                mode, extra = SEED_CONFIGS[name]
                out = subprocess.run(
                    [sys.executable, "-c", SEED_CODE, mode, str(args.requests)],
                    cwd=ROOT,
                    env={**env, **extra},
                    capture_output=True,
                    text=True,
                    check=True,
                )
                ms = float(out.stdout.split()[-1])
                results[name].append(ms)
                print(f"{_stamp()} {database} {name}: {ms:.2f} ms CPU per request", flush=True)
        base = statistics.median(results[args.configs[0]])
        for name, values in results.items():
            median = statistics.median(values)
            print(
                f"{database} {name}: median {median:.2f} ms ({min(values):.2f}-{max(values):.2f}), "
                f"{median / base:.2f}x {args.configs[0]}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    commands = parser.add_subparsers(dest="command", required=True)

    wrk = commands.add_parser("wrk", help="throughput, latency and server CPU per request")
    wrk.add_argument("--path", default="/demo/async_upstream/?delay=100")
    wrk.add_argument("--config", action="append", required=True)
    wrk.add_argument("-c", "--connections", type=int, default=100)
    wrk.add_argument("-d", "--duration", type=float, default=8)
    wrk.add_argument("-t", "--threads", type=int, default=2)
    wrk.add_argument("--warmup", type=float, default=2)
    wrk.add_argument("--timeout", default="10s")
    wrk.add_argument("--repeat", type=int, default=3)
    wrk.add_argument("--upstream-workers", type=int, default=1)
    wrk.add_argument("--alongside", help="a path loaded at the same time by a second wrk")
    wrk.add_argument("--alongside-connections", type=int, default=8)
    wrk.set_defaults(run=probe_wrk)

    transport = commands.add_parser("transport", help="CPU per upstream call for each transport")
    transport.add_argument("--concurrency", type=int, default=100)
    transport.add_argument("--rounds", type=int, default=30)
    transport.add_argument("--delay", type=int, default=10)
    transport.add_argument("--repeat", type=int, default=3)
    transport.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    transport.add_argument(
        "--transports", nargs="+", default=["httpx", "aiohttp"], choices=["httpx", "aiohttp", "per-call"]
    )
    transport.set_defaults(run=probe_transport)

    hold = commands.add_parser("hold", help="hold many slow requests at once")
    hold.add_argument("-n", type=int, default=10_000)
    hold.add_argument("--delay", type=int, default=20_000, help="upstream delay in ms")
    hold.add_argument("--ramp", type=float, default=5, help="seconds to open all connections over")
    hold.add_argument("--config", default="fast:")
    hold.add_argument("--upstream-workers", type=int, default=1)
    hold.set_defaults(run=probe_hold)

    seed = commands.add_parser("seed", help="CPU per request of the seed scenario, in one process")
    seed.add_argument("--requests", type=int, default=400, help="measured per run: half forms, half votes")
    seed.add_argument("--repeat", type=int, default=3)
    seed.add_argument("--configs", nargs="+", default=list(SEED_CONFIGS)[:3], choices=list(SEED_CONFIGS))
    seed.set_defaults(run=probe_seed)

    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
