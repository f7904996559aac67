"""
What the run and the probes share: the server starter, the load runner (wrk, or bench/hold.py for C10K),
the process sampler (psutil), the CSRF helper, and what a run records about the project and the machine.
"""

import contextlib
import json
import math
import os
import platform
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from importlib import metadata
from pathlib import Path

import httpx
import psutil

from bench.hold import raise_open_files_limit  # noqa: F401 (the run's, too)

ROOT = Path(__file__).resolve().parent.parent


def django_env(sqlite: Path, upstream_url: str) -> dict[str, str]:
    """The environment of every Django server: DEBUG off, plain HTTP on loopback, the run's upstream."""
    return {
        "DJANGO_SETTINGS_MODULE": "asyncdemo.settings", "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789abcdef",
        "HTTPS": "0",  # without it, DEBUG=0 turns on the HTTPS redirect
        "UPSTREAM_URL": upstream_url,
        "UPSTREAM_MAX_CONNECTIONS": "10000",  # each process may hold all of C=10,000 on the upstream
        "SQLITE_PATH": str(sqlite), "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1",
    }  # fmt: skip


def migrate(env: dict[str, str]) -> None:
    """Create the tables and the demo polls, so the database views answer 200."""
    for command in (["migrate", "--no-input"], ["seed_demo"]):
        argv = [sys.executable, "manage.py", *command, "--verbosity", "0"]
        subprocess.run(argv, cwd=ROOT, env={**os.environ, **env}, check=True)


def in_django(function: str, env: dict[str, str], *args: str) -> str:
    """Call `function` (module.name) with `args` in a new Django process under `env`; return its output."""
    module, name = function.rsplit(".", 1)
    code = f"import django, sys; django.setup(); from {module} import {name}; {name}(*sys.argv[1:])"
    run = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env={**os.environ, **env},
                         capture_output=True, text=True)  # fmt: skip
    if run.returncode:
        raise RuntimeError(f"{function}{args} failed:\n{run.stderr[-2000:]}")
    return run.stdout


# The process sampler: a server's process and all its descendants, read with psutil (the same
# /proc fields and clock ticks as reading them by hand: tests/serving/test_bench.py checks it).


def processes(pid: int) -> list[psutil.Process]:
    """A process and all its descendants (none if it is gone)."""
    with contextlib.suppress(psutil.NoSuchProcess):
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    return []


def usage(pid: int, *, fds: bool = True) -> dict:
    """CPU seconds, threads, RSS and open files summed over a process tree, and its pids."""
    total = {"cpu_s": 0.0, "threads": 0, "rss_bytes": 0, "fds": 0, "pids": set()}
    for process in processes(pid):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied), process.oneshot():
            cpu = process.cpu_times()
            total["cpu_s"] += cpu.user + cpu.system
            total["threads"] += process.num_threads()
            total["rss_bytes"] += process.memory_info().rss
            total["fds"] += process.num_fds() if fds else 0
            total["pids"].add(process.pid)
    return total


def machine_cpu_s() -> tuple[float, float]:
    """Busy and total CPU seconds of the whole machine since boot, all cores."""
    times = psutil.cpu_times()
    total = sum(times) - times.guest - times.guest_nice  # guest time is already in user
    return total - times.idle - times.iowait, total


@contextlib.contextmanager
def peaks(pid: int, interval: float = 0.25):
    """Sample a process tree's threads, RSS, open files and processes until the block ends; keep the peaks."""
    peak, done = {"threads": 0, "rss_bytes": 0, "fds": 0, "processes": 0}, threading.Event()

    def sample() -> None:
        while not done.is_set():
            now = usage(pid)
            now["processes"] = len(now.pop("pids"))
            peak.update({key: max(peak[key], now[key]) for key in peak})
            done.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        done.set()
        sampler.join()


def wait_quiet(pid: int, *, seconds: float = 0.5, limit: float = 0.05) -> None:
    """Wait (up to 5 s) until a process tree uses less than `limit` of a core over `seconds`."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        before = usage(pid, fds=False)["cpu_s"]
        time.sleep(seconds)
        if usage(pid, fds=False)["cpu_s"] - before < limit * seconds:
            return


# The server starter


class Server:
    """A server in its own session on a free port, so it and every process it forks stop together."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], probe: str, logs: Path):
        self.name, self.template, self.env, self.probe = name, argv, env, probe  # argv: "{port}" filled in
        self.log_path = logs / f"{name}.log"
        self.process: subprocess.Popen | None = None
        self.url, self.pid, self.starts = "", 0, 0  # url and pid: of the last start

    def start(self) -> "Server":
        with socket.socket() as sock:  # a free port
            sock.bind(("127.0.0.1", 0))
            port = str(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{port}"
        argv = [part.replace("{port}", port) for part in self.template]
        with self.log_path.open("a") as log:
            print(f"\n--- {' '.join(argv)}", file=log, flush=True)
            output = {"stdout": log, "stderr": log, "stdin": subprocess.DEVNULL, "start_new_session": True}
            self.process = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **self.env}, **output)
        self.pid = self.process.pid
        self.starts += 1
        return self

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            if self.answers(timeout=2):
                return
            time.sleep(0.1)
        code = self.process.poll()
        why = f"did not answer {self.probe} in {timeout:g} s" if code is None else f"exited with {code}"
        tail = self.log_path.read_text(errors="replace").splitlines()[-20:]
        raise RuntimeError(f"{self.name} {why}:\n" + "\n".join(tail))

    def answers(self, timeout: float = 2) -> bool:
        """The server is running and its probe path answers 200."""
        with contextlib.suppress(httpx.HTTPError):
            alive = self.process.poll() is None
            return alive and httpx.get(self.url + self.probe, timeout=timeout).status_code == 200
        return False

    def stop(self) -> None:
        if self.process is None:
            return
        family = processes(self.pid)
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=wait)
            if not psutil.wait_procs(family, timeout=1)[1]:  # the leader is gone; so is every worker
                break
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start().wait_ready()
        # One worker answering does not mean all have booted: no start-up counts as request CPU.
        wait_quiet(self.pid)


@contextlib.contextmanager
def serving(server: Server):
    """Start a server, wait until it answers, stop it on the way out."""
    try:
        server.start().wait_ready()
        yield server
    finally:
        server.stop()


def upstream(logs: Path, workers: int = 1) -> Server:
    argv = [sys.executable, "-m", "slow_upstream", "--workers", str(workers), "--port", "{port}"]
    return Server("upstream", argv, {}, "/delay?ms=0", logs)


def vote_form(response: httpx.Response) -> tuple[str, list[str]]:
    """The CSRF token a poll's form set as a cookie, and its choices' ids (as wrk/vote.lua reads them)."""
    token = response.cookies.get("csrftoken")
    choices = re.findall(r'name="choice"[^>]*value="(\d+)"', response.text)
    if response.status_code != 200 or not token or not choices:
        raise RuntimeError(f"{response.url} ({response.status_code}) set no csrftoken cookie or no choice")
    return token, choices


# The load runner: wrk with bench/wrk/*.lua, or bench/hold.py; both print one BENCH_RESULT line.


def lua_script(tmp: Path, scenario: str) -> Path:
    """The wrk script for a scenario: the status counter, plus the vote flow or the write."""
    path = tmp / f"{scenario}.lua"
    extra = {"seed": ["vote.lua"], "locked": ["write.lua"], "checked": ["write.lua"]}.get(scenario, [])
    path.write_text("\n".join((ROOT / "bench" / "wrk" / name).read_text() for name in ["report.lua", *extra]))
    return path


def wrk(url: str, connections: int, seconds: float, timeout: float, *, script: Path, args=()) -> list[str]:
    return ["wrk", "--threads", str(min(2, connections)), "--connections", str(connections),
            "--duration", f"{math.ceil(seconds)}s", "--timeout", f"{math.ceil(timeout)}s",
            "--script", str(script), url, "--", *map(str, args)]  # fmt: skip


def hold(url: str, *, connections: int, ramp: float, timeout: float) -> list[str]:
    """C10K's load: one request per connection, opened over `ramp` seconds."""
    options = ("--connections", str(connections), "--ramp", str(ramp), "--timeout", str(timeout))
    return [sys.executable, "-m", "bench.hold", url, *options]


def load(argv: list[str]) -> tuple[dict, float]:
    """Run a load generator to its end; return its BENCH_RESULT and its own CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)  # its CPU time shows a saturated wrk
    done = subprocess.run(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace", start_new_session=True)  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stdout[-2000:]}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return json.loads(line.removeprefix("BENCH_RESULT ")), cpu


def measure(argv: list[str], server: Server, upstream: Server) -> dict:
    """Run one load against a server; return what it served, and what it cost the server and the machine."""
    with peaks(server.pid) as peak:
        before = usage(server.pid, fds=False), usage(upstream.pid, fds=False), machine_cpu_s()
        result, load_cpu = load(argv)
        after = usage(server.pid, fds=False), usage(upstream.pid, fds=False), machine_cpu_s()
    server_cpu = after[0]["cpu_s"] - before[0]["cpu_s"]
    upstream_cpu = after[1]["cpu_s"] - before[1]["cpu_s"]
    seconds, requests = result["duration_us"] / 1e6, result["requests"]
    non_2xx = sum(n for status, n in result["statuses"].items() if not 200 <= int(status) < 300)
    total = after[2][1] - before[2][1]
    other = max(0.0, after[2][0] - before[2][0] - server_cpu - upstream_cpu - load_cpu)
    errors = {kind: result["errors"][kind] for kind in ("timeout", "connect", "read", "write")}
    return {
        "requests": requests, "seconds": round(seconds, 3), "throughput": round(requests / seconds, 1),
        "ok_throughput": round((requests - non_2xx) / seconds, 1),
        "latency_ms": {k: round(v / 1000, 1) for k, v in result["latency_us"].items()},
        "statuses": dict(sorted(result["statuses"].items(), key=lambda item: int(item[0]))),
        "errors": {"non_2xx": non_2xx, **errors},
        "server_cpu_s": round(server_cpu, 2),
        "cpu_ms_per_request": round(server_cpu / requests * 1000, 3) if requests else None,
        "peak_threads": peak["threads"], "peak_rss_mb": round(peak["rss_bytes"] / 2**20, 1),
        "peak_fds": peak["fds"], "peak_processes": peak["processes"],
        # A worker that died or was replaced during the window takes its CPU time with it.
        "process_churn": after[0]["pids"] != before[0]["pids"],
        "wrk_cpu_s": round(load_cpu, 2), "wrk_cpu_percent_of_core": round(load_cpu / seconds * 100, 1),
        "upstream_cpu_s": round(upstream_cpu, 2),
        # CPU the machine spent on anything but this cell's server, upstream and load generator.
        "other_cpu_percent_of_machine": round(other / total * 100, 1) if total else None,
        **({"max_in_flight": result["max_in_flight"]} if "max_in_flight" in result else {}),
    }  # fmt: skip


# What a run records about the project and the machine


def describe_project() -> None:
    """Print, from inside Django, what the run needs to know: the view paths, middleware, database."""
    from django.conf import settings
    from django.db import connection

    from bench.run import view_paths

    db = settings.DATABASES["default"]
    version = f"{connection.display_name} {'.'.join(map(str, connection.get_database_version()))}"
    options = db.get("OPTIONS", {})
    options = {k: v for k, v in options.items() if k in ("pool", "init_command", "transaction_mode")}
    database = {"vendor": connection.vendor, "version": version, "conn_max_age": db["CONN_MAX_AGE"]}
    print(json.dumps({
        "paths": view_paths(),
        "database": {**database, "options": options},
        "middleware": list(settings.MIDDLEWARE),
        "upstream_transport": getattr(settings, "UPSTREAM_TRANSPORT", None),
        "asgi_app": ":".join(settings.ASGI_APPLICATION.rsplit(".", 1)),
    }))  # fmt: skip


def project(env: dict[str, str]) -> dict:
    """Ask the project (not a running server) under `env` what describe_project() prints."""
    return json.loads(in_django("bench.harness.describe_project", env))


PACKAGES = "Django asgiref httpx httpcore uvicorn gunicorn starlette uvloop httptools httpx-aiohttp aiohttp"
PACKAGES += " daphne Twisted hypercorn granian psutil"


def machine() -> dict:
    cpu = re.search(r"^model name\s*:\s*(.*)$", Path("/proc/cpuinfo").read_text(), re.M)
    packages = {}
    for name in PACKAGES.split():
        with contextlib.suppress(metadata.PackageNotFoundError):
            packages[name] = metadata.version(name)

    def output(*argv: str) -> str:
        return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True).stdout.strip()

    dirty = " (with local changes)" if output("git", "status", "--porcelain") else ""
    return {
        "cpu": cpu.group(1) if cpu else platform.processor(), "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1), "kernel": platform.release(),
        "python": platform.python_version(), "packages": packages,
        "wrk": output("wrk", "-v").split(" Copyright")[0],
        "commit": output("git", "rev-parse", "--short", "HEAD") + dirty,
        "somaxconn": int(Path("/proc/sys/net/core/somaxconn").read_text()),
        "open_files_limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
    }  # fmt: skip
