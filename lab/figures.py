"""
The concepts page's figures, read from the published benchmark run (settings.BENCHMARK_RESULTS).

Every number the page shows comes from that run's results.json, and whether async wins, ties
or loses comes from bench/report.py's own rule, so the page says what the report says.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from bench.report import DATABASE_NAMES, DATABASE_WHY, databases_in, find, verdict_of


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
    why = DATABASE_WHY.get(load.scenario) or (
        "a sync view holds one of gthread's 100 threads for its whole wait; a waiting async view holds none"
    )
    return {"load": load, "rows": rows, "why": why}


def published() -> dict | None:
    """The published run's date, commit and figure groups, or None when there is no run to read."""
    path = Path(settings.BENCHMARK_RESULTS)
    try:
        results = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(results, dict) or "cells" not in results:
        return None
    databases = databases_in(results["cells"])
    groups = [g for load in loads(databases) if (g := group(results, load))]
    started = results.get("started", "")
    return {
        "when": started[:16].replace("T", " ") + " UTC",
        "commit": results.get("machine", {}).get("commit", "?"),
        "groups": groups,
        "path": path.relative_to(settings.BASE_DIR, walk_up=True),
    }
