"""
The published benchmark run (settings.BENCHMARK_RESULTS), read for the concepts and naive-choices pages.

Every number those pages show comes from that run's results.json, the file bench/run.py writes
and docs/benchmark/ publishes. The lab reads it with the few lines below and imports nothing
from bench, so the app a learner runs stands without the benchmark; whether async wins, ties or
loses follows the report's rule, and tests/lab/test_pages.py checks the two agree on the run.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

# Within this ratio of each other, two figures of one run on a shared machine are a tie. It is the
# report's rule (bench/report.py's TIE), kept here so that the lab needs nothing from bench.
TIE = 0.1
DATABASE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


# Reading the run


def read_run() -> dict | None:
    """Return the published run, or None when it is missing, broken or not a run."""
    try:
        results = json.loads(Path(settings.BENCHMARK_RESULTS).read_text())
    except (OSError, ValueError):
        return None
    return results if isinstance(results, dict) and "cells" in results else None


def shown_path() -> Path:
    """Return where the published run lives, as the pages cite it."""
    return Path(settings.BENCHMARK_RESULTS).relative_to(settings.BASE_DIR, walk_up=True)


def database_of(cell: dict) -> str:
    """Return the database a cell's server used (runs from before the database path had one: SQLite)."""
    return cell.get("database", "sqlite")


def databases_in(results: dict) -> list[str]:
    """Return the databases the run's cells used, SQLite first."""
    return [d for d in DATABASE_NAMES if any(database_of(c) == d for c in results["cells"])]


def find(
    results: dict, scenario: str, contestant: str, *, variant: str = "", database: str = "sqlite", **where
) -> dict | None:
    """Return the run's measured cell of this server and view at this load, or None.

    Only first rounds count: a run repeats some cells to take the median of their CPU, and its
    report's tables show the first.
    """
    for cell in results["cells"]:
        if (
            cell.get("status") == "ok"
            and not cell.get("round")
            and cell.get("scenario") == scenario
            and cell.get("contestant") == contestant
            and cell.get("variant", "") == variant
            and database_of(cell) == database
            and all(cell.get(key) == value for key, value in where.items())
        ):
            return cell
    return None


def verdict_of(ratio: float) -> str:
    """Return whether async wins, ties or loses, from its req/s over the threads' in one run."""
    return "wins" if ratio >= 1 + TIE else "loses" if ratio <= 1 - TIE else "ties"


# The concepts page's figures


@dataclass(frozen=True)
class Load:
    """One load of the benchmark, and the servers the page shows under it."""

    scenario: str
    title: str
    contestants: tuple[str, ...]
    concurrency: int | None = None
    delay_ms: int | None = None
    database: str = "sqlite"


SERVERS = {
    "gunicorn-sync": "gunicorn, 2 sync workers (WSGI)",
    "gunicorn-gthread": "gunicorn, 2x50 threads (WSGI)",
    "uvicorn-async-stock": "uvicorn, async views, Django as it ships",
    "uvicorn-async": "uvicorn, async views, tuned profile",
}
THREADED = ("gunicorn-gthread", "uvicorn-async-stock", "uvicorn-async")
SEED = ("gunicorn-sync", *THREADED)

# Why async wins, ties or loses under each load, as the page says it under the load's title.
WHY = {
    "upstream": "a sync view holds one of gthread's 100 threads for its whole wait; "
    "a waiting async view holds none",
    "seed": "each request is a few ms of CPU and a short query: no wait for async to overlap, "
    "and the async twin pays for handing its unit of work to a thread",
    "read": "one short query per request: no wait to overlap, and a thread hop on top",
    "locked": "every write waits for the row's lock inside the database, holding a thread and a "
    "connection in both styles: async cannot overlap a wait it has handed to a thread",
    "checked": "each request waits D on the upstream before its write: the sync twin holds one of "
    "gthread's threads for the whole wait, the async one holds no thread until it writes",
}


def loads(databases: list[str]) -> list[Load]:
    """The loads the page shows: two long-wait ones, then the database path on each database."""
    shown = [
        Load("upstream", "1,000 connections, each request waiting 1 s on the upstream", THREADED, 1000, 1000),
        Load("upstream", "100 connections, each request waiting 100 ms", THREADED, 100, 100),
    ]
    for database in databases:
        on = f"on {DATABASE_NAMES[database]}"
        shown += [
            Load("seed", f"200 users reading a poll and voting, {on}", SEED, database=database),
            Load("read", f"100 connections reading one question, {on}", SEED, database=database),
            Load(
                "locked", f"100 connections voting for one row under its lock, {on}", SEED, database=database
            ),
            Load(
                "checked",
                f"300 connections each waiting 1 s on the upstream, then voting, {on}",
                THREADED,
                database=database,
            ),
        ]
    return shown


def group(results: dict, load: Load) -> dict | None:
    """One load's rows: each server's req/s and CPU per request, and each async row's verdict."""
    where = {
        k: v for k, v in (("concurrency", load.concurrency), ("delay_ms", load.delay_ms)) if v is not None
    }
    cells = {
        name: find(results, load.scenario, name, database=load.database, **where) for name in load.contestants
    }
    threads = cells.get("gunicorn-gthread")
    rows = []
    for name, cell in cells.items():
        if cell is None:
            continue
        row = {"server": SERVERS[name], "req_s": cell["throughput"], "cpu_ms": cell["cpu_ms_per_request"]}
        if name.startswith("uvicorn") and threads and threads["throughput"]:
            row["ratio"] = cell["throughput"] / threads["throughput"]
            row["verdict"] = verdict_of(row["ratio"])
        rows.append(row)
    if not rows:
        return None
    return {"load": load, "rows": rows, "why": WHY[load.scenario]}


def contrast(groups: list[dict]) -> list[dict]:
    """The first long-wait load and the first database load: where async wins, and where it may not."""
    waits = [g for g in groups if g["load"].scenario == "upstream"]
    database = [g for g in groups if g["load"].scenario != "upstream"]
    return waits[:1] + database[:1]


def published() -> dict | None:
    """The published run's date, commit and figure groups, or None when there is no run to read."""
    results = read_run()
    if results is None:
        return None
    groups = [g for load in loads(databases_in(results)) if (g := group(results, load))]
    started = results.get("started", "")
    return {
        "when": started[:16].replace("T", " ") + " UTC",
        "commit": results.get("machine", {}).get("commit", "?"),
        "groups": groups,
        "contrast": contrast(groups),
        "path": shown_path(),
    }


# The async_orm pair's figures: the same database work three ways, on PostgreSQL

WAYS = {
    "gunicorn-gthread": "sync ORM (gunicorn, 2x50 threads, WSGI)",
    "uvicorn-async": "async, the ORM in a thread (uvicorn, tuned profile)",
    "uvicorn-async-driver": "async, the truly async driver (uvicorn, tuned profile)",
}
WAY_LOADS = {"read": "100 connections reading one question", "seed": "200 users reading a poll and voting"}


def three_ways() -> dict | None:
    """The run's req/s, CPU and thread hops per request of the three ways on PostgreSQL, or None
    without a run; "groups" is empty when the run has no driver cells."""
    results = read_run()
    if results is None:
        return None
    hops = results.get("hops", {})
    groups = []
    for scenario, title in WAY_LOADS.items():
        cells = {name: find(results, scenario, name, database="postgresql") for name in WAYS}
        rows = [
            {
                "way": way,
                "req_s": cell["throughput"],
                "cpu_ms": cell["cpu_ms_per_request"],
                "hops": hops.get(name, {}).get("postgresql"),
            }
            for name, way in WAYS.items()
            if (cell := cells[name])
        ]
        if cells["uvicorn-async-driver"]:
            groups.append({"title": title, "rows": rows})
    return {
        "when": results.get("started", "")[:16].replace("T", " ") + " UTC",
        "commit": results.get("machine", {}).get("commit", "?"),
        "path": shown_path(),
        "groups": groups,
        "not_run": results.get("not_run", {}).get("uvicorn-async-driver", ""),
    }
