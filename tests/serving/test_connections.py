"""
Database connections under ASGI, measured against a real uvicorn: the lab's burst
(lab/connections.py) sends C requests at once to the database views and counts the
connections PostgreSQL has open for the database (pg_stat_activity).

The pool caps them at its size per worker process; a pool smaller than the burst makes requests
wait, then answer 503 with a short reason once the pool's timeout has passed; with Django's
CONN_MAX_AGE and no pool, the thread per request piles connections up. PostgreSQL only (the
SQLite pitfall of a request cancelled mid-transaction is at the end, SQLite or not):

    DATABASE_URL=postgres://... .venv/bin/python -m pytest -q tests/serving/test_connections.py
"""

import contextlib
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from django.urls import reverse

from tests import servers

POSTGRESQL = urlsplit(os.environ.get("DATABASE_URL", "")).scheme in {"postgres", "postgresql"}
needs_postgresql = pytest.mark.skipif(
    not POSTGRESQL, reason="counting connections needs PostgreSQL: set DATABASE_URL=postgres://..."
)
URL = reverse("lab:connections")
TIMED_OUT = "503 database unavailable: timed out waiting for a pooled connection"


def burst(url: str, **form: int) -> list[dict]:
    """Run the lab's burst on the server at `url`; return its figures for each view."""
    token = servers.csrf_token(url)
    response = httpx.post(
        url + URL,
        data=form,
        cookies={"csrftoken": token},
        headers={"X-CSRFToken": token},
        timeout=2 * form["seconds"] + 10,  # a burst per view, each bounded by `seconds`
    )
    assert response.status_code == 200, response.text
    start = response.text.index(">", response.text.index('<script id="connections-figures"')) + 1
    return json.loads(response.text[start : response.text.index("</script>", start)])


@contextlib.contextmanager
def waiting_briefly(tmp_path, *, size: int, timeout: float) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run uvicorn with a pool of `size` that a request waits `timeout` seconds for; yield its URL.

    servers.uvicorn_server would pass the timeout to manage.py migrate too, which fails when it
    is shorter than opening the first connection takes; here only the server gets it.
    """
    settings_module = os.environ.get("DJANGO_SETTINGS_MODULE", "asyncdemo.settings")
    with servers.fresh_database(tmp_path) as database:
        env = {**os.environ, **database, "DJANGO_SETTINGS_MODULE": settings_module}
        for command in (["migrate", "--no-input"], ["seed_demo"]):
            manage = [sys.executable, "manage.py", *command, "--verbosity", "0"]
            subprocess.run(manage, cwd=servers.ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        port = servers.free_port()
        url = f"http://127.0.0.1:{port}"
        args = [sys.executable, "-m", "uvicorn", servers.asgi_app_of(settings_module), "--port", str(port)]
        pool = {"DATABASE_POOL_SIZE": str(size), "DATABASE_POOL_TIMEOUT": str(timeout)}
        with servers.running(args, probe=f"{url}/demo/sync_hello/", env={**env, **pool}) as process:
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
