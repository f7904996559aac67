"""
When the database goes away under load: every session of the server's database ended mid-load,
or the PostgreSQL server itself restarted.

Votes go over each vote path to a real uvicorn on PostgreSQL. In one test, twice during the load
every backend of its database is terminated (pg_terminate_backend, as a failover or an operator
would); in the other, the cluster is restarted once (pg_ctlcluster, as root: an upgrade, a crash).
The votes in flight answer 503 with a short reason, the pool replaces its connections by itself,
and the count is exact: each choice gains as many votes as answered 200, none twice, and none
whose client was told it failed. PostgreSQL only; .ci/run's PostgreSQL pass runs it:

    DATABASE_URL=postgres://... .venv/bin/python -m pytest -q tests/serving/test_database_faults.py
"""

import asyncio
import collections
import os
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
from django.urls import reverse

from tests import servers

DATABASE_URL = os.environ.get("DATABASE_URL", "")
pytestmark = pytest.mark.skipif(
    urlsplit(DATABASE_URL).scheme not in {"postgres", "postgresql"},
    reason="ending a database's sessions needs PostgreSQL: set DATABASE_URL=postgres://...",
)

# Each path votes for its own choice of question 1, so a choice's count is that path's count:
# Django's ORM (sync, and through sync_to_async), the async ORM's two calls, the row lock.
PATHS = ("sync_vote", "async_vote", "async_vote_native", "sync_locked_vote")
VOTES_PER_PATH = 75
# Votes in flight at once: enough that some are mid-query when their sessions end.
AT_ONCE = 8
# End every session once a third of the votes have answered, and again at two thirds.
FAULTS_AFTER = (VOTES_PER_PATH * len(PATHS) // 3, VOTES_PER_PATH * len(PATHS) * 2 // 3)
# Votes per path after the load, each of which must count: the pool has recovered by itself.
VOTES_AFTER = 10
# Longer than the pool's 20 s wait for a connection (asyncdemo/settings.py), so a request the pool
# could not serve answers 503 rather than being cut by the client; any request slower is a hang.
REQUEST_TIMEOUT = 25
SHORT_REASONS = {
    "database unavailable: the server closed the connection",
    "database unavailable: no connection to the server",
    "database unavailable: timed out waiting for a pooled connection",
}
# A restart adds the moments the server refuses connections while it stops and starts.
RESTART_REASONS = {*SHORT_REASONS, "database unavailable: the server is starting up or shutting down"}


def database_name(url: str) -> str:
    return urlsplit(url).path.removeprefix("/")


def vote_counts(url: str) -> dict[int, int]:
    """Return the votes of each choice of question 1, read from the database itself."""
    with psycopg.connect(url) as connection:
        rows = connection.execute("SELECT id, votes FROM views_demo_choice WHERE question_id = 1")
        return dict(rows.fetchall())


async def end_sessions(name: str) -> int:
    """Terminate every session of database `name`; return how many were ended."""
    async with await psycopg.AsyncConnection.connect(DATABASE_URL, autocommit=True) as admin:
        # The same role may end its own sessions; an autovacuum worker is the superuser's.
        ended = await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid() AND usename = current_user",
            [name],
        )
        return sum(row[0] for row in await ended.fetchall())


def cluster() -> tuple[str, str] | None:
    """Return the (version, name) of the Debian cluster DATABASE_URL is served by, or None."""
    with psycopg.connect(DATABASE_URL) as connection:
        name = connection.execute("SHOW cluster_name").fetchone()[0]  # "15/main" on Debian
    version, _, cluster_name = name.partition("/")
    return (version, cluster_name) if cluster_name else None


def pg_ctlcluster(action: str, version: str, name: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["pg_ctlcluster", version, name, action], capture_output=True, text=True, timeout=120, check=False
    )


async def send_votes(
    url: str,
    token: str,
    plan: list[tuple[str, int]],
    *,
    fault: Callable[[], Awaitable[object]] | None = None,
    faults_after: tuple[int, ...] = FAULTS_AFTER,
) -> dict:
    """POST every (view, choice) of `plan`, AT_ONCE at a time, calling `fault` once each number of
    `faults_after` answers is reached; return the answers and what each fault returned."""
    in_flight = asyncio.Semaphore(AT_ONCE)
    answered = 0
    due = [asyncio.Event() for _ in faults_after]
    client = httpx.AsyncClient(
        base_url=url,
        cookies={"csrftoken": token},
        headers={"X-CSRFToken": token},
        timeout=REQUEST_TIMEOUT,
        limits=httpx.Limits(max_connections=AT_ONCE, keepalive_expiry=1),
    )

    async def vote(view: str, choice: int) -> tuple[str, int, int | str, str]:
        nonlocal answered
        async with in_flight:
            try:
                response = await client.post(
                    reverse(f"views_demo:{view}"), data={"question": 1, "choice": choice}
                )
            except httpx.HTTPError as exc:
                return view, choice, type(exc).__name__, ""
            finally:
                answered += 1
                for after, event in zip(faults_after, due, strict=True):
                    if answered >= after:
                        event.set()
        reason = response.json().get("error", "") if response.status_code != 200 else ""
        return view, choice, response.status_code, reason

    async def faults() -> list:
        outcomes = []
        for event in due:
            await event.wait()
            outcomes.append(await fault())
        return outcomes

    async with client, asyncio.timeout(90), asyncio.TaskGroup() as group:
        faulting = group.create_task(faults()) if fault else None
        answers = await asyncio.gather(*(vote(view, choice) for view, choice in plan))
    return {"answers": answers, "faults": faulting.result() if faulting else []}


def load_with_faults(
    tmp_path,
    fault_in: Callable[[str], Callable[[], Awaitable[object]]],
    faults_after: tuple[int, ...],
    capsys,
) -> dict:
    """Vote over every path on a fresh server, with `fault_in(database name)` called mid-load, then
    vote again; print and return each path's statuses, the votes it counted, the 503 reasons."""
    with (
        servers.fresh_database(tmp_path) as database,
        servers.uvicorn_server(tmp_path, env=database) as (url, process),
    ):
        token = servers.csrf_token(url)
        before = vote_counts(database["DATABASE_URL"])
        choice_of = dict(zip(PATHS, sorted(before), strict=True))
        plan = [(path, choice_of[path]) for _ in range(VOTES_PER_PATH) for path in PATHS]
        tail = [(path, choice_of[path]) for _ in range(VOTES_AFTER) for path in PATHS]
        started = time.perf_counter()
        fault = fault_in(database_name(database["DATABASE_URL"]))
        load = asyncio.run(send_votes(url, token, plan, fault=fault, faults_after=faults_after))
        after_load = asyncio.run(send_votes(url, token, tail))
        elapsed = time.perf_counter() - started
        after = vote_counts(database["DATABASE_URL"])
        log = process.log()

    answers = load["answers"] + after_load["answers"]
    statuses = {path: collections.Counter() for path in PATHS}
    for view, _, status, _ in answers:
        statuses[view][status] += 1
    counted = {path: after[choice_of[path]] - before[choice_of[path]] for path in PATHS}
    reasons = collections.Counter(reason for *_, status, reason in answers if status == 503)
    with capsys.disabled():
        print(f"\n{len(answers)} votes, {AT_ONCE} at a time, faults {load['faults']}, {elapsed:.1f} s:")
        for path in PATHS:
            print(f"  {path}: {dict(statuses[path])}, {counted[path]} counted")
        print(f"  503 reasons: {dict(reasons)}")
    assert all(status in {200, 503} for *_, status, _ in answers), statuses
    assert all(status == 200 for *_, status, _ in after_load["answers"]), "the pool did not recover"
    assert counted == {path: statuses[path][200] for path in PATHS}
    return {"faults": load["faults"], "reasons": reasons, "log": log}


@pytest.mark.server
def test_ending_every_session_mid_load_answers_503_and_counts_exactly(tmp_path, capsys):
    """Votes cut off by ended sessions answer 503 with a short reason, the pool recovers by itself,
    and each path counts exactly the votes it answered 200."""
    run = load_with_faults(tmp_path, lambda name: lambda: end_sessions(name), FAULTS_AFTER, capsys)

    assert sum(run["faults"]) > 0 and sum(run["reasons"].values()) > 0, "no vote met the fault"
    assert set(run["reasons"]) <= SHORT_REASONS, run["reasons"]
    # The driver's own text stays in the server's log.
    assert "terminating connection due to administrator command" in run["log"]


@pytest.mark.server
def test_restarting_the_server_mid_load_answers_503_and_counts_exactly(tmp_path, capsys):
    """Votes cut off by a restart of PostgreSQL answer 503 with a short reason, the pool reconnects
    by itself once the server is back, and each path counts exactly the votes it answered 200."""
    where = cluster()
    if where is None or shutil.which("pg_ctlcluster") is None or os.geteuid() != 0:
        pytest.skip("restarting PostgreSQL needs root and a Debian cluster (pg_ctlcluster)")

    async def restart() -> str:
        started = time.perf_counter()
        done = await asyncio.to_thread(pg_ctlcluster, "restart", *where)
        assert done.returncode == 0, done.stderr
        return f"restarted in {time.perf_counter() - started:.1f} s"

    try:
        run = load_with_faults(tmp_path, lambda name: restart, FAULTS_AFTER[:1], capsys)
    finally:
        # Whatever happened, leave the server running for the tests after this one.
        if pg_ctlcluster("status", *where).returncode != 0:
            pg_ctlcluster("start", *where)

    assert sum(run["reasons"].values()) > 0, "no vote met the restart"
    assert set(run["reasons"]) <= RESTART_REASONS, run["reasons"]
    # The driver's own text stays in the server's log, never in an answer.
    assert "database fault" in run["log"]
