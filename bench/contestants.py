"""
The servers under test, and the command line of each: change how a contestant is served here.

Every contestant runs the same number of server processes (PROCESSES), with DEBUG off and
access logs off, and reaches the same slow upstream (a separate process) through
views_demo/upstream.py, so the only differences are the server, the views and the switches.
"""

import sys
from dataclasses import dataclass, field

PROCESSES = 2
THREADS = 50  # per gthread worker: 2 x 50 = 100 requests at once
# The kernel caps a listen backlog at net.core.somaxconn; ask for more than C=1000 needs.
BACKLOG = 4096

# Extra uvicorn options for every ASGI contestant (the Django ones and the reference alike),
# e.g. ["--loop", "uvloop", "--http", "httptools"]. The default "auto" already picks uvloop
# and httptools when they are installed; results.json records which ones were.
UVICORN_OPTIONS: list[str] = []


def uvicorn(app: str, port: int) -> list[str]:
    """uvicorn's own supervisor and workers, through bench/serve.py so Nagle's algorithm is off."""
    return [
        sys.executable, "-m", "bench.serve", app,
        "--port", str(port),
        "--workers", str(PROCESSES),
        "--backlog", str(BACKLOG),
        *UVICORN_OPTIONS,
    ]  # fmt: skip


def uvicorn_cli(app: str, port: int) -> list[str]:
    """The `uvicorn --workers N` command line as documented (it leaves Nagle's algorithm on)."""
    return [
        sys.executable, "-m", "uvicorn", app,
        "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(PROCESSES),
        "--backlog", str(BACKLOG),
        "--no-access-log", "--log-level", "warning",
        *UVICORN_OPTIONS,
    ]  # fmt: skip


def gunicorn(port: int, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "gunicorn", "asyncdemo.wsgi:application",
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(PROCESSES),
        "--backlog", str(BACKLOG),
        # The worker timeout is a watchdog for a stuck worker; no request here takes this long.
        "--timeout", "120",
        "--log-level", "warning",
        *extra,
    ]  # fmt: skip


def gunicorn_sync(port: int) -> list[str]:
    return gunicorn(port)


def gunicorn_gthread(port: int) -> list[str]:
    threads = ["--worker-class", "gthread", "--threads", str(THREADS), "--worker-connections", "5000"]
    return gunicorn(port, *threads)


def uvicorn_django(port: int) -> list[str]:
    """Django as it ships: asyncdemo.asgi, a thread of its own for each request's sync code."""
    return uvicorn("asyncdemo.asgi:application", port)


def uvicorn_tuned(port: int) -> list[str]:
    """The tuned profile's entry (tuned/asgi.py): threads lent to each request from a pool."""
    return uvicorn("tuned.asgi:application", port)


def uvicorn_cli_tuned(port: int) -> list[str]:
    return uvicorn_cli("tuned.asgi:application", port)


def uvicorn_reference(port: int) -> list[str]:
    return uvicorn("bench.reference_app:app", port)


# Other servers (docs/servers.md): each with PROCESSES processes, access logs off, the same
# backlog, and uvloop where the server can use it (uvicorn's "auto" picks it too).
ASGI_APP = "asyncdemo.asgi:application"
WSGI_APP = "asyncdemo.wsgi:application"


def daphne(port: int) -> list[str]:
    """PROCESSES daphne processes accepting on one listening socket (daphne has no --workers).

    `python -m bench.contestants daphne` binds the socket, as gunicorn's arbiter does, and
    starts each daphne with `--fd`: they share one accept queue, like every other contestant's
    workers. See daphne_workers() below.
    """
    return [sys.executable, "-m", "bench.contestants", "daphne", "--port", str(port)]


def hypercorn(port: int) -> list[str]:
    return [
        sys.executable, "-m", "hypercorn", ASGI_APP,
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(PROCESSES),
        "--worker-class", "uvloop",
        "--backlog", str(BACKLOG),
        "--log-level", "warning",
    ]  # fmt: skip


def granian(port: int, interface: str, *extra: str) -> list[str]:
    app = WSGI_APP if interface == "wsgi" else ASGI_APP
    return [
        sys.executable, "-m", "granian", app,
        "--interface", interface,
        "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(PROCESSES),
        "--backlog", str(BACKLOG),
        "--no-access-log", "--log-level", "warning",
        *extra,
    ]  # fmt: skip


def granian_asgi(port: int) -> list[str]:
    return granian(port, "asgi", "--loop", "uvloop")


def granian_wsgi(port: int) -> list[str]:
    # As many threads running views as gunicorn gthread: PROCESSES x THREADS.
    return granian(port, "wsgi", "--blocking-threads", str(THREADS))


# What each kind of view is called on each server, by scenario. `{ms}` and `{k}` are filled in.
SYNC_PATHS = {
    "hello": "/demo/sync_hello/",
    "upstream": "/demo/sync_upstream/?delay={ms}",
    "fanout": "/demo/sync_fanout/?n={k}&delay={ms}",
    "poll": "/demo/sync_poll/?question=1",
    "vote": "/demo/sync_vote/",
    # The database scenarios (bench/run.py DATABASE_SCENARIOS); the writes POST a form.
    "read": "/demo/sync_question/?question=1",
    "locked": "/demo/sync_locked_vote/",
    "checked": "/demo/sync_checked_vote/",
}
ASYNC_PATHS = {name: path.replace("/sync_", "/async_") for name, path in SYNC_PATHS.items()}


@dataclass(frozen=True)
class Variant:
    """Another view on the same server, for a cell: `view` in the contestant's path becomes `replacement`."""

    view: str
    replacement: str
    label: str


VARIANTS = {
    # The honest sync alternative to sequential calls: the same K calls from a thread pool.
    "threaded": Variant("/sync_fanout/", "/sync_fanout_threaded/", "threaded fan-out view"),
    # The pitfall of a new httpx.AsyncClient for every request (views_demo/views/pitfalls.py).
    "client-per-request": Variant(
        "/async_upstream/", "/async_client_per_request_badly/", "a new httpx.AsyncClient per request"
    ),
}
REFERENCE_PATHS = {
    "hello": "/hello",
    "upstream": "/upstream?delay={ms}",
    "fanout": "/fanout?n={k}&delay={ms}",
}


@dataclass(frozen=True)
class Contestant:
    """One server configuration under test."""

    name: str
    label: str
    command: object  # (port) -> argv
    paths: dict[str, str]
    # Requests one server can work on at once while each waits on the upstream, when the
    # server fixes that number (a worker or a thread each); None when waits hold no thread.
    slots: int | None
    # Why it has that many slots, or what bounds it instead: one clause for the report.
    why: str
    env: dict[str, str] = field(default_factory=dict)
    django: bool = True


# The settings every Django contestant but the stock ones runs (the ASGI ones through
# tuned.asgi:application): the published figures are the tuned profile's, with Django as it
# ships (uvicorn-async-stock) beside them.
TUNED = {"DJANGO_SETTINGS_MODULE": "tuned.settings"}
STOCK = {"DJANGO_SETTINGS_MODULE": "asyncdemo.settings"}

CONTESTANTS: list[Contestant] = [
    Contestant(
        name="gunicorn-sync",
        label="gunicorn sync workers (WSGI)",
        command=gunicorn_sync,
        paths=SYNC_PATHS,
        slots=PROCESSES,
        why=f"each of the {PROCESSES} sync workers serves one request at a time",
        env=TUNED,
    ),
    Contestant(
        name="gunicorn-gthread",
        label=f"gunicorn gthread {PROCESSES}x{THREADS} (WSGI)",
        command=gunicorn_gthread,
        paths=SYNC_PATHS,
        slots=PROCESSES * THREADS,
        why=f"each of the {PROCESSES}x{THREADS} threads serves one request at a time",
        env=TUNED,
    ),
    Contestant(
        name="uvicorn-sync",
        label="uvicorn, sync views (ASGI)",
        command=uvicorn_tuned,
        paths=SYNC_PATHS,
        slots=None,
        why="under ASGI Django runs each request's sync view in a thread of its own (asgiref's "
        "ThreadSensitiveContext), so a wait blocks that thread, not the server, for a thread hop's CPU",
        env=TUNED,
    ),
    Contestant(
        name="uvicorn-async",
        label="uvicorn, async views, tuned profile (tuned.settings)",
        command=uvicorn_tuned,
        paths=ASYNC_PATHS,
        slots=None,
        why="a waiting async view holds no worker, so only CPU per request bounds it",
        env=TUNED,
    ),
    Contestant(
        name="uvicorn-async-stock",
        label="uvicorn, async views, stock profile (Django as it ships, the default)",
        command=uvicorn_django,
        paths=ASYNC_PATHS,
        slots=None,
        why="a waiting async view holds no worker, but every middleware hook hops to a thread "
        "and every request starts a thread of its own",
        env=STOCK,
    ),
    Contestant(
        name="uvicorn-async-per-request",
        label="uvicorn, async views, tuned profile but Django's thread per request",
        command=uvicorn_django,
        paths=ASYNC_PATHS,
        slots=None,
        why="the tuned profile, but each request's sync code gets a new thread of its own, "
        "Django's way, instead of threads lent from a pool: every waiting request holds a thread",
        # bench.settings is tuned.settings; asyncdemo.asgi:application lends no threads.
        env={"DJANGO_SETTINGS_MODULE": "bench.settings", "BENCH_LEND_THREADS": "0"},
    ),
    Contestant(
        name="uvicorn-async-naive",
        label="uvicorn, async views, stock profile + httpx's own transport",
        command=uvicorn_django,
        paths=ASYNC_PATHS,
        slots=None,
        why="a waiting async view holds no worker, but every middleware hook hops to a thread, "
        "every request starts a thread, and httpx's default pool costs CPU per call",
        env={**STOCK, "UPSTREAM_TRANSPORT": "httpx"},
    ),
    Contestant(
        name="uvicorn-async-stock-mw",
        label="uvicorn, async views, tuned profile but Django's own middleware classes",
        command=uvicorn_tuned,
        paths=ASYNC_PATHS,
        slots=None,
        why="the tuned profile but Django's own middleware classes: every hook of every "
        "middleware hops to a thread and back",
        env={"DJANGO_SETTINGS_MODULE": "bench.settings", "BENCH_MIDDLEWARE": "django"},
    ),
    Contestant(
        name="uvicorn-async-httpx-transport",
        label="uvicorn, async views, tuned profile but httpx's own transport (UPSTREAM_TRANSPORT=httpx)",
        command=uvicorn_tuned,
        paths=ASYNC_PATHS,
        slots=None,
        why="the tuned profile but httpx's own connection pool, whose CPU per call grows with "
        "the calls in flight",
        env={**TUNED, "UPSTREAM_TRANSPORT": "httpx"},
    ),
    Contestant(
        name="uvicorn-async-nomw",
        label="uvicorn, async views, tuned profile, no middleware",
        command=uvicorn_tuned,
        paths=ASYNC_PATHS,
        slots=None,
        why="the same async view with no middleware at all: the floor of Django's own cost",
        env={"DJANGO_SETTINGS_MODULE": "bench.settings", "BENCH_MIDDLEWARE": "none"},
    ),
    Contestant(
        name="uvicorn-async-cli",
        label="`uvicorn --workers 2` as documented, async views",
        command=uvicorn_cli_tuned,
        paths=ASYNC_PATHS,
        slots=None,
        why="the same server started by uvicorn's own --workers; with uvloop (installed, so picked) "
        "it matches bench/serve.py, but on the plain asyncio loop it leaves Nagle's algorithm on "
        "and each response waits about 40 ms for the client's delayed ACK",
        env=TUNED,
    ),
    # The other servers (docs/servers.md), on the stock profile like uvicorn-async-stock, so
    # the server is the only difference from it (and granian-wsgi's from gunicorn-gthread).
    Contestant(
        name="hypercorn-async",
        label="hypercorn --worker-class uvloop, async views, stock profile (ASGI)",
        command=hypercorn,
        paths=ASYNC_PATHS,
        slots=None,
        why="a waiting async view holds no worker, but every middleware hook hops to a thread "
        "and every request starts a thread of its own; hypercorn's own HTTP code is pure Python (h11)",
    ),
    Contestant(
        name="daphne-async",
        label=f"daphne, {PROCESSES} processes on one socket, async views, stock profile (ASGI, no lifespan)",
        command=daphne,
        paths=ASYNC_PATHS,
        slots=None,
        why="a waiting async view holds no worker, but every middleware hook hops to a thread, and "
        "with no lifespan each upstream call opens a new connection (the client keeps none idle)",
    ),
    Contestant(
        name="granian-async",
        label="granian --interface asgi, async views, stock profile",
        command=granian_asgi,
        paths=ASYNC_PATHS,
        slots=None,
        why="a waiting async view holds no worker, but every middleware hook hops to a thread "
        "and every request starts a thread of its own; granian's HTTP code is Rust",
    ),
    Contestant(
        name="granian-wsgi",
        label=f"granian --interface wsgi {PROCESSES}x{THREADS} blocking threads, sync views, stock profile",
        command=granian_wsgi,
        paths=SYNC_PATHS,
        slots=PROCESSES * THREADS,
        why=f"each of the {PROCESSES}x{THREADS} blocking threads serves one request at a time",
    ),
    Contestant(
        name="reference",
        label="reference: Starlette, same httpx client (no Django)",
        command=uvicorn_reference,
        paths=REFERENCE_PATHS,
        slots=None,
        why="the same upstream client with no Django at all: the floor of the framework's cost",
        django=False,
    ),
]

BY_NAME = {contestant.name: contestant for contestant in CONTESTANTS}

# The server comparison (docs/servers.md, the report's "Which server" table): the other servers,
# and the ones they are compared with, WSGI first. Ratios there are to uvicorn-async-stock.
OTHER_SERVERS = ["hypercorn-async", "daphne-async", "granian-async", "granian-wsgi"]
WHICH_SERVER = ["gunicorn-gthread", "granian-wsgi", "uvicorn-async-stock", *OTHER_SERVERS[:3]]
WHICH_SERVER_BASE = "uvicorn-async-stock"
# What each sends the app (views_demo/lifespan.py): without lifespan.startup the async views'
# upstream client keeps no idle connections. WSGI has no lifespan; gunicorn's and granian's
# WSGI processes open the sync client on first use and never close it.
LIFESPAN = {
    "gunicorn-gthread": "none (WSGI)",
    "granian-wsgi": "none (WSGI)",
    "uvicorn-async-stock": "startup + shutdown",
    "hypercorn-async": "startup + shutdown",
    "granian-async": "startup + shutdown",
    "daphne-async": "**none**",
}


def daphne_workers(argv: list[str] | None = None) -> int:
    """Bind one listening socket, run `workers` daphne processes on it, stop them on SIGTERM/SIGINT.

    Returns 0 when every daphne exited 0, else the first other exit code (or 1).
    """
    import argparse
    import os
    import signal
    import socket
    import subprocess

    parser = argparse.ArgumentParser(prog="python -m bench.contestants daphne", description=daphne.__doc__)
    parser.add_argument("server", choices=["daphne"])
    parser.add_argument("app", nargs="?", default=ASGI_APP)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=PROCESSES)
    args = parser.parse_args(argv)

    listener = socket.create_server((args.host, args.port), backlog=BACKLOG)
    fd = listener.fileno()
    command = [sys.executable, "-m", "daphne", "--fd", str(fd), "-v", "0", args.app]
    children = [subprocess.Popen(command, pass_fds=(fd,)) for _ in range(args.workers)]
    listener.close()  # the daphnes hold it now
    stopping = False

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    codes = []
    while len(codes) < len(children):
        pid, status = os.wait()
        code = os.waitstatus_to_exitcode(status)
        for child in children:
            if child.pid == pid:
                child.returncode = code
        codes.append(code)
        if not stopping:
            # One daphne died on its own: stop the other too, and say so with its code.
            print(f"daphne {pid} exited with {code}; stopping the others", file=sys.stderr, flush=True)
            stop(signal.SIGTERM, None)
    return next((code or 1 for code in codes if code != 0), 0)


if __name__ == "__main__":
    sys.exit(daphne_workers())
