"""Servers for the tests: real ones, started on 127.0.0.1 and stopped when done, and the ASGI
lifespan driven in-process, as a server drives it.
"""

import asyncio
import contextlib
import gc
import importlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg
import redis
from django.urls import reverse
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def open_sockets() -> int:
    """Count the sockets this process has open (Linux)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the fd listdir itself used is gone by now
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    return count


def settles(measure: Callable[[], object], expected: object, timeout: float = 2.0) -> bool:
    """Return whether measure() comes to equal `expected` within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while (value := measure()) != expected and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.02)
    return value == expected


def process_figures(pid: int) -> dict[str, int]:
    """Return a process's resident memory (KiB), threads and open file descriptors (Linux)."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines())
    return {
        "rss_kib": int(fields["VmRSS"].split()[0]),
        "threads": int(fields["Threads"]),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
    }


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {process.log()}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"server at {url} did not answer within {timeout} s")


@contextlib.contextmanager
def running(
    args: list[str], *, probe: str | None, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen]:
    """Start a server process from the project's folder, with this process's environment plus `env`.

    See running_in(); `process.log()` returns what it wrote so far.
    """
    with running_in(ROOT, args, env={**os.environ, **(env or {})}, probe=probe) as process:
        yield process


@contextlib.contextmanager
def running_in(
    directory: Path, args: list[str], *, env: dict[str, str], probe: str | None
) -> Iterator[subprocess.Popen]:
    """Start a server process in `directory` with exactly `env`; stop it on exit.

    It waits until `probe` answers, if given. Alone, it suits a server that must not see this
    project (a stock project made by a test). Its output goes to a file (a pipe nobody reads
    would fill up and block the server); `process.log()` returns what it wrote so far.
    """
    log_path = Path(tempfile.mkdtemp(prefix="asyncdemo-server-")) / "output.log"
    with log_path.open("w") as output:
        process = subprocess.Popen(args, cwd=directory, env=env, stdout=output, stderr=output)
    process.log = log_path.read_text
    try:
        if probe is not None:
            wait_until_up(probe, process)
        yield process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        # Keep what it wrote for a test that reads it after the server stopped, not the file.
        output = log_path.read_text()
        process.log = lambda: output
        shutil.rmtree(log_path.parent, ignore_errors=True)


@contextlib.contextmanager
def slow_upstream() -> Iterator[str]:
    """Run the slow upstream alone; yield its base URL."""
    port = free_port()
    args = [sys.executable, "-m", "slow_upstream", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with running(args, probe=f"{url}/delay?ms=0"):
        yield url


def redis_answers(url: str) -> bool:
    """Return whether the Redis at `url` answers a PING."""
    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    try:
        return client.ping()
    except redis.RedisError:
        return False
    finally:
        client.close()


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """Run a redis-server of its own on a free port, keeping nothing on disk; yield its URL."""
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    with running(args, probe=None) as process:
        deadline = time.monotonic() + 10
        while not redis_answers(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not answer on port {port}: {process.log()}")
            time.sleep(0.05)
        yield url


@contextlib.contextmanager
def fresh_database(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Make an empty database of the kind the tests run on; yield the variables that name it.

    SQLite: a new file in `tmp_path`. PostgreSQL (DATABASE_URL is set): a new database beside
    the one DATABASE_URL names, dropped on exit; the role needs CREATEDB, as for the tests.
    """
    url = os.environ.get("DATABASE_URL")
    if not url:
        yield {"SQLITE_PATH": str(tmp_path / "server.sqlite3")}
        return
    parts = urlsplit(url)
    name = f"{parts.path.removeprefix('/')}_server_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield {"DATABASE_URL": parts._replace(path=f"/{name}").geturl()}
    finally:
        drop = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
        with psycopg.connect(url, autocommit=True) as admin:
            try:
                # Waits up to 5 s for the server's sessions to end, and ends an autovacuum
                # worker on the new database itself; WITH (FORCE) would refuse to end that
                # worker (PostgreSQL 15: "must be a member of the role whose process is being
                # terminated") and fail the test that used the database.
                admin.execute(drop)
            except psycopg.errors.ObjectInUse:
                # A session outlived the server: this role may end its own sessions.
                admin.execute(drop + sql.SQL(" WITH (FORCE)"))


def asgi_app_of(settings_module: str) -> str:
    """uvicorn's name for a settings module's ASGI_APPLICATION: "tuned.asgi:application"."""
    module, _, name = importlib.import_module(settings_module).ASGI_APPLICATION.rpartition(".")
    return f"{module}:{name}"


@contextlib.contextmanager
def uvicorn_server(
    tmp_path: Path, env: dict[str, str] | None = None, options: tuple[str, ...] = (), *, worker: bool = False
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run uvicorn on a free port with a fresh, seeded database.

    It serves the settings module the tests run under (asyncdemo.settings, or tuned.settings
    under `DJANGO_SETTINGS_MODULE=tuned.settings make test`) with that module's ASGI_APPLICATION,
    unless `env` names another DJANGO_SETTINGS_MODULE: then that module's ASGI_APPLICATION.

    With `worker`, a task worker (`manage.py db_worker`) runs beside it on the same database;
    the server process's `worker` attribute is that process.
    """
    with fresh_database(tmp_path) as database:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            **database,
            "UPSTREAM_URL": f"{url}/upstream",
            # What the tests run under: pytest-django sets it from pyproject.toml if unset.
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "asyncdemo.settings"),
            **(env or {}),
        }
        app = asgi_app_of(env["DJANGO_SETTINGS_MODULE"])
        for command in (["migrate", "--no-input"], ["seed_demo"]):
            subprocess.run(
                [sys.executable, "manage.py", *command, "--verbosity", "0"],
                cwd=ROOT,
                env={**os.environ, **env},
                check=True,
                stdout=subprocess.DEVNULL,
            )
        args = [sys.executable, "-m", "uvicorn", app, "--port", str(port), *options]
        with running(args, probe=f"{url}/demo/sync_hello/", env=env) as process:
            if not worker:
                yield url, process
                return
            # Poll every 0.1 s, not every second, to keep the tests short.
            work = [
                sys.executable,
                "manage.py",
                "db_worker",
                "--no-reload",
                "--no-startup-delay",
                "--interval",
                "0.1",
            ]
            with running(work, probe=None, env=env) as task_worker:
                process.worker = task_worker
                yield url, process


def csrf_token(url: str) -> str:
    """Open the voting form of the server at `url`; return the CSRF token it set as a cookie.

    A POST must send it back twice, as the `csrftoken` cookie and the X-CSRFToken header.
    """
    response = httpx.get(f"{url}/demo/sync_poll/", timeout=10)
    response.raise_for_status()
    return response.cookies["csrftoken"]


def csrf_session(url: str, **options) -> httpx.Client:
    """A client of the server at `url` that sends its CSRF cookie and token with every request,
    so it can POST; the sync twin of csrf_client()."""
    token = csrf_token(url)
    return httpx.Client(base_url=url, cookies={"csrftoken": token}, headers={"X-CSRFToken": token}, **options)


def vote_counts(url: str) -> dict[int, int]:
    """Return the votes of each choice of question 1, as the server reads them."""
    response = httpx.get(url + reverse("views_demo:sync_question"), params={"question": 1}, timeout=10)
    response.raise_for_status()
    return {choice["id"]: choice["votes"] for choice in response.json()["result"]["choices"]}


def csrf_client(url: str, token: str, *, connections: int) -> httpx.AsyncClient:
    """A client that sends the CSRF cookie and token with every request, on up to `connections`."""
    return httpx.AsyncClient(
        base_url=url,
        cookies={"csrftoken": token},
        headers={"X-CSRFToken": token},
        timeout=60,
        # uvicorn closes a connection after 5 s idle, and httpx by default keeps one idle for
        # 5 s too: it may then send on a connection the server is closing (a ReadError that no
        # server error caused). Letting the client drop idle connections first avoids the race.
        limits=httpx.Limits(max_connections=connections, keepalive_expiry=1),
    )


async def send_votes(url: str, token: str, plan: list[tuple[str, int]], *, at_once: int) -> list[int | str]:
    """POST every (view, choice) of `plan`, `at_once` at a time; return each status or transport error."""
    in_flight = asyncio.Semaphore(at_once)
    client = csrf_client(url, token, connections=at_once)

    async def vote(view: str, choice: int) -> int | str:
        async with in_flight:
            try:
                response = await client.post(
                    reverse(f"views_demo:{view}"), data={"question": 1, "choice": choice}
                )
            except httpx.HTTPError as exc:
                return type(exc).__name__
            return response.status_code

    async with client:
        return await asyncio.gather(*(vote(view, choice) for view, choice in plan))


class Lifespan:
    """Drive an ASGI app's lifespan from a test."""

    def __init__(self, app):
        self.app = app
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.outbox: asyncio.Queue = asyncio.Queue()

    async def __aenter__(self):
        self.task = asyncio.create_task(self.app({"type": "lifespan"}, self.inbox.get, self.outbox.put))
        await self.inbox.put({"type": "lifespan.startup"})
        assert (await self.outbox.get())["type"] == "lifespan.startup.complete"
        return self

    async def __aexit__(self, *exc_info):
        await self.inbox.put({"type": "lifespan.shutdown"})
        assert (await self.outbox.get())["type"] == "lifespan.shutdown.complete"
        await self.task


def forget(url: str, delay: int) -> None:
    """Forget the cache pair's answer for `delay` through the server's own cache (the lab's reset)."""
    with csrf_session(url) as client:
        client.post(reverse("lab:forget_cached"), data={"delay": delay}, timeout=10).raise_for_status()
