"""
Focused before/after probes for docs/performance.md, beside the full run: `wrk` loads uvicorn per
configuration; `transport` and `seed` measure CPU in one process, where no server or load generator
shares the cores. Configurations alternate (A B B A ...) because the machine is shared.
"""

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median

import django
import httpx
from asgiref import sync
from django.conf import settings
from django.utils.module_loading import import_string

from bench import contestants, harness, run
from bench.contestants import DRIVER, STOCK, TUNED, WSGI

# name: (twin, the app serving it, or "" for the settings' ASGI_APPLICATION, its settings). The tuned
# profile keeps SQLite connections on its threads; the -age0 ones open one per request.
AGE0 = {**TUNED, "SQLITE_CONN_MAX_AGE": "0"}
SEED_CONFIGS = {"wsgi-sync": ("sync", WSGI, STOCK), "asgi-stock": ("async", "", STOCK),
                "asgi-tuned": ("async", "", TUNED), "wsgi-tuned": ("sync", WSGI, TUNED),
                "wsgi-tuned-age0": ("sync", WSGI, AGE0), "asgi-tuned-age0": ("async", "", AGE0),
                "asgi-driver": ("driver", "", {**TUNED, **DRIVER})}  # fmt: skip


def interleaved(names: list[str], repeat: int, measure: Callable[[str], dict], units: dict[str, str]) -> None:
    """Measure each configuration `repeat` times, in alternating order; print each run, then the medians."""
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {os.getloadavg()[0]:.2f}")
    rows: dict[str, list[dict]] = {name: [] for name in names}
    for i in range(repeat):
        for name in names if i % 2 == 0 else names[::-1]:
            rows[name].append(figures := measure(name))
            line = ", ".join(f"{figures[key]} {unit}" for key, unit in units.items())
            print(f"{name:>16} run {i + 1}: {line}", flush=True)
    print("# median (min-max)")
    for name, runs in rows.items():
        values = {unit: [row[key] for row in runs if row[key] is not None] for key, unit in units.items()}
        parts = [f"{median(v):.3f} ({min(v):.3f}-{max(v):.3f}) {u}" for u, v in values.items() if v]
        print(f"{name:>16}: " + ", ".join(parts))


def config(spec: str) -> tuple[str, list[str], dict[str, str]]:
    """NAME:KEY=VALUE,...: lower-case keys are uvicorn options (workers, loop, http), upper-case ones
    environment variables of the server."""
    name, _, rest = spec.partition(":")
    pairs = [pair.partition("=")[::2] for pair in filter(None, rest.split(","))]
    options = [arg for key, value in pairs if not key.isupper() for arg in (f"--{key}", value)]
    return name, options, {key: value for key, value in pairs if key.isupper()}


def probe_wrk(args: argparse.Namespace) -> None:
    """Throughput, latency, errors and server CPU per request of uvicorn under wrk, per configuration."""
    configs = {name: (options, env) for name, options, env in map(config, args.config)}
    print(f"# wrk -c{args.connections} -d{args.duration}s --timeout {args.timeout}s {args.path}")
    with (
        tempfile.TemporaryDirectory(prefix="asyncdemo-probe-", ignore_cleanup_errors=True) as directory,
        harness.serving(harness.upstream(Path(directory), args.upstream_workers)) as upstream,
    ):
        tmp = Path(directory)
        base = harness.django_env(tmp / "probe.sqlite3", upstream.url)
        harness.migrate(base)
        script = harness.lua_script(tmp, "hello")

        def measure(name: str) -> dict:
            options, env = configs[name][0], {**base, **configs[name][1]}
            app = harness.project(env)["asgi_app"]
            argv = [sys.executable, "-m", "uvicorn", app, *contestants.QUIET, "--backlog", "16384", *options]
            server = harness.Server(name, [*argv, "--port", "{port}"], env, "/demo/async_hello/", tmp)
            with harness.serving(server), contextlib.ExitStack() as stack:
                if args.alongside:  # a second wrk on another path (its CPU counts as other load)
                    seconds = args.warmup + args.duration + 2
                    wrk = ["wrk", "-t1", f"-c{args.alongside_connections}", f"-d{seconds}s", "--timeout=30s"]
                    other = subprocess.Popen([*wrk, server.url + args.alongside], stdout=subprocess.DEVNULL)
                    stack.callback(stack.enter_context(other).terminate)
                url = server.url + args.path
                harness.load(harness.wrk(url, args.connections, args.warmup, args.timeout, script=script))
                load = harness.wrk(url, args.connections, args.duration, args.timeout, script=script)
                cell = harness.measure(load, server, upstream)
            return {**cell, **cell["latency_ms"], "errors": sum(cell["errors"].values())}

        units = {"throughput": "req/s", "p50": "ms p50", "p99": "ms p99", "errors": "errors"}
        interleaved(list(configs), args.repeat, measure, {**units, "cpu_ms_per_request": "ms CPU/req"})


def probe_transport(args) -> None:
    """CPU per upstream call, `concurrency` calls in flight, for each transport."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "asyncdemo.settings")
    os.environ["UPSTREAM_MAX_CONNECTIONS"] = str(max(args.concurrency, 1))
    concurrency, rounds, delay = args.concurrency, args.rounds, args.delay

    async def per_call() -> dict:
        # The pitfall: a new client for every call (what clients.aget_client() exists to avoid).
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{settings.UPSTREAM_URL}/delay", params={"ms": delay}, timeout=10)
            return response.json()

    async def ameasure(name: str) -> dict:
        """Make `rounds` x `concurrency` upstream calls after a warm-up round; return CPU ms per call."""
        from views_demo import clients, upstream

        call = per_call if name == "per-call" else lambda: upstream.adelay(ms=delay)
        os.environ["UPSTREAM_TRANSPORT"] = "httpx" if name == "per-call" else name
        await clients.aopen_client()
        try:
            await asyncio.gather(*(call() for _ in range(concurrency)))  # warm the pool
            started = time.process_time()
            for _ in range(rounds):
                await asyncio.gather(*(call() for _ in range(concurrency)))
            return {"cpu_ms": round(1000 * (time.process_time() - started) / (concurrency * rounds), 3)}
        finally:
            await clients.aclose_client()

    with (
        tempfile.TemporaryDirectory(prefix="asyncdemo-probe-", ignore_cleanup_errors=True) as tmp,
        harness.serving(harness.upstream(Path(tmp))) as simulator,
    ):
        os.environ["UPSTREAM_URL"] = simulator.url
        django.setup()
        runner = __import__("uvloop").run if args.loop == "uvloop" else asyncio.run
        print(f"# {concurrency} calls at once, {rounds} rounds, delay {delay} ms, {args.loop}")
        units = {"cpu_ms": "ms CPU per call"}
        interleaved(args.transports, args.repeat, lambda name: runner(ameasure(name)), units)


HOPS = [0]  # calls into asgiref's thread executors since count_hops(), in the child


def count_hops() -> None:
    """Count every sync_to_async and async_to_sync call from now on: each runs on another thread."""
    for bridge in (sync.SyncToAsync, sync.AsyncToSync):

        def counted(self, *args, _call=bridge.__call__, **kwargs):
            HOPS[0] += 1
            return _call(self, *args, **kwargs)

        bridge.__call__ = counted


def vote(form: httpx.Response) -> dict:
    """The vote a user sends after opening the form: the first choice, the token in X-CSRFToken."""
    token, choices = harness.vote_form(form)
    return {"data": {"question": 1, "choice": choices[0]}, "headers": {"X-CSRFToken": token}}


def seed_cpu(app, form: str, page: str, voting: str, rounds: int, warmup: int) -> float:
    """Open the page and vote `warmup` + `rounds` times; return the CPU seconds of the last `rounds`."""
    with httpx.Client(transport=httpx.WSGITransport(app), base_url="http://127.0.0.1") as client:
        body = vote(client.get(form))
        for i in range(warmup + rounds):
            if i == warmup:
                started, HOPS[0] = time.process_time(), 0
            client.get(page)
            response = client.post(voting, **body)
            assert response.status_code == 200, response.text
        return time.process_time() - started  # before the client closes


async def aseed_cpu(app, form: str, page: str, voting: str, rounds: int, warmup: int) -> float:
    """seed_cpu() for the async twins, in one coroutine: a run_until_complete() per request adds CPU."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://127.0.0.1") as client:
        body = vote(await client.get(form))
        for i in range(warmup + rounds):
            if i == warmup:
                started, HOPS[0] = time.process_time(), 0
            await client.get(page)
            response = await client.post(voting, **body)
            assert response.status_code == 200, response.text
        return time.process_time() - started


def seed_child(twin: str, app: str, requests: str, warmup: str) -> None:
    """Run the seed through httpx's app transports, in this process; print CPU ms and hops per request."""
    paths, views, rounds, warmup = run.view_paths(), contestants.TWINS[twin], int(requests) // 2, int(warmup)
    paths = [paths[views[view]] + contestants.QUERIES.get(view, "") for view in ("form", "seed", "vote")]
    app = import_string((app or settings.ASGI_APPLICATION).replace(":", "."))
    count_hops()
    if "wsgi" in app.__module__:  # the sync twins
        cpu = seed_cpu(app, *paths, rounds, warmup)
    else:  # the async twins, through the ASGI entry (tuned.asgi lends threads)
        cpu = asyncio.run(aseed_cpu(app, *paths, rounds, warmup))
    print(f"{cpu / (rounds * 2) * 1000:.3f} {HOPS[0] / (rounds * 2):g}")


def seed_in_process(twin: str, app: str, env: dict[str, str], requests: int, warmup: int = 30) -> list[float]:
    """Run seed_child() under `env` in a new process: [ms of CPU, thread hops] per request."""
    out = harness.in_django("bench.probes.seed_child", env, twin, app, str(requests), str(warmup))
    return [float(x) for x in out.split()[-2:]]


def probe_seed(args) -> None:
    """CPU the Django path itself spends per request of the seed (page + vote), and its thread hops."""
    with tempfile.TemporaryDirectory(prefix="asyncdemo-seed-") as tmp:
        env = {**os.environ, **harness.django_env(Path(tmp) / "seed.sqlite3", "http://127.0.0.1:9")}
        harness.migrate(env)

        def measure(name: str) -> dict:
            twin, app, overrides = SEED_CONFIGS[name]
            cpu, hops = seed_in_process(twin, app, {**env, **overrides}, args.requests)
            return {"cpu_ms": cpu, "hops": hops}

        units = {"cpu_ms": f"ms CPU per request on {'PostgreSQL' if env.get('DATABASE_URL') else 'SQLite'}"}
        interleaved(args.configs, args.repeat, measure, {**units, "hops": "hops"})
