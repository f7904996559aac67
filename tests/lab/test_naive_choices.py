"""The naive-choices page: the published benchmark run's figures, beside the tuned profile."""

import html
import json

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils.html import strip_tags

from bench import run
from lab import views as lab

URL = "/lab/naive-choices/"


def text_of(response) -> str:
    return " ".join(html.unescape(strip_tags(response.content.decode())).split())


def cell(choice: lab.NaiveChoice, *, throughput: float, cpu: float, p99: float, load=None, **errors) -> dict:
    concurrency, delay_ms = load or (choice.concurrency, choice.delay_ms)
    return {
        "status": "ok",
        "scenario": lab.NAIVE_SCENARIO,
        "contestant": choice.contestant,
        "variant": choice.variant,
        "concurrency": concurrency,
        "delay_ms": delay_ms,
        "throughput": throughput,
        "cpu_ms_per_request": cpu,
        "peak_threads": 40,
        "latency_ms": {"p50": p99 / 2, "p99": p99},
        "errors": {"non_2xx": 0, "timeout": 0, **errors},
    }


@pytest.fixture
def published(tmp_path, settings):
    """Point the page at a results.json of the test's own; return a function that writes it."""
    settings.BENCHMARK_RESULTS = tmp_path / "results.json"

    def write(cells: list[dict]) -> None:
        results = {
            "started": "2026-12-01T09:00:00+00:00",
            "machine": {"cpu": "Test CPU", "cores": 2, "commit": "abc1234"},
            "cells": cells,
        }
        settings.BENCHMARK_RESULTS.write_text(json.dumps(results))

    return write


def test_shows_each_choice_against_the_defaults_of_the_same_run(client, published):
    """gives req/s, the ratio to the defaults, CPU per request, p99 and errors for each choice."""
    client_per_request, httpx_pool = lab.NAIVE_CHOICES[:2]
    published(
        [
            cell(lab.DEFAULTS, throughput=800, cpu=2.0, p99=200),
            # A later round of a choice: the page shows the first, as the report does.
            {**cell(client_per_request, throughput=1, cpu=1, p99=1), "round": 1},
            cell(client_per_request, throughput=200, cpu=9.5, p99=1500),
            cell(httpx_pool, throughput=400, cpu=4.25, p99=900, timeout=3),
            # Another load, and a failed cell, of a choice: neither is what the page shows.
            {**cell(httpx_pool, throughput=1, cpu=1, p99=1), "concurrency": 1000},
            {**cell(lab.NAIVE_CHOICES[2], throughput=1, cpu=1, p99=1), "status": "failed"},
        ]
    )
    response = client.get(URL)
    assert response.status_code == 200
    text = text_of(response)
    assert "The tuned profile C=100, D=100 ms 800 1.00x 2.00 ms 40 200 ms 0" in text
    assert "A new httpx.AsyncClient for every request C=100, D=100 ms 200 0.25x 9.50 ms 40 1500 ms 0" in text
    assert "httpx's own connection pool C=100, D=100 ms 400 0.50x 4.25 ms 40 900 ms 3" in text
    assert "Django's middleware classes under ASGI C=100, D=100 ms not measured in this run" in text
    assert "Run of 2026-12-01T09:00 UTC, Test CPU, 2 cores, commit abc1234" in text
    # The pitfall's row links to its pair, where both views can be run.
    assert reverse("lab:pair", args=["client-per-request"]) in response.content.decode()


@pytest.mark.parametrize("content", [None, "{not json", "[1, 2]", '{"started": "2026-12-01T09:00:00+00:00"}'])
def test_without_a_published_run_says_how_to_make_one(client, published, settings, content):
    """answers 200 and names make bench when results.json is missing, broken or has no cells."""
    if content is not None:
        settings.BENCHMARK_RESULTS.write_text(content)
    response = client.get(URL)
    assert response.status_code == 200
    assert "No benchmark run is published" in text_of(response)
    assert "make bench" in text_of(response)


def test_a_run_without_the_defaults_shows_no_ratio(client, published):
    """leaves the ratio out rather than inventing one when the defaults were not measured."""
    published([cell(lab.NAIVE_CHOICES[0], throughput=200, cpu=9.5, p99=1500)])
    text = text_of(client.get(URL))
    assert "The tuned profile C=100, D=100 ms not measured in this run" in text
    assert "A new httpx.AsyncClient for every request C=100, D=100 ms 200 9.50 ms" in text


def test_a_choice_is_compared_with_the_defaults_at_its_own_load(client, published):
    """shows the thread-per-request choice at C=1,000, D=1 s, beside the defaults at that load."""
    per_request = next(c for c in lab.NAIVE_CHOICES if c.contestant == "uvicorn-async-per-request")
    assert (per_request.concurrency, per_request.delay_ms) == (1000, 1000)
    published(
        [
            cell(lab.DEFAULTS, throughput=800, cpu=2.0, p99=200),
            cell(lab.DEFAULTS, throughput=400, cpu=2.5, p99=3000, load=(1000, 1000)),
            cell(per_request, throughput=100, cpu=5.0, p99=8000),
            # Its cell at the lighter load is not the one the page shows.
            cell(per_request, throughput=790, cpu=2.1, p99=210, load=(100, 100)),
        ]
    )
    text = text_of(client.get(URL))
    assert "The tuned profile C=1,000, D=1 s 400 1.00x 2.50 ms 40 3000 ms 0" in text
    assert "Django's thread per request C=1,000, D=1 s 100 0.25x 5.00 ms 40 8000 ms 0" in text
    assert text.index("C=100, D=100 ms") < text.index("C=1,000, D=1 s")


def test_the_benchmark_measures_every_choice_the_page_shows():
    """finds a cell of the full plan for each choice, and for the defaults, at each choice's load."""
    keys = {(c.scenario, c.contestant, c.variant, c.concurrency, c.delay_ms) for c in run.full_plan().cells}
    for choice in lab.NAIVE_CHOICES:
        for shown in (choice, lab.DEFAULTS):
            key = (lab.NAIVE_SCENARIO, shown.contestant, shown.variant, choice.concurrency, choice.delay_ms)
            assert key in keys, (choice, shown)


def test_the_published_run_has_every_choice():
    """shows a figure in every row with the run committed in docs/benchmark/."""
    results = json.loads(settings.BENCHMARK_RESULTS.read_text())
    assert all(row["cell"] is not None for row in lab.naive_rows(results)), lab.naive_rows(results)
