"""
Focused before/after probes for docs/performance.md, beside the full run (`python -m bench run`).

`wrk` starts one uvicorn per configuration with the run's own starter, load and sampler;
`transport` and `seed` measure CPU in one process, where no server or load generator shares the
cores (holding many slow requests at once is the run's C10K cell: `python -m bench run --only c10k`).
Configurations are interleaved (A B A B ...) because the machine is shared and noisy; each
probe prints one line per run, then the median and spread per configuration.
"""

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import contestants, harness
from bench.contestants import DRIVER, STOCK, TUNED, WSGI

# name: (twin, the app it is served by, or the settings' ASGI_APPLICATION, its settings). The tuned
# profile keeps SQLite connections on its threads; the -age0 ones open one per request.
AGE0 = {**TUNED, "SQLITE_CONN_MAX_AGE": "0"}
SEED_CONFIGS = {"wsgi-sync": ("sync", WSGI, STOCK), "asgi-stock": ("async", "", STOCK),
                "asgi-tuned": ("async", "", TUNED), "wsgi-tuned": ("sync", WSGI, TUNED),
                "wsgi-tuned-age0": ("sync", WSGI, AGE0), "asgi-tuned-age0": ("async", "", AGE0),
                "asgi-driver": ("driver", "", {**TUNED, **DRIVER})}  # fmt: skip


def stamp() -> str:
    return f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {os.getloadavg()[0]:.2f}"


def summary(rows: dict[str, list[dict]], keys: dict[str, str]) -> None:
    print("# median (min-max)")
    for name, runs in rows.items():
        figures = {unit: [run[key] for run in runs if run[key] is not None] for key, unit in keys.items()}
        parts = [
            f"{statistics.median(v):.3f} ({min(v):.3f}-{max(v):.3f}) {unit}"
            for unit, v in figures.items()
            if v
        ]
        print(f"{name:>16}: " + ", ".join(parts))


def config(spec: str) -> tuple[str, list[str], dict[str, str]]:
    """NAME:KEY=VALUE,...: lower-case keys are uvicorn options (workers, loop, http), upper-case ones
    environment variables of the server."""
    name, _, rest = spec.partition(":")
    options, env = [], {}
    for pair in filter(None, rest.split(",")):
        key, _, value = pair.partition("=")
        if key.isupper():
            env[key] = value
        else:
            options += [f"--{key}", value]
    return name, options, env


@contextlib.contextmanager
def alongside(args, url: str):
    """A second wrk on --alongside during the measured one (its CPU counts as other load)."""
    seconds, connections = args.warmup + args.duration + 2, args.alongside_connections
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", f"{url}{args.alongside}"]
    with contextlib.ExitStack() as stack:
        if args.alongside:
            stack.callback(stack.enter_context(subprocess.Popen(argv, stdout=subprocess.DEVNULL)).terminate)
        yield


def probe_wrk(args) -> None:
    """Throughput, latency, errors and server CPU per request of uvicorn under wrk, per configuration."""
    configs = [config(spec) for spec in args.config]
    rows: dict[str, list[dict]] = {name: [] for name, _, _ in configs}
    print(f"{stamp()}\n# wrk -c{args.connections} -d{args.duration}s --timeout {args.timeout}s {args.path}")
    tmp = Path(tempfile.mkdtemp(prefix="asyncdemo-probe-"))
    with harness.serving(harness.upstream(tmp, args.upstream_workers)) as upstream:
        base = harness.django_env(tmp / "probe.sqlite3", upstream.url)
        harness.migrate(base)
        script = harness.lua_script(tmp, "hello")
        for repeat in range(args.repeat):
            for name, options, env in configs:
                server = uvicorn(name, options, {**base, **env}, tmp)
                with harness.serving(server), alongside(args, server.url):
                    url, load = server.url + args.path, (args.connections, args.warmup, args.timeout)
                    harness.load(harness.wrk(url, *load, script=script))
                    load = (args.connections, args.duration, args.timeout)
                    cell = harness.measure(harness.wrk(url, *load, script=script), server, upstream)
                cell |= {"p50": cell["latency_ms"]["p50"], "p99": cell["latency_ms"]["p99"]}
                rows[name].append(cell)
                print(f"{name:>16} run {repeat + 1}: {cell['throughput']:8.1f} req/s  p50 {cell['p50']:8.1f} "
                      f"ms  p99 {cell['p99']:8.1f} ms  errors {sum(cell['errors'].values())}  "
                      f"server CPU {cell['cpu_ms_per_request']} ms/req", flush=True)  # fmt: skip
    summary(
        rows, {"throughput": "req/s", "p50": "ms p50", "p99": "ms p99", "cpu_ms_per_request": "ms CPU/req"}
    )


def uvicorn(name: str, options: list[str], env: dict[str, str], logs: Path) -> harness.Server:
    """uvicorn serving the settings' own ASGI entry, with the configuration's options."""
    app, quiet = harness.project(env)["asgi_app"], ("--no-access-log", "--log-level", "warning")
    argv = [sys.executable, "-m", "uvicorn", app, *quiet, "--backlog", "16384", *options, "--port"]
    return harness.Server(name, lambda port: [*argv, str(port)], env, "/demo/async_hello/", logs)


# CPU per upstream call for each transport, in this process


async def transport_round(name: str, concurrency: int, rounds: int, delay: int) -> tuple[float, int]:
    import httpx
    from django.conf import settings

    from views_demo import clients, upstream

    async def per_call() -> dict:
        # The pitfall: a new client for every call (what clients.aget_client() exists to avoid).
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{settings.UPSTREAM_URL}/delay", params={"ms": delay}, timeout=10)
            return response.json()

    call = per_call if name == "per-call" else lambda: upstream.adelay(ms=delay)
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


def probe_transport(args) -> None:
    """CPU per upstream call, `concurrency` calls in flight, for each transport."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "asyncdemo.settings")
    os.environ["UPSTREAM_MAX_CONNECTIONS"] = str(max(args.concurrency, 1))
    with harness.serving(harness.upstream(Path(tempfile.mkdtemp(prefix="asyncdemo-probe-")))) as upstream:
        os.environ["UPSTREAM_URL"] = upstream.url
        django.setup()
        runner = __import__("uvloop").run if args.loop == "uvloop" else asyncio.run
        print(stamp())
        print(f"# {args.concurrency} calls at once, {args.rounds} rounds, delay {args.delay} ms, {args.loop}")
        rows: dict[str, list[dict]] = {name: [] for name in args.transports}
        for repeat in range(args.repeat):
            for name in args.transports:
                used, calls = runner(transport_round(name, args.concurrency, args.rounds, args.delay))
                rows[name].append({"cpu_ms": 1000 * used / calls})
                print(f"{name:>8} run {repeat + 1}: {1000 * used / calls:.3f} ms CPU per call", flush=True)
    summary(rows, {"cpu_ms": "ms CPU per call"})


# The seed in one process: CPU and thread hops per request of the page and the vote (target Z1)

HOPS = [0]  # calls into asgiref's thread executors since count_hops(), in the child


def count_hops() -> None:
    """Count every sync_to_async and async_to_sync call from now on: each runs on another thread."""
    from asgiref import sync

    for bridge in (sync.SyncToAsync, sync.AsyncToSync):

        def counted(self, *args, _call=bridge.__call__, **kwargs):
            HOPS[0] += 1
            return _call(self, *args, **kwargs)

        bridge.__call__ = counted


def vote(form) -> dict:
    """The vote a user sends after opening the form: the first choice, the token in X-CSRFToken."""
    token, choices = harness.vote_form(form)
    return {"data": {"question": 1, "choice": choices[0]}, "headers": {"X-CSRFToken": token}}


def seed_cpu(client, paths: list[str], rounds: int, warmup: int) -> float:
    """Open the page and vote `warmup` + `rounds` times; return the CPU seconds of the last `rounds`."""
    form, page, voting = paths
    body, started = vote(client.get(form)), time.process_time()
    for i in range(warmup + rounds):
        started, HOPS[0] = (time.process_time(), 0) if i == warmup else (started, HOPS[0])
        client.get(page)
        response = client.post(voting, **body)
        assert response.status_code == 200, response.text
    return time.process_time() - started


async def aseed_cpu(client, paths: list[str], rounds: int, warmup: int) -> float:
    """The async twins' seed_cpu()."""
    form, page, voting = paths
    body, started = vote(await client.get(form)), time.process_time()
    for i in range(warmup + rounds):
        started, HOPS[0] = (time.process_time(), 0) if i == warmup else (started, HOPS[0])
        await client.get(page)
        response = await client.post(voting, **body)
        assert response.status_code == 200, response.text
    return time.process_time() - started


def seed_child(twin: str, app: str, requests: str, warmup: str) -> None:
    """Run the seed through httpx's app transports, in this process; print CPU ms and hops per request."""
    import httpx
    from django.conf import settings
    from django.utils.module_loading import import_string

    from bench.run import view_paths

    paths, views, rounds, warmup = view_paths(), contestants.TWINS[twin], int(requests) // 2, int(warmup)
    paths = [paths[views[view]] + contestants.QUERIES.get(view, "") for view in ("form", "seed", "vote")]
    app, base = import_string((app or settings.ASGI_APPLICATION).replace(":", ".")), "http://127.0.0.1"
    count_hops()
    if "wsgi" in app.__module__:  # the sync twins
        with httpx.Client(transport=httpx.WSGITransport(app=app), base_url=base) as client:
            cpu = seed_cpu(client, paths, rounds, warmup)
    else:  # the async twins, through the ASGI entry (tuned.asgi lends threads)

        async def main() -> float:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base) as client:
                return await aseed_cpu(client, paths, rounds, warmup)

        cpu = asyncio.run(main())
    print(f"{cpu / (rounds * 2) * 1000:.3f} {HOPS[0] / (rounds * 2):g}")


def seed_in_process(twin: str, app: str, env: dict[str, str], requests: int, warmup: int = 30) -> list[float]:
    """Run seed_child() under `env` in a new process: [ms of CPU, thread hops] per request."""
    out = harness.in_django("bench.probes.seed_child", env, twin, app, str(requests), str(warmup))
    return [float(x) for x in out.split()[-2:]]


def probe_seed(args) -> None:
    """CPU the Django path itself spends per request of the seed (form + vote), client included."""
    with tempfile.TemporaryDirectory(prefix="asyncdemo-seed-") as tmp:
        env = {**os.environ, **harness.django_env(Path(tmp) / "seed.sqlite3", "http://127.0.0.1:9")}
        harness.migrate(env)
        database = "PostgreSQL" if env.get("DATABASE_URL") else "SQLite"
        rows: dict[str, list[dict]] = {name: [] for name in args.configs}
        for repeat in range(args.repeat):
            for name in args.configs if repeat % 2 == 0 else reversed(args.configs):
                twin, app, extra = SEED_CONFIGS[name]
                cpu, hops = seed_in_process(twin, app, {**env, **extra}, args.requests)
                rows[name].append({"cpu_ms": cpu, "hops": hops})
                print(
                    f"{stamp()} {database} {name}: {cpu:.2f} ms CPU, {hops:g} thread hops per request",
                    flush=True,
                )
    summary(rows, {"cpu_ms": f"ms CPU per request on {database}", "hops": "thread hops per request"})
