"""
Every server docs/servers.md compares, started for real on 127.0.0.1: each answers the async and
sync views, stops on SIGTERM with exit code 0 within a few seconds, and does with the ASGI
lifespan what the page says.

The lifespan check: views_demo/lifespan.py warns ("no ASGI lifespan: ...") on the first request
of a process whose event loop saw no lifespan.startup. A server that sends the lifespan must
not log it, and then its async views use the pooled client, whose aiohttp session prints
"Unclosed client session" when the process ends without the lifespan's shutdown closing it
(test_a_pooled_client_left_open_says_so shows that check can fail). Daphne sends no lifespan:
it must log the warning, once per process.

uvicorn is a requirement of the project; daphne, hypercorn and granian come from
bench/requirements.txt (make bench-install). A test whose server is missing is skipped with the
reason, except under CI (the CI variable is set), where it fails.
"""

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests import servers

pytestmark = pytest.mark.server

ASGI = "asyncdemo.asgi:application"
WSGI = "asyncdemo.wsgi:application"
STOP_WITHIN = 10  # seconds from SIGTERM to exit
NO_LIFESPAN = "no ASGI lifespan:"  # the start of views_demo.lifespan.NO_LIFESPAN
UNCLOSED = ("Unclosed client session", "Unclosed connector")
QUESTIONS = ["/demo/sync_question/?question=1", "/demo/async_question/?question=1"]


@dataclass(frozen=True)
class Server:
    name: str
    package: str  # the module that must be importable
    argv: Callable[[int], list[str]]
    upstream_view: str
    lifespan: bool | None  # None: WSGI, where there is no lifespan to send
    # The exit code of a clean stop on SIGTERM. uvicorn (0.54, one process) shuts down, then
    # raises the signal it caught again so its parent sees it (uvicorn/server.py, capture_signals).
    clean_exit: int = 0


def python_m(*args: str) -> list[str]:
    return [sys.executable, "-m", *args]


SERVERS = [
    Server(
        "uvicorn",
        "uvicorn",
        lambda port: python_m("uvicorn", ASGI, "--host", "127.0.0.1", "--port", str(port)),
        "/demo/async_upstream/?delay=50",
        lifespan=True,
        clean_exit=-signal.SIGTERM,
    ),
    Server(
        "hypercorn",
        "hypercorn",
        lambda port: python_m("hypercorn", ASGI, "--bind", f"127.0.0.1:{port}", "--worker-class", "uvloop"),
        "/demo/async_upstream/?delay=50",
        lifespan=True,
    ),
    Server(
        "daphne",
        "daphne",
        lambda port: python_m("daphne", "-b", "127.0.0.1", "-p", str(port), ASGI),
        "/demo/async_upstream/?delay=50",
        lifespan=False,
    ),
    Server(
        "granian-asgi",
        "granian",
        lambda port: python_m(
            "granian", ASGI, "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port)
        ),
        "/demo/async_upstream/?delay=50",
        lifespan=True,
    ),
    Server(
        "granian-wsgi",
        "granian",
        lambda port: python_m(
            "granian", WSGI, "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port)
        ),
        "/demo/sync_upstream/?delay=50",
        lifespan=None,
    ),
]


def require(package: str) -> None:
    """Skip the test when `package` is not installed; fail it under CI."""
    if importlib.util.find_spec(package) is None:
        reason = f"{package} is not installed: pip install -r bench/requirements.txt (make bench-install)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run this test", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def upstream_url() -> Iterator[str]:
    with servers.slow_upstream() as url:
        yield url


@pytest.fixture(scope="module")
def server_env(tmp_path_factory, upstream_url) -> Iterator[dict[str, str]]:
    """A migrated, seeded database (as tests.servers.uvicorn_server makes one) and the slow upstream."""
    with servers.fresh_database(tmp_path_factory.mktemp("servers")) as database:
        env = {
            **database,
            "DJANGO_SETTINGS_MODULE": "asyncdemo.settings",
            "UPSTREAM_URL": upstream_url,
            # Warnings only: the lifespan's, and whatever else goes wrong.
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        for command in (["migrate", "--no-input"], ["seed_demo"]):
            subprocess.run(
                [sys.executable, "manage.py", *command, "--verbosity", "0"],
                cwd=servers.ROOT,
                env={**os.environ, **env},
                check=True,
                stdout=subprocess.DEVNULL,
                timeout=120,
            )
        yield env


def get_ok(url: str, paths: list[str]) -> None:
    for path in paths:
        response = httpx.get(url + path, timeout=10)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])


def stop(process: subprocess.Popen) -> int:
    """SIGTERM the server; return its exit code, failing if it takes longer than STOP_WITHIN."""
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=STOP_WITHIN)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {STOP_WITHIN} s after SIGTERM:\n{process.log()[-3000:]}")


@pytest.mark.parametrize("server", SERVERS, ids=lambda s: s.name)
def test_server_answers_and_stops_cleanly(server, server_env):
    """answers an upstream call and both question views, exits 0 on SIGTERM, lifespan as documented."""
    require(server.package)
    port = servers.free_port()
    url = f"http://127.0.0.1:{port}"
    with servers.running(server.argv(port), probe=f"{url}/demo/sync_hello/", env=server_env) as process:
        get_ok(url, [server.upstream_view, *QUESTIONS])
        code = stop(process)
    log = process.log()
    assert code == server.clean_exit, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    # Each record may reach two handlers (the project's and the server's root logger).
    warnings = log.count(NO_LIFESPAN)
    if server.lifespan is False:
        # One process, one warning, on its first request: not on each of the four or more.
        assert 1 <= warnings <= 2, log[-3000:]
    else:
        assert warnings == 0, log[-3000:]
    if server.lifespan:
        # The views used the pooled client; the lifespan's shutdown closed it.
        assert not [text for text in UNCLOSED if text in log], log[-3000:]


def test_a_pooled_client_left_open_says_so(server_env):
    """the check above can fail: a process that opens the pooled client and never closes it prints it."""
    code = (
        "import asyncio, sys, django\n"
        "django.setup()\n"
        "from views_demo import clients\n"
        "async def main():\n"
        "    client = await clients.aopen_client()\n"
        "    (await client.get(sys.argv[1] + '/delay?ms=0')).raise_for_status()\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, server_env["UPSTREAM_URL"]],
        cwd=servers.ROOT,
        env={**os.environ, **server_env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert UNCLOSED[0] in done.stderr


def children(pid: int) -> list[int]:
    with contextlib.suppress(FileNotFoundError):
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return []


def test_benchmark_runs_two_daphnes_on_one_socket_and_stops_both(server_env):
    """bench's daphne contestant: 2 daphnes share the port; SIGTERM to the launcher stops both."""
    require("daphne")
    port = servers.free_port()
    url = f"http://127.0.0.1:{port}"
    argv = python_m("bench.contestants", "daphne", "--port", str(port), "--workers", "2")
    with servers.running(argv, probe=f"{url}/demo/sync_hello/", env=server_env) as process:
        daphnes = children(process.pid)
        assert len(daphnes) == 2
        get_ok(url, ["/demo/async_upstream/?delay=50"] * 4)
        code = stop(process)
    log = process.log()
    assert code == 0, log[-3000:]
    assert not [pid for pid in daphnes if Path(f"/proc/{pid}").exists()]
    # Once per process (twice if two handlers print it), not once per request.
    assert 1 <= log.count(NO_LIFESPAN) <= 4, log[-3000:]


def test_benchmark_daphnes_stop_together_when_one_dies(server_env):
    """bench's daphne launcher: when one daphne dies, it stops the other, says so and exits 1."""
    require("daphne")
    port = servers.free_port()
    argv = python_m("bench.contestants", "daphne", "--port", str(port), "--workers", "2")
    with servers.running(argv, probe=f"http://127.0.0.1:{port}/demo/sync_hello/", env=server_env) as process:
        first, second = children(process.pid)
        os.kill(first, signal.SIGKILL)
        code = process.wait(timeout=STOP_WITHIN)
    assert code == 1, process.log()[-3000:]
    assert not Path(f"/proc/{second}").exists()
    assert "a daphne exited on its own; stopping the others" in process.log()
