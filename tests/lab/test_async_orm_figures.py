"""The async_orm pair shows the published run's three ways on PostgreSQL, or says the run has none."""

import json

import pytest
from django.urls import reverse
from django.utils.html import strip_tags


def cell(
    scenario: str, contestant: str, throughput: float, cpu_ms: float, database: str = "postgresql"
) -> dict:
    return {
        "scenario": scenario,
        "contestant": contestant,
        "database": database,
        "status": "ok",
        "throughput": throughput,
        "cpu_ms_per_request": cpu_ms,
    }


def page_text(client, slug: str = "async_orm") -> str:
    page = client.get(reverse("lab:pair", args=[slug])).text
    return " ".join(strip_tags(page.replace("<", " <")).split())


@pytest.fixture
def run(settings, tmp_path):
    """Write a results.json where the lab reads the published run; return a function that fills it."""
    settings.BENCHMARK_RESULTS = tmp_path / "results.json"

    def write(cells: list[dict], **extra) -> None:
        results = {"started": "2026-12-05T02:20:00+00:00", "machine": {"commit": "abc1234"}, "cells": cells}
        settings.BENCHMARK_RESULTS.write_text(json.dumps(results | extra))

    return write


def test_the_pair_shows_cpu_throughput_and_hops_of_the_three_ways(client, run):
    """Each load on PostgreSQL gets a row per way, with req/s, CPU per request and thread hops."""
    hops = {"gunicorn-gthread": {"postgresql": 0.0}, "uvicorn-async": {"postgresql": 3.5}}
    hops["uvicorn-async-driver"] = {"postgresql": 2.5}
    cells = [
        cell("seed", "gunicorn-gthread", 112.7, 4.204),
        cell("seed", "uvicorn-async", 104.1, 5.429),
        cell("seed", "uvicorn-async-driver", 108.4, 4.703),
        cell("seed", "uvicorn-async-driver", 999, 9.9, database="sqlite"),
        cell("read", "gunicorn-gthread", 337.0, 2.555),
        cell("read", "uvicorn-async", 500.0, 2.827),
        cell("read", "uvicorn-async-driver", 337.9, 3.083),
    ]
    run(cells, hops=hops)
    page = page_text(client)
    shown = [
        "200 users reading a poll and voting",
        "sync ORM (gunicorn, 2x50 threads, WSGI) 113 4.2 ms 0",
        "async, the ORM in a thread (uvicorn, tuned profile) 104 5.4 ms 3.5",
        "async, the truly async driver (uvicorn, tuned profile) 108 4.7 ms 2.5",
        "100 connections reading one question",
        "async, the truly async driver (uvicorn, tuned profile) 338 3.1 ms 2.5",
        "run of 2026-12-05 02:20 UTC, commit abc1234",
    ]
    assert [text for text in shown if text not in page] == []
    # The SQLite cell is not the PostgreSQL one, and a run with driver rows needs no how-to.
    assert "999" not in page
    assert "has no rows for the truly async driver" not in page


def test_without_driver_cells_the_pair_says_the_run_has_none(client, run):
    """A run from before the driver, or without PostgreSQL, says so and how to produce the rows."""
    run([cell("seed", "gunicorn-gthread", 112.7, 4.2)])
    page = page_text(client)
    assert "The published run has no rows for the truly async driver" in page
    assert "DATABASE_URL=postgres://... make bench" in page
    assert "112.7" not in page and "113" not in page
    run(
        [cell("seed", "gunicorn-gthread", 112.7, 4.2, database="sqlite")],
        not_run={"uvicorn-async-driver": "not run: PostgreSQL only"},
    )
    assert "(not run: PostgreSQL only)" in page_text(client)


def test_only_the_async_orm_pair_shows_the_three_ways(client, run):
    """Other pairs, the driver's transaction pair among them, show no benchmark block."""
    run([])
    assert "What the benchmark measured" in page_text(client)
    assert "What the benchmark measured" not in page_text(client, "async_atomic")
