"""
What two uvicorn workers share, seen from outside: the project served by `uvicorn --workers 2`.

The test tells the workers apart by the process that holds each connection's socket (Linux's
/proc), so nothing in the project reports a PID. What it shows:

- the cache: LocMemCache is one per process, so one key misses once in each worker; with Redis
  (REDIS_URL) every worker reads the same cache, and the key misses once in all;
- the database pool: one per process, so PostgreSQL sees DATABASE_POOL_SIZE times the workers.

It prints its figures:

    .venv/bin/python -m pytest -s tests/serving/test_workers.py
    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python -m pytest -s \
        tests/serving/test_workers.py
"""

import asyncio
import collections
import http.client
import os
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
from django.urls import reverse

from tests import servers

pytestmark = pytest.mark.server

WORKERS = 2
OPTIONS = ("--workers", str(WORKERS))
# The cache pair's key: one delay, forgotten first, so a Redis kept from an earlier run starts cold.
DELAY = 7
# Requests, each over a new connection, before giving up on one worker ever answering.
MOST_REQUESTS = 300
POOL_SIZE = 4
DATABASE_URL = os.environ.get("DATABASE_URL", "")
on_postgresql = pytest.mark.skipif(
    urlsplit(DATABASE_URL).scheme not in {"postgres", "postgresql"},
    reason="a database pool per worker needs PostgreSQL: set DATABASE_URL=postgres://...",
)


def worker_pids(server: int) -> set[int]:
    """Return the PIDs of the processes uvicorn's supervisor `server` started."""
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == server:
            children.add(int(stat.parent.name))
    return children


def socket_owner(local_port: int, remote_port: int, pids: set[int]) -> int | None:
    """Return which of `pids` holds the TCP socket from `local_port` to `remote_port`, if any."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if (int(local.rsplit(":", 1)[1], 16), int(remote.rsplit(":", 1)[1], 16)) == (
                local_port,
                remote_port,
            ):
                inodes.add(f"socket:[{inode}]")
    for pid in pids:
        fds = Path(f"/proc/{pid}/fd")
        for fd in fds.iterdir() if fds.exists() else ():
            try:
                if os.readlink(fd) in inodes:
                    return pid
            except OSError:  # closed meanwhile
                continue
    return None


def ask(url: str, path: str, pids: set[int]) -> tuple[int | None, str]:
    """GET `path` over a new connection; return the worker that answered and its X-Cache header."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        assert response.status == 200, response.status
        # The connection is still open (keep-alive): its server end is in the worker that answered.
        worker = socket_owner(parts.port, connection.sock.getsockname()[1], pids)
        return worker, response.getheader("X-Cache")
    finally:
        connection.close()


def cache_answers(url: str, server: int) -> list[tuple[int, str]]:
    """Ask the cache pair for one key until every worker has answered it twice; return (worker, X-Cache)."""
    path = reverse("views_demo:sync_cached") + f"?delay={DELAY}"
    answers = []
    for _ in range(MOST_REQUESTS):
        # A worker that is still starting holds no connection yet: look for them again each time.
        worker, status = ask(url, path, worker_pids(server))
        assert worker is not None, "no worker holds the connection"
        answers.append((worker, status))
        per_worker = collections.Counter(worker for worker, _ in answers)
        if len(per_worker) == WORKERS and min(per_worker.values()) >= 2:
            return answers
    raise AssertionError(f"{MOST_REQUESTS} requests did not reach every worker twice: {per_worker}")


def misses_per_worker(answers: list[tuple[int, str]]) -> dict[int, int]:
    return {worker: [status for w, status in answers if w == worker].count("miss") for worker, _ in answers}


def test_locmem_cache_is_one_per_worker(tmp_path, capsys):
    """With LocMemCache a key misses once in each worker: what one stored, the other cannot see."""
    with servers.uvicorn_server(tmp_path, env={"REDIS_URL": ""}, options=OPTIONS) as (url, process):
        answers = cache_answers(url, process.pid)

    misses = misses_per_worker(answers)
    with capsys.disabled():
        print(f"\nLocMemCache, {WORKERS} workers: {len(answers)} requests, one key; misses: {misses}")
    assert list(misses.values()) == [1] * WORKERS
    # Each worker's first answer is its miss; every later one a hit from its own cache.
    for worker in misses:
        statuses = [status for w, status in answers if w == worker]
        assert statuses == ["miss"] + ["hit"] * (len(statuses) - 1)


def test_redis_cache_is_shared_by_the_workers(tmp_path, redis_url, capsys):
    """With REDIS_URL the workers share one cache: a key misses once in all, then hits in every worker."""
    with servers.uvicorn_server(tmp_path, env={"REDIS_URL": redis_url}, options=OPTIONS) as (url, process):
        servers.forget(url, DELAY)
        answers = cache_answers(url, process.pid)

    misses = misses_per_worker(answers)
    with capsys.disabled():
        print(f"\nRedisCache, {WORKERS} workers: {len(answers)} requests, one key; misses: {misses}")
    assert sum(misses.values()) == 1
    assert [status for _, status in answers] == ["miss"] + ["hit"] * (len(answers) - 1)


async def read_questions(url: str, requests: int) -> None:
    """GET the question pair `requests` times at once, each over its own connection."""
    limits = httpx.Limits(max_connections=requests, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        paths = [reverse(f"views_demo:{name}") for name in ("sync_question", "async_question")]
        responses = await asyncio.gather(
            *(client.get(paths[i % 2], params={"question": 1}) for i in range(requests))
        )
    assert {response.status_code for response in responses} == {200}


def pool_connections(database_url: str, pids: set[int]) -> collections.Counter:
    """Count the server's database's client sessions in pg_stat_activity, per worker holding them."""
    name = urlsplit(database_url).path.removeprefix("/")
    query = "SELECT client_port FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'"
    with psycopg.connect(DATABASE_URL, autocommit=True) as admin:
        ports = [port for (port,) in admin.execute(query, [name]).fetchall()]
    port = urlsplit(database_url).port or 5432
    return collections.Counter(socket_owner(client_port, port, pids) for client_port in ports)


@on_postgresql
def test_each_worker_keeps_its_own_database_pool(tmp_path, capsys):
    """PostgreSQL sees DATABASE_POOL_SIZE connections from each worker: the pool is one per process."""
    with servers.fresh_database(tmp_path) as database:
        env = {**database, "DATABASE_POOL_SIZE": str(POOL_SIZE)}
        with servers.uvicorn_server(tmp_path, env=env, options=OPTIONS) as (url, process):
            seen = collections.Counter()
            most = 0
            deadline = time.monotonic() + 30
            # Enough requests at once to fill both pools; the kernel spreads the connections.
            while sum(seen.values()) < POOL_SIZE * WORKERS and time.monotonic() < deadline:
                asyncio.run(read_questions(url, 40))
                seen = pool_connections(database["DATABASE_URL"], worker_pids(process.pid))
                most = max(most, sum(seen.values()))

    with capsys.disabled():
        print(
            f"\nPostgreSQL sessions with DATABASE_POOL_SIZE={POOL_SIZE} and {WORKERS} workers: "
            f"{sum(seen.values())} ({', '.join(f'worker {pid}: {n}' for pid, n in seen.items())}), "
            f"at most {most}"
        )
    assert None not in seen, "a session no worker holds"
    assert sorted(seen.values()) == [POOL_SIZE] * WORKERS
    assert most == POOL_SIZE * WORKERS
