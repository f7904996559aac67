"""
Database connections under ASGI, measured against a real uvicorn: the lab's burst
(lab/connections.py) sends C requests at once to the database views and counts the
connections PostgreSQL has open for the database (pg_stat_activity).

The pool caps them at its size per worker process; a pool smaller than the burst makes requests
wait, then answer 503 with a short reason once the pool's timeout has passed; with Django's
CONN_MAX_AGE and no pool, the thread per request piles connections up. PostgreSQL only:

    DATABASE_URL=postgres://... .venv/bin/python -m pytest -q tests/serving/test_connections.py

At the end, on SQLite whatever DATABASE_URL says: the write lock a request leaves when its task
is cancelled mid-transaction, and the shape of code that cannot leave one.
"""

import asyncio
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.module_loading import import_string

from tests import servers

POSTGRESQL = urlsplit(os.environ.get("DATABASE_URL", "")).scheme in {"postgres", "postgresql"}
needs_postgresql = pytest.mark.skipif(
    not POSTGRESQL, reason="counting connections needs PostgreSQL: set DATABASE_URL=postgres://..."
)
TIMED_OUT = "503 database unavailable: timed out waiting for a pooled connection"


def burst(url: str, **form: int) -> list[dict]:
    """Run the lab's burst on the server at `url`; return its figures for each view."""
    token = servers.csrf_token(url)
    response = httpx.post(
        url + reverse("lab:connections"),
        data=form,
        cookies={"csrftoken": token},
        headers={"X-CSRFToken": token},
        timeout=2 * form["seconds"] + 10,  # a burst per view, each bounded by `seconds`
    )
    assert response.status_code == 200, response.text
    start = response.text.index(">", response.text.index('<script id="connections-figures"')) + 1
    return json.loads(response.text[start : response.text.index("</script>", start)])


@contextlib.contextmanager
def serving(
    database: dict[str, str], app: list[str], *, env: dict[str, str], server_env: dict[str, str]
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Migrate and seed `database` with `env`, then run uvicorn on `app` with `server_env` too.

    servers.uvicorn_server gives manage.py the server's variables; some here would fail it.
    """
    env = {**os.environ, **database, **env}
    for command in (["migrate", "--no-input"], ["seed_demo"]):
        manage = [sys.executable, "manage.py", *command, "--verbosity", "0"]
        subprocess.run(manage, cwd=servers.ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    port = servers.free_port()
    url = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", "uvicorn", *app, "--port", str(port)]
    with servers.running(args, probe=f"{url}/demo/sync_hello/", env={**env, **server_env}) as process:
        yield url, process


@contextlib.contextmanager
def waiting_briefly(tmp_path, *, size: int, timeout: float) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run uvicorn with a pool of `size` that a request waits `timeout` seconds for; yield its URL.

    Only the server gets the timeout: manage.py migrate fails when it is shorter than opening
    the first connection takes.
    """
    settings_module = os.environ.get("DJANGO_SETTINGS_MODULE", "asyncdemo.settings")
    app = [servers.asgi_app_of(settings_module)]
    pool = {"DATABASE_POOL_SIZE": str(size), "DATABASE_POOL_TIMEOUT": str(timeout)}
    with (
        servers.fresh_database(tmp_path) as database,
        serving(database, app, env={"DJANGO_SETTINGS_MODULE": settings_module}, server_env=pool) as (
            url,
            process,
        ),
    ):
        # The pool opens its first connection in the background: wait for it, a few tries.
        for _ in range(50):
            if httpx.get(f"{url}/demo/sync_question/?question=1", timeout=5).status_code == 200:
                break
            time.sleep(0.1)
        yield url, process


def show(capsys, title: str, results: list[dict]) -> None:
    with capsys.disabled():
        print(f"\n{title}:")
        for result in results:
            print(
                f"  {result['name']}: {result['answers']}, connections {result['connections_before']} "
                f"before, {result['connections_peak']} at the peak, {result['connections_after']} after; "
                f"threads {result['threads_before']} before, {result['threads_peak']} at the peak; "
                f"{result['waited']} waited ({result['wait_ms']} ms in all), "
                f"{result['pool_timeouts']} gave up"
            )


@needs_postgresql
@pytest.mark.server
def test_connections_stay_within_the_pool_size_times_the_workers(tmp_path, capsys):
    """50 requests at once to 2 workers with pools of 4 open at most 8 connections, and all answer 200."""
    env = {"DATABASE_POOL_SIZE": "4"}
    with servers.uvicorn_server(tmp_path, env=env, options=("--workers", "2")) as (url, _):
        results = burst(url, concurrency=50, requests=200, seconds=30)
    show(capsys, "pool of 4, 2 workers, 200 requests 50 at once", results)
    for result in results:
        assert result["answers"] == {"200": 200}
        assert result["connections_peak"] <= 4 * 2


@needs_postgresql
@pytest.mark.server
def test_a_pool_smaller_than_the_burst_answers_503_once_its_timeout_passes(tmp_path, capsys):
    """With a pool of 1 and a 10 ms timeout, 50 requests at once wait, then some answer 503 with the
    short reason; every request is answered, none hangs, and one connection is open at most."""
    with waiting_briefly(tmp_path, size=1, timeout=0.01) as (url, process):
        results = burst(url, concurrency=50, requests=200, seconds=30)
        log = process.log()
    show(capsys, "pool of 1, 10 ms timeout, 200 requests 50 at once", results)
    for result in results:
        assert set(result["answers"]) <= {"200", TIMED_OUT}, result["answers"]
        assert sum(result["answers"].values()) == 200 and result["unanswered"] == 0
        assert result["connections_peak"] <= 1
        assert result["waited"] > 0
    assert sum(result["answers"].get(TIMED_OUT, 0) for result in results) > 0
    assert "PoolTimeout" in log  # the driver's own words stay in the log


@needs_postgresql
@pytest.mark.server
def test_conn_max_age_without_a_pool_piles_connections_up(tmp_path, monkeypatch, capsys):
    """With CONN_MAX_AGE = 60 and no pool, each request's thread keeps a connection of its own after
    the request: more stay open after the burst than requests were ever in flight at once."""
    (tmp_path / "persistent_settings.py").write_text(
        textwrap.dedent(
            """\
            from asyncdemo.settings import *  # noqa: F403
            from asyncdemo.settings import DATABASES

            # What the project refuses: persistent connections, no pool, a thread per request.
            options = {k: v for k, v in DATABASES["default"]["OPTIONS"].items() if k != "pool"}
            DATABASES = {"default": {**DATABASES["default"], "OPTIONS": options, "CONN_MAX_AGE": 60}}
            """
        )
    )
    monkeypatch.syspath_prepend(tmp_path)  # uvicorn_server reads its ASGI_APPLICATION here too
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    env = {"DJANGO_SETTINGS_MODULE": "persistent_settings", "PYTHONPATH": path}
    with servers.uvicorn_server(tmp_path, env=env) as (url, _):
        results = burst(url, concurrency=4, requests=40, seconds=30)
    show(capsys, "CONN_MAX_AGE=60, no pool, 40 requests 4 at once", results)
    sync = results[0]
    assert sync["answers"] == {"200": 40}
    # Four in flight at once needed four; the threads that ended left theirs open.
    assert sync["connections_after"] > sync["connections_before"] + 4


# SQLite: a request cancelled mid-transaction. Its server's views, URLconf and ASGI application.

CUT_OFF = 0.5  # seconds a request under /cut-off/ may take before its task is cancelled
# Seconds the other process's write waits for the lock: settings.py gives the server's 20.
SQLITE_TIMEOUT = 1


def begin_vote() -> None:
    """Count a vote inside an atomic block and leave the block open."""
    from views_demo.models import Choice  # uvicorn imports this module before Django's setup

    transaction.atomic().__enter__()
    Choice.objects.filter(pk=1).update(votes=F("votes") + 1)


async def async_vote_across_await_badly(request: HttpRequest) -> HttpResponse:
    """The pitfall: a transaction begun in one sync call and held across an await.

    Django as it ships runs every sync call of a request on the request's own thread, so the
    transaction is still open in the next call; in between, the write lock is held. Cut off
    here, the task is cancelled and request_finished never runs: nothing closes the connection,
    and the lock stays until the garbage collector frees it (the next collection in this process,
    so at once if it is busy, never while it is idle).
    """
    await sync_to_async(begin_vote)()
    await asyncio.sleep(30)
    return HttpResponse("never reached")


def slow_vote() -> None:
    """Count a vote in one transaction that takes twice the cut-off."""
    from views_demo.models import Choice

    with transaction.atomic():
        Choice.objects.filter(pk=1).update(votes=F("votes") + 1)
        time.sleep(2 * CUT_OFF)


async def async_vote_in_one_call(request: HttpRequest) -> HttpResponse:
    """The fix: the whole unit, transaction and all, handed to sync_to_async once.

    Cancelled while the call runs, sync_to_async waits for its thread to finish the call (the
    transaction commits or rolls back) before the cancellation goes on; no lock outlives it.
    """
    await sync_to_async(slow_vote)()
    return HttpResponse("counted")


def cut_off_application():
    """uvicorn's --factory: the settings' ASGI application, with each request under /cut-off/
    cancelled after CUT_OFF s and answered 504, as a timeout around the application cuts one."""
    application = import_string(settings.ASGI_APPLICATION)

    async def app(scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith("/cut-off/"):
            return await application(scope, receive, send)
        try:
            async with asyncio.timeout(CUT_OFF):
                await application(scope, receive, send)
        except TimeoutError:
            await send({"type": "http.response.start", "status": 504, "headers": []})
            await send({"type": "http.response.body", "body": b"cut off"})

    return app


@pytest.mark.server
@pytest.mark.parametrize("shape", ["across-await", "one-call"])
def test_a_request_cut_off_mid_transaction_leaves_the_write_lock_only_across_an_await(tmp_path, shape):
    """On SQLite, a request cancelled with a transaction held across an await leaves the write lock
    under Django as it ships: another process's write fails with "database is locked". The tuned
    profile rolls it back; a transaction inside one sync_to_async call leaves no lock either."""
    base = os.environ.get("DJANGO_SETTINGS_MODULE", "asyncdemo.settings")
    (tmp_path / "cut_off_settings.py").write_text(
        textwrap.dedent(
            f"""\
            from {base} import *  # noqa: F403

            ROOT_URLCONF = "cut_off_urls"
            """
        )
    )
    (tmp_path / "cut_off_urls.py").write_text(
        textwrap.dedent(
            """\
            from django.urls import include, path

            from tests.serving import test_connections as views

            urlpatterns = [
                path("cut-off/across-await/", views.async_vote_across_await_badly),
                path("cut-off/one-call/", views.async_vote_in_one_call),
                path("", include("asyncdemo.urls")),
            ]
            """
        )
    )
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    env = {"DJANGO_SETTINGS_MODULE": "cut_off_settings", "PYTHONPATH": path, "DATABASE_URL": ""}
    database = {"SQLITE_PATH": str(tmp_path / "server.sqlite3")}
    app = ["tests.serving.test_connections:cut_off_application", "--factory"]
    with serving(database, app, env=env, server_env={}) as (url, process):
        cut_off = httpx.get(f"{url}/cut-off/{shape}/", timeout=30)
        # Another process writes: a second worker, the task worker, manage.py.
        writer = sqlite3.connect(database["SQLITE_PATH"], timeout=SQLITE_TIMEOUT)
        try:
            writer.execute("BEGIN IMMEDIATE")
            writer.rollback()
            write = "written"
        except sqlite3.OperationalError as error:
            write = str(error)
        finally:
            writer.close()
        log = process.log()

    assert cut_off.status_code == 504, log
    if shape == "across-await" and "tuned" not in settings.INSTALLED_APPS:
        assert write == "database is locked", log
    else:
        assert write == "written", log
