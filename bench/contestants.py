"""
The servers under test, the command line of each, the views each twin is sent to, and two launchers:

    python -m bench.contestants uvicorn asyncdemo.asgi:application --port 8001   # Nagle's algorithm off
    python -m bench.contestants daphne --port 8001 --workers 2                   # N daphnes, one socket

Why each contestant and each launcher: docs/benchmark/README.md.
"""

import argparse
import signal
import socket
import subprocess
import sys
from collections import namedtuple
from dataclasses import dataclass

PROCESSES = 2
THREADS = 50  # per gthread worker: 2 x 50 = 100 requests at once
BACKLOG = 4096  # the kernel caps it at net.core.somaxconn; more than C=1000 needs
ASGI, WSGI, TUNED_ASGI = "asyncdemo.asgi:application", "asyncdemo.wsgi:application", "tuned.asgi:application"
WORKERS = ("--workers", str(PROCESSES), "--backlog", str(BACKLOG))
QUIET = ("--no-access-log", "--log-level", "warning")
HOST, BIND = ("--host", "127.0.0.1", "--port", "{port}"), ("--bind", "127.0.0.1:{port}")
# Every Django contestant but the stock ones runs the tuned profile (the ASGI ones through
# tuned.asgi:application); bench.settings is tuned.settings with one of its fixes taken out.
TUNED, STOCK = {"DJANGO_SETTINGS_MODULE": "tuned.settings"}, {"DJANGO_SETTINGS_MODULE": "asyncdemo.settings"}
BENCH = {"DJANGO_SETTINGS_MODULE": "bench.settings"}
DRIVER = {"ASYNC_ORM_DRIVER": "1"}  # the truly async ORM (views_demo's *_driver views), PostgreSQL only


@dataclass(frozen=True)
class Contestant:
    """One server configuration: `python -m <command>` with {port} filled in, and its environment."""

    name: str
    twin: str  # the views it is sent to: a key of TWINS
    command: tuple[str, ...]
    env: dict[str, str]
    label: str
    only_on: str = ""  # a database this contestant needs ("postgresql"), or any

    @property
    def argv(self) -> list[str]:
        return [sys.executable, "-m", *self.command]

    @property
    def django(self) -> bool:
        return self.twin != "reference"

    @property
    def app(self) -> str:
        """The Django application it serves, as module:name."""
        return next((part for part in self.command if part.endswith(":application")), ASGI)


def uvicorn(app: str) -> tuple[str, ...]:
    return ("bench.contestants", "uvicorn", app, "--port", "{port}", *WORKERS)


# fmt: off
# gunicorn's --timeout is a watchdog for a stuck worker; no request here takes this long.
GUNICORN = ("gunicorn", WSGI, *BIND, *WORKERS, "--timeout", "120", *QUIET[1:])
GTHREAD = (*GUNICORN, "--worker-class", "gthread", "--threads", str(THREADS), "--worker-connections", "5000")
CLI = ("uvicorn", TUNED_ASGI, *HOST, *WORKERS, *QUIET)
HYPERCORN = ("hypercorn", ASGI, *BIND, *WORKERS, "--worker-class", "uvloop", *QUIET[1:])
GRANIAN_ASGI = ("granian", ASGI, "--interface", "asgi", *HOST, *WORKERS, *QUIET, "--loop", "uvloop")
# As many threads running views as gunicorn gthread: PROCESSES x THREADS.
GRANIAN_WSGI = ("granian", WSGI, "--interface", "wsgi", *HOST, *WORKERS, *QUIET,
                "--blocking-threads", str(THREADS))
CONTESTANTS = [Contestant(*row) for row in (
    ("gunicorn-sync", "sync", GUNICORN, TUNED, "gunicorn sync workers (WSGI)"),
    ("gunicorn-gthread", "sync", GTHREAD, TUNED, f"gunicorn gthread {PROCESSES}x{THREADS} (WSGI)"),
    ("uvicorn-sync", "sync", uvicorn(TUNED_ASGI), TUNED, "uvicorn, sync views (ASGI)"),
    ("uvicorn-async", "async", uvicorn(TUNED_ASGI), TUNED,
     "uvicorn, async views, tuned profile (tuned.settings)"),
    ("uvicorn-async-stock", "async", uvicorn(ASGI), STOCK,
     "uvicorn, async views, stock profile (Django as it ships, the default)"),
    ("uvicorn-async-per-request", "async", uvicorn(ASGI), {**BENCH, "BENCH_LEND_THREADS": "0"},
     "uvicorn, async views, tuned profile but Django's thread per request"),
    ("uvicorn-async-naive", "async", uvicorn(ASGI), {**STOCK, "UPSTREAM_TRANSPORT": "httpx"},
     "uvicorn, async views, stock profile + httpx's own transport"),
    ("uvicorn-async-stock-mw", "async", uvicorn(TUNED_ASGI), {**BENCH, "BENCH_MIDDLEWARE": "django"},
     "uvicorn, async views, tuned profile but Django's own middleware classes"),
    ("uvicorn-async-httpx-transport", "async", uvicorn(TUNED_ASGI), {**TUNED, "UPSTREAM_TRANSPORT": "httpx"},
     "uvicorn, async views, tuned profile but httpx's own transport (UPSTREAM_TRANSPORT=httpx)"),
    ("uvicorn-async-nomw", "async", uvicorn(TUNED_ASGI), {**BENCH, "BENCH_MIDDLEWARE": "none"},
     "uvicorn, async views, tuned profile, no middleware"),
    ("uvicorn-async-cli", "async", CLI, TUNED, f"`uvicorn --workers {PROCESSES}` as documented, async views"),
    ("uvicorn-async-driver", "driver", uvicorn(TUNED_ASGI), {**TUNED, **DRIVER},
     "uvicorn, async driver views, tuned profile + a truly async ORM", "postgresql"),
    ("uvicorn-async-driver-stock", "driver", uvicorn(ASGI), {**STOCK, **DRIVER},
     "uvicorn, async driver views, stock profile + a truly async ORM", "postgresql"),
    # The other servers (docs/servers.md), on the stock profile like uvicorn-async-stock, so the
    # server is the only difference from it (and granian-wsgi's from gunicorn-gthread).
    ("hypercorn-async", "async", HYPERCORN, {},
     "hypercorn --worker-class uvloop, async views, stock profile (ASGI)"),
    ("daphne-async", "async", ("bench.contestants", "daphne", "--port", "{port}"), {},
     f"daphne, {PROCESSES} processes on one socket, async views, stock profile (ASGI, no lifespan)"),
    ("granian-async", "async", GRANIAN_ASGI, {}, "granian --interface asgi, async views, stock profile"),
    ("granian-wsgi", "sync", GRANIAN_WSGI, {},
     f"granian --interface wsgi {PROCESSES}x{THREADS} blocking threads, sync views, stock profile"),
    ("reference", "reference", uvicorn("bench.reference_app:app"), {},
     "reference: Starlette, same httpx client (no Django)"),
)]
# fmt: on
BY_NAME = {contestant.name: contestant for contestant in CONTESTANTS}

# The server comparison (docs/servers.md): the other servers and the ones they are compared with.
OTHER_SERVERS = ["hypercorn-async", "daphne-async", "granian-async", "granian-wsgi"]
WHICH_SERVER = ["gunicorn-gthread", "granian-wsgi", "uvicorn-async-stock", *OTHER_SERVERS[:3]]
DATABASE_SCENARIOS = ("seed", "read", "locked", "checked")
DATABASE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
DATABASE_SERVERS = ["gunicorn-sync", "gunicorn-gthread", "uvicorn-async", "uvicorn-async-stock"]
DRIVER_SERVERS = ["uvicorn-async-driver", "uvicorn-async-driver-stock"]

# The view each twin is sent to in each scenario: a views_demo URL name (bench.run.view_paths reverses it)
# or the reference app's own route. "form" and "vote" are the seed's and the writes' poll form (its CSRF
# token and choices) and vote; a scenario a twin lacks is not run for it. Queries take the cell's K and D.
VIEWS = {"hello": "hello", "upstream": "upstream", "c10k": "upstream", "fanout": "fanout", "seed": "poll"}
VIEWS |= {"read": "question", "locked": "locked_vote", "checked": "checked_vote"}
VIEWS |= {"form": "poll", "vote": "vote"}
TWINS = {twin: {scenario: f"{twin}_{view}" for scenario, view in VIEWS.items()} for twin in ("sync", "async")}
TWINS["driver"] = {name: f"async_{VIEWS[name]}_driver" for name in ("seed", "read", "form", "vote")}
TWINS["reference"] = {"hello": "/hello", "upstream": "/upstream", "c10k": "/upstream", "fanout": "/fanout"}
QUERIES = {"upstream": "?delay={ms}", "c10k": "?delay={ms}", "fanout": "?n={k}&delay={ms}"}
QUERIES |= {"seed": "?question=1", "read": "?question=1", "form": "?question=1"}


# Another view on the same server, for one cell: the view named `view` becomes `replacement`.
Variant = namedtuple("Variant", ["view", "replacement", "label"])
VARIANTS = {
    # The honest sync alternative to sequential calls: the same K calls from a thread pool.
    "threaded": Variant("sync_fanout", "sync_fanout_threaded", "threaded fan-out view"),
    # The pitfall of a new httpx.AsyncClient per request (views_demo/views/pitfalls.py).
    "client-per-request": Variant(
        "async_upstream", "async_client_per_request_badly", "a new httpx.AsyncClient per request"
    ),
}
VIEW_NAMES = [name for twin, views in TWINS.items() if twin != "reference" for name in views.values()]
VIEW_NAMES = list(dict.fromkeys(VIEW_NAMES + [variant.replacement for variant in VARIANTS.values()]))


# The launchers


def serve_uvicorn(args: argparse.Namespace) -> int:
    """uvicorn's supervisor and workers on a socket labelled TCP, so Nagle's algorithm is off.

    uvicorn binds with `proto` 0, and asyncio sets TCP_NODELAY only on sockets that say IPPROTO_TCP:
    each two-part response would wait ~40 ms for the client's delayed ACK (uvicorn issue #3149).
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    options = {"workers": args.workers, "backlog": args.backlog, "access_log": False, "log_level": "warning"}
    config = uvicorn.Config(args.app, host=args.host, port=args.port, **options)
    sock = config.bind_socket()
    tcp = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    tcp.set_inheritable(True)
    Multiprocess(config, sockets=[tcp]).run()
    return 0


def serve_daphne(args: argparse.Namespace) -> int:
    """Run `--workers` daphnes on one socket with --fd (daphne has no --workers), as gunicorn's
    arbiter shares its socket; SIGTERM or SIGINT, or one daphne exiting, stops them all."""
    listener = socket.create_server((args.host, args.port), backlog=args.backlog)
    command = [sys.executable, "-m", "daphne", "--fd", str(listener.fileno()), "-v", "0", args.app]
    children = [subprocess.Popen(command, pass_fds=(listener.fileno(),)) for _ in range(args.workers)]
    listener.close()  # the daphnes hold it now
    # Blocked after the daphnes start (they would inherit the mask), then taken in order.
    signals = {signal.SIGTERM, signal.SIGINT, signal.SIGCHLD}
    signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    signum = signal.SIGCHLD
    while all(child.poll() is None for child in children):  # SIGCHLD comes for a stop or continue too
        if (signum := signal.sigwait(signals)) != signal.SIGCHLD:
            break
    if signum == signal.SIGCHLD:
        print("a daphne exited on its own; stopping the others", file=sys.stderr, flush=True)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM if signum == signal.SIGCHLD else signum)
    codes = [child.wait() for child in children]
    return int(signum == signal.SIGCHLD or any(codes))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.contestants", description=__doc__.split("\n\n")[0])
    parser.add_argument("server", choices=["uvicorn", "daphne"])
    parser.add_argument("app", nargs="?", default=ASGI)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=PROCESSES)
    parser.add_argument("--backlog", type=int, default=BACKLOG)
    args = parser.parse_args(argv)
    return (serve_uvicorn if args.server == "uvicorn" else serve_daphne)(args)


if __name__ == "__main__":
    sys.exit(main())
