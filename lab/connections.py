"""
The connections burst: this server sends C requests at once to a database view of its own,
each view in turn, and counts the connections PostgreSQL has open for this database and user
(pg_stat_activity) before, at the peak and after, beside the peak of threads and how many
requests waited for a pooled connection or answered 503.

It goes only to the server's own address and the views' reversed paths, and has the load
run's guard (lab/views.py `connections`). The rule the figures support is in docs/running.md,
"Database connections under ASGI".
"""

import asyncio
import threading
import time
from collections.abc import Callable

import httpx
import psycopg
from asgiref.sync import sync_to_async
from django.db import connections
from django.urls import reverse

from lab import loadrun
from views_demo.params import IntParam

CONCURRENCY = IntParam("concurrency", default=50, minimum=1, maximum=100, help="requests sent at once")
REQUESTS = IntParam("requests", default=200, minimum=1, maximum=500, help="requests to each view")
SECONDS = IntParam("seconds", default=25, minimum=1, maximum=30, help="time limit for each view, in seconds")
# A sync view (a thread per request under ASGI as Django ships) and its async twin (one thread
# per sync_to_async call): both borrow a connection from the pool for their one query.
VIEWS = ("views_demo:sync_question", "views_demo:async_question")
SAMPLE_SECONDS = 0.01  # how often the connections are counted while a view runs
SETTLE_SECONDS = 0.5  # after a view, the time given to its threads to hand their connections back

# One burst at a time in this process, for the same reason as the load run's lock.
running = threading.Lock()

# The options of Django's DATABASES entry that are not libpq's.
DJANGO_OPTIONS = {"pool", "isolation_level", "server_side_binding", "assume_role"}


def on_postgresql() -> bool:
    return connections["default"].vendor == "postgresql"


def pool_settings() -> dict:
    """Return what settings.py gave this server's pool and CONN_MAX_AGE, for the page."""
    entry = connections["default"].settings_dict
    pool = entry.get("OPTIONS", {}).get("pool") or {}
    return {
        "pooled": bool(pool),
        "min_size": pool.get("min_size") if isinstance(pool, dict) else None,
        "max_size": pool.get("max_size") if isinstance(pool, dict) else None,
        "timeout": pool.get("timeout") if isinstance(pool, dict) else None,
        "conn_max_age": entry.get("CONN_MAX_AGE"),
    }


def conninfo() -> str:
    """Return libpq's connection string for the database the views use, without Django's options."""
    entry = connections["default"].settings_dict
    options = {key: value for key, value in entry.get("OPTIONS", {}).items() if key not in DJANGO_OPTIONS}
    named = {"dbname": entry["NAME"], "user": entry["USER"], "password": entry["PASSWORD"]}
    named |= {"host": entry["HOST"], "port": entry["PORT"]}
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in named.items() if v}, **options)


# Counted by PostgreSQL: every session of this database and user but the counter's own, so
# every process of this server (each worker's pool) and anything else logged in as the user.
COUNT = (
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND usename = current_user AND pid <> pg_backend_pid()"
)


async def count(counter: psycopg.AsyncConnection) -> int:
    cursor = await counter.execute(COUNT)
    return (await cursor.fetchone())[0]


def pool_stats(*, reset: bool) -> dict[str, int]:
    """Return the pool's counters (psycopg_pool's get_stats) in this process; with `reset`, zero them."""
    pool = connections["default"].pool
    if pool is None:
        return {}
    return pool.pop_stats() if reset else pool.get_stats()


class Peak:
    """Count the connections every SAMPLE_SECONDS while a view runs and keep the most."""

    def __init__(self, counter: psycopg.AsyncConnection, start: int) -> None:
        self.counter = counter
        self.most = start

    async def watch(self) -> None:
        while True:
            self.most = max(self.most, await count(self.counter))
            await asyncio.sleep(SAMPLE_SECONDS)


def status_and_reason(response: httpx.Response) -> str:
    """Name a failed answer by its status and the reason the view gave (its JSON "error")."""
    try:
        body = response.json()
    except ValueError:  # not JSON
        body = None
    reason = (body.get("error") or "") if isinstance(body, dict) else ""
    return f"{response.status_code} {reason}".strip()


async def burst(
    client: httpx.AsyncClient,
    counter: psycopg.AsyncConnection,
    name: str,
    *,
    concurrency: int,
    total: int,
    seconds: float,
    threads: Callable[..., dict[str, int]],
) -> dict:
    """Send `total` requests to view `name`, `concurrency` at a time (loadrun.batch); return what they did."""
    url = f"{reverse(name)}?question=1"
    before = await count(counter)
    threads_before = threads(reset=True)["threads"]
    await sync_to_async(pool_stats)(reset=True)
    peak = Peak(counter, before)
    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        watcher = group.create_task(peak.watch())
        tally = await loadrun.batch(
            client, url, concurrency=concurrency, total=total, seconds=seconds, failure=status_and_reason
        )
        watcher.cancel()
    elapsed = time.perf_counter() - started
    stats = await sync_to_async(pool_stats)(reset=False)
    await asyncio.sleep(SETTLE_SECONDS)
    answers = ({"200": len(tally.latencies)} if tally.latencies else {}) | dict(tally.errors)
    return {
        "name": name.partition(":")[2],
        "sent": tally.started,
        "answers": answers,
        # The requests still in flight at the time limit were cancelled.
        "unanswered": tally.started - sum(answers.values()),
        "seconds": round(elapsed, 2),
        "connections_before": before,
        "connections_peak": peak.most,
        "connections_after": await count(counter),
        "threads_before": threads_before,
        "threads_peak": threads(reset=False)["peak"],
        # This process's pool: requests that found no idle connection and queued, their total
        # wait, and the requests that gave up (the pool's timeout).
        "waited": stats.get("requests_queued", 0),
        "wait_ms": stats.get("requests_wait_ms", 0),
        "pool_timeouts": stats.get("requests_errors", 0),
    }


async def arun(
    *, origin: str, host: str, concurrency: int, total: int, seconds: float, threads: Callable[..., dict]
) -> list[dict]:
    """Burst each of VIEWS in turn on this server; return each one's figures."""
    results = []
    async with (
        await psycopg.AsyncConnection.connect(conninfo(), autocommit=True) as counter,
        loadrun.open_client(origin, host, concurrency, seconds) as client,
    ):
        for name in VIEWS:
            results.append(
                await burst(
                    client,
                    counter,
                    name,
                    concurrency=concurrency,
                    total=total,
                    seconds=seconds,
                    threads=threads,
                )
            )
    return results
