"""The benchmark's own logic: process accounting, which bound explains a result, the quick run's checks."""

import asyncio
import os
import signal
import subprocess
import time

import pytest
import pytest_asyncio
from django.core.management import call_command

from bench import hold, procstat, report, run
from bench.contestants import BY_NAME, OTHER_SERVERS, WHICH_SERVER
from views_demo.models import Question


@pytest.fixture
def session():
    """A shell in its own session with two children, like a server and its workers."""
    process = subprocess.Popen(["sh", "-c", "sleep 30 & sleep 30 & wait"], start_new_session=True)
    deadline = time.monotonic() + 5
    while len(procstat.session_pids(process.pid)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    yield process.pid
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def test_usage_sums_every_process_of_a_session(session):
    """counts the leader and both children, with their threads and memory."""
    usage = procstat.usage(session)
    assert usage.processes == 3
    assert usage.threads >= 3
    assert usage.rss_bytes > 0
    assert usage.fds >= 3


def results_with(cell: dict, contestant: str) -> dict:
    return {
        "machine": {"cores": 2},
        "settings": {"duration_s": 8, "c10k_ramp_s": 10},
        "contestants": {contestant: {"label": contestant, **vars_of(contestant)}},
        "cells": [cell],
    }


def vars_of(name: str) -> dict:
    contestant = BY_NAME[name]
    return {"slots": contestant.slots, "why": contestant.why, "middleware": []}


def upstream_cell(contestant: str, *, throughput: float, cpu: float, concurrency=100, delay=100) -> dict:
    return {
        "scenario": "upstream",
        "contestant": contestant,
        "variant": "",
        "status": "ok",
        "concurrency": concurrency,
        "delay_ms": delay,
        "calls": 1,
        "think_ms": [0, 0],
        "seconds": 8.0,
        "url_path": "/demo/x/",
        "throughput": throughput,
        "requests": int(throughput * 8),
        "cpu_ms_per_request": cpu,
        "errors": {"non_2xx": 0, "timeout": 0, "connect": 0, "read": 0, "write": 0},
    }


def test_explain_names_the_workers_when_they_bound_a_sync_server():
    """explains gunicorn sync at C=100, D=100 ms by its 2 workers: 2/0.1 s = 20 req/s."""
    cell = upstream_cell("gunicorn-sync", throughput=19.5, cpu=1.0)
    text = report.explain(results_with(cell, "gunicorn-sync"), cell)
    assert "20 req/s" in text
    assert "98 connections queue" in text


def test_explain_names_cpu_when_waits_hold_no_worker():
    """explains an async server that runs out of CPU by its CPU per request."""
    cell = upstream_cell("uvicorn-async", throughput=600, cpu=3.0)
    text = report.explain(results_with(cell, "uvicorn-async"), cell)
    assert text.startswith("Waits hold no worker, so CPU is the limit")
    assert "667 req/s" in text


def test_explain_says_when_a_server_keeps_up_with_the_upstream():
    """explains a server far from its CPU bound by C/D."""
    cell = upstream_cell("reference", throughput=950, cpu=0.2)
    text = report.explain(results_with(cell, "reference"), cell)
    assert "keeps up with the upstream: 95% of the 1,000 req/s" in text


def test_seed_scenario_waits_for_the_poll_views_then_becomes_required():
    """marks seed cells not available until the project defines the views, then requires them."""
    without = {"urls": dict.fromkeys(["sync_poll", "async_poll", "sync_vote", "async_vote"], False)}
    with_views = {"urls": dict.fromkeys(without["urls"], True)}
    assert run.seed_status(without, BY_NAME["uvicorn-async"])[0] is False
    assert run.seed_status(with_views, BY_NAME["uvicorn-async"]) == (True, "")
    assert run.seed_status(with_views, BY_NAME["gunicorn-sync"]) == (True, "")
    assert run.seed_status(with_views, BY_NAME["reference"])[0] is False


def complete_cell(**errors) -> dict:
    cell = upstream_cell("uvicorn-async", throughput=90, cpu=1.0)
    cell.update(
        key="upstream/x",
        requests=900,
        latency_ms={"p50": 100, "p99": 120},
        statuses={"200": 900},
        peak_threads=10,
        peak_rss_mb=100,
        peak_fds=50,
        wrk_cpu_s=0.5,
        wrk_cpu_percent_of_core=6.0,
        server_cpu_s=0.9,
    )
    cell["errors"] = {**cell["errors"], **errors}
    return cell


def test_check_passes_a_complete_run(tmp_path):
    """accepts a run where every cell answered with 2xx and every file was written."""
    for name in ("results.json", "report.md", "a.png"):
        (tmp_path / name).write_text("x")
    results = {"cells": [complete_cell()], "out": str(tmp_path), "plots": ["a.png"]}
    assert run.check(results) == []


def test_check_fails_on_errors_missing_files_and_unavailable_scenarios(tmp_path):
    """reports non-2xx answers, a missing plot, and a non-seed scenario that did not run."""
    (tmp_path / "results.json").write_text("x")
    results = {
        "cells": [
            complete_cell(non_2xx=3),
            {"key": "hello/x", "scenario": "hello", "contestant": "reference", "status": "not available",
             "reason": "?"},
        ],
        "out": str(tmp_path),
        "plots": ["a.png"],
    }  # fmt: skip
    problems = "\n".join(run.check(results))
    assert "errors {'non_2xx': 3}" in problems
    assert "hello/x: not available" in problems
    assert "report.md was not written" in problems
    assert "a.png was not written" in problems


def test_markdown_reports_every_scenario_and_the_targets():
    """renders the main table, the targets with verdicts, and one row per measured cell."""
    names = ["gunicorn-gthread", "uvicorn-async", "uvicorn-async-nomw", "reference"]
    cells = []
    for name, speed in zip(names, (1, 3, 3, 3), strict=True):
        for concurrency, delay in ((100, 100), (1000, 1000)):
            cell = complete_cell()
            cell.update(contestant=name, concurrency=concurrency, delay_ms=delay, key=f"{name}/{delay}")
            cell.update(throughput=speed * 100.0, seconds=8.0)
            cells.append(cell)
        hello = complete_cell()
        hello.update(scenario="hello", contestant=name, delay_ms=0, cpu_ms_per_request=speed, key=name)
        cells.append(hello)
    results = {
        "mode": "full",
        "started": "2026-01-01T00:00:00+00:00",
        "finished": "2026-01-01T00:15:00+00:00",
        "loadavg_start": ["1", "1", "1"],
        "loadavg_end": ["1", "1", "1"],
        "machine": {"cores": 2, "cpu": "test", "memory_gb": 1, "kernel": "6", "python": "3.12",
                    "wrk": "wrk 4", "packages": {"Django": "6.1"}, "commit": "abc"},
        "settings": {"duration_s": 8, "warmup_s": 1, "c10k_ramp_s": 10, "processes_per_server": 2},
        "scenarios": run.SCENARIOS,
        "contestants": {
            name: {"label": name, "command": "x", "switches": {}, **vars_of(name),
                   "middleware": [] if name.endswith("nomw") else ["m"]}
            for name in names
        },
        "cells": cells,
    }  # fmt: skip
    text = report.markdown(results)
    assert "| uvicorn-async | 300 | 120 ms | 300 | 120 ms |" in text
    assert "| P2 C=100, D=100 ms: async / gthread | 3.00 (>= 1.2) | met |" in text
    assert "| P4 hello CPU/request: full middleware / none | 1.00 (<= 1.25) | met |" in text
    # The main table, hello, and the tables for C=100/D=100 ms and C=1000/D=1 s.
    assert text.count("| gunicorn-gthread |") == 4


def test_seed_cells_open_the_form_and_vote_on_the_contestants_own_views():
    """sends the sync contestants to sync_poll/sync_vote and the async ones to the async twins."""
    sync = run.Cell("seed", "gunicorn-gthread", 10, think_ms=(50, 100))
    asynchronous = run.Cell("seed", "uvicorn-async", 10, think_ms=(50, 100))
    assert run.path_for(sync) == "/demo/sync_poll/?question=1"
    assert run.measure_args(sync, None) == ("/demo/sync_poll/?question=1", "/demo/sync_vote/", 1, 50, 100)
    assert run.path_for(asynchronous) == "/demo/async_poll/?question=1"
    assert run.measure_args(asynchronous, None)[1] == "/demo/async_vote/"


class LiveServer:
    def __init__(self, url: str):
        self.url = url


@pytest.mark.server
def test_write_cells_post_one_choice_with_a_token_from_the_real_form(transactional_db, live_server, client):
    """reads the token and a choice from the contestant's own poll form; the POST it builds is counted."""
    call_command("seed_demo", verbosity=0)
    sync = run.Cell("locked", "gunicorn-gthread", 10)
    mixed = run.Cell("checked", "uvicorn-async", 10, delay_ms=100)
    assert run.path_for(sync) == "/demo/sync_locked_vote/"
    assert run.path_for(mixed) == "/demo/async_checked_vote/"
    token, body = run.measure_args(sync, LiveServer(live_server.url))
    first = Question.objects.get(pk=1).choice_set.order_by("id").first()
    assert body == f"question=1&choice={first.pk}"
    assert (
        run.measure_args(mixed, LiveServer(live_server.url))[1] == f"question=1&choice={first.pk}&delay=100"
    )
    # What write.lua sends: the cookie, the same token in the header, the form.
    client.cookies["csrftoken"] = token
    response = client.post(
        run.path_for(sync), body, content_type="application/x-www-form-urlencoded", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 200, response.content
    assert response.json()["result"]["votes"] == first.votes + 1


def test_plans_run_the_database_path_on_sqlite_and_on_postgresql_when_it_is_set(monkeypatch):
    """gives every database scenario its sync and async contestants on each database, each its own server."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    for plan in (run.full_plan(), run.quick_plan(), run.database_plan()):
        assert {c.database for c in plan.cells} == {"sqlite"}
    monkeypatch.setenv("DATABASE_URL", "postgres://user:password@127.0.0.1:5432/name")
    for plan in (run.full_plan(), run.quick_plan(), run.database_plan()):
        assert len({c.key for c in plan.cells}) == len(plan.cells)
        for database in ("sqlite", "postgresql"):
            for scenario in run.DATABASE_SCENARIOS:
                names = {c.contestant for c in plan.cells if (c.scenario, c.database) == (scenario, database)}
                assert {"gunicorn-gthread", "uvicorn-async", "uvicorn-async-stock"} <= names, (
                    plan.mode,
                    scenario,
                )
        postgres = [c for c in plan.cells if c.database == "postgresql"]
        assert {c.scenario for c in postgres} == set(run.DATABASE_SCENARIOS)
        assert all(c.server == c.contestant + "@postgresql" for c in postgres)
        # The seed on PostgreSQL has the sync workers beside gthread (target D1).
        assert "gunicorn-sync" in {c.contestant for c in postgres if c.scenario == "seed"}


def test_fanout_cells_know_which_views_call_one_after_another():
    """expects K·D from the sequential sync view and D from the threaded and async ones."""
    assert run.Cell("fanout", "gunicorn-sync", 10, delay_ms=100, calls=10).expected_ms == 1000
    threaded = run.Cell("fanout", "gunicorn-gthread", 10, delay_ms=100, calls=10, variant="threaded")
    assert threaded.expected_ms == 100
    assert run.path_for(threaded) == "/demo/sync_fanout_threaded/?n=10&delay=100"
    assert run.Cell("fanout", "uvicorn-async", 10, delay_ms=100, calls=10).expected_ms == 100


def fanout_cell(contestant: str, concurrency: int, p50: float) -> dict:
    cell = complete_cell()
    cell.update(scenario="fanout", contestant=contestant, concurrency=concurrency, calls=10)
    cell.update(latency_ms={"p50": p50, "p99": p50 + 50}, key=f"fanout/{contestant}/{concurrency}")
    return cell


def test_fanout_target_is_read_at_the_lightest_load_and_the_heavier_one_is_shown():
    """holds P1 to the C=2 cell, and reports C=10 beside the reference's ratio without a verdict."""
    cells = [
        fanout_cell("uvicorn-async", 10, p50=125),
        fanout_cell("reference", 10, p50=121),
        fanout_cell("uvicorn-async", 2, p50=104),
        fanout_cell("reference", 2, p50=103),
    ]
    lines = report.targets({"cells": cells, "contestants": {}})
    assert "| P1 fan-out K=10, D=100 ms, C=2: async p50 / D | 1.04 (<= 1.15) | met |" in lines
    assert "| fan-out K=10, D=100 ms, C=10, more load: async p50 / D | 1.25; reference 1.21 | - |" in lines
    slow = report.targets({"cells": [fanout_cell("uvicorn-async", 2, p50=130)], "contestants": {}})
    assert "| P1 fan-out K=10, D=100 ms, C=2: async p50 / D | 1.30 (<= 1.15) | **not met** |" in slow


def test_plans_measure_the_fanout_at_light_load_for_its_target():
    """puts the defaults and the reference at C=2 in both plans, beside the heavier fan-out."""
    for plan in (run.full_plan(), run.quick_plan()):
        fanouts = {(c.contestant, c.concurrency) for c in plan.cells if c.scenario == "fanout"}
        assert {("uvicorn-async", run.FANOUT_LIGHT), ("reference", run.FANOUT_LIGHT)} <= fanouts
        assert max(c for _, c in fanouts) > run.FANOUT_LIGHT


def test_client_per_request_cells_call_the_pitfall_view_on_the_defaults_server():
    """sends the variant to async_client_per_request_badly, and refuses it where that view is not."""
    pitfall = run.Cell("upstream", "uvicorn-async", 100, delay_ms=100, variant="client-per-request")
    assert run.path_for(pitfall) == "/demo/async_client_per_request_badly/?delay=100"
    on_wsgi = run.Cell("upstream", "gunicorn-gthread", 100, delay_ms=100, variant="client-per-request")
    with pytest.raises(ValueError, match="replaces /async_upstream/"):
        run.path_for(on_wsgi)


def test_variant_cells_name_their_view_in_the_report():
    """labels a variant cell with the server's label and the view it calls instead."""
    results = {"contestants": {"uvicorn-async": {"label": "uvicorn, async views"}}}
    pitfall = {"contestant": "uvicorn-async", "variant": "client-per-request", "scenario": "upstream"}
    assert report.name_of(results, pitfall) == "uvicorn, async views, a new httpx.AsyncClient per request"


@pytest_asyncio.fixture
async def answering_server():
    """A raw HTTP server: /ok answers 200 after 0.2 s, /fail 503, /hangup closes, /slow waits 2 s."""

    async def handle(reader, writer):
        path = (await reader.readline()).split()[1]
        await reader.readuntil(b"\r\n\r\n")
        if path != b"/hangup":
            await asyncio.sleep(2 if path == b"/slow" else 0.2)
            status = b"503" if path == b"/fail" else b"200"
            writer.write(b"HTTP/1.1 " + status + b" X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


@pytest.mark.asyncio
async def test_hold_keeps_every_request_open_at_once_and_counts_each_outcome(answering_server):
    """holds 50 requests of 0.2 s together, and tells 503s, hang-ups and timeouts apart."""
    ok = await hold.hold(f"{answering_server}/ok", connections=50, ramp=0.1, seconds_each=5)
    assert ok["statuses"] == {"200": 50}
    assert ok["requests"] == 50
    assert ok["max_in_flight"] == 50
    assert ok["duration_us"] < 2e6  # together, not 50 x 0.2 s one after another
    assert ok["latency_us"]["p50"] >= 0.2e6

    fail = await hold.hold(f"{answering_server}/fail", connections=3, ramp=0, seconds_each=5)
    hangup = await hold.hold(f"{answering_server}/hangup", connections=3, ramp=0, seconds_each=5)
    slow = await hold.hold(f"{answering_server}/slow", connections=3, ramp=0, seconds_each=0.3)
    assert fail["statuses"] == {"503": 3}
    assert (hangup["statuses"], hangup["errors"]["read"]) == ({}, 3)
    assert (slow["statuses"], slow["errors"]["timeout"]) == ({}, 3)


def hello_cell(contestant: str, cpu: float, round: int = 0) -> dict:
    cell = complete_cell()
    cell.update(scenario="hello", contestant=contestant, delay_ms=0, cpu_ms_per_request=cpu, round=round)
    cell.update(key=f"hello/{contestant}/{round}")
    return cell


def test_middleware_target_is_read_from_the_medians_of_its_rounds():
    """divides the median CPU of each side's rounds, lists the rounds, and tables only the first."""
    cells = [
        hello_cell("uvicorn-async", 1.8),
        hello_cell("uvicorn-async-nomw", 1.0),
        hello_cell("uvicorn-async", 1.2, round=1),
        hello_cell("uvicorn-async-nomw", 1.0, round=1),
        hello_cell("uvicorn-async", 1.1, round=2),
        hello_cell("uvicorn-async-nomw", 0.9, round=2),
    ]
    contestants = {
        "uvicorn-async": {"middleware": ["m"]},
        "uvicorn-async-nomw": {"middleware": []},
    }
    lines = report.targets({"cells": cells, "contestants": contestants})
    expected = (
        "| P4 hello CPU/request: full middleware / none | 1.20 (<= 1.25); medians of 3 and 3 rounds "
        "(1.80/1.00 ms, 1.20/1.00 ms, 1.10/0.90 ms) | met |"
    )
    assert expected in lines
    assert [c["cpu_ms_per_request"] for c in report.ok_cells({"cells": cells}, "hello")] == [1.8, 1.0]


def test_plans_measure_the_middleware_pair_again_side_by_side():
    """repeats the P4 pair in later rounds of both plans, and keys each round apart."""
    for plan, rounds in ((run.full_plan(), run.MIDDLEWARE_ROUNDS), (run.quick_plan(), 2)):
        pair = [c for c in plan.cells if c.scenario == "hello" and c.contestant in run.MIDDLEWARE_PAIR]
        assert sorted((c.contestant, c.round) for c in pair) == sorted(
            (name, r) for name in run.MIDDLEWARE_PAIR for r in range(rounds)
        )
        assert len({c.key for c in plan.cells}) == len(plan.cells)


def test_plans_measure_every_other_server_in_the_server_cells():
    """puts each other server in hello, seed and both upstream points; the quick run starts each once."""
    for plan in (run.full_plan(), run.servers_plan()):
        for name in OTHER_SERVERS:
            cells = {(c.scenario, c.concurrency, c.delay_ms) for c in plan.cells if c.contestant == name}
            assert {("upstream", 100, 100), ("upstream", 1000, 1000)} <= cells, (plan.mode, name)
            assert {"hello", "seed"} <= {scenario for scenario, *_ in cells}, (plan.mode, name)
    assert {c.contestant for c in run.servers_plan().cells} == set(WHICH_SERVER)
    assert set(OTHER_SERVERS) <= {c.contestant for c in run.quick_plan().cells}


def test_which_server_table_gives_each_server_its_ratio_to_uvicorn():
    """shows req/s with its ratio to uvicorn-async-stock's in the same cell, and each server's lifespan."""
    cells = []
    for name, speed in (("uvicorn-async-stock", 100.0), ("granian-async", 150.0), ("daphne-async", 50.0)):
        hello = complete_cell()
        hello.update(scenario="hello", contestant=name, delay_ms=0, throughput=speed * 10, key=f"h/{name}")
        upstream = complete_cell()
        upstream.update(contestant=name, concurrency=100, delay_ms=100, throughput=speed, key=f"u/{name}")
        cells += [hello, upstream]
    results = {"cells": cells, "contestants": {}}
    lines = report.which_server(results)
    rest = "| 1.0 ms | {} | 120 ms | - | - | 0 |"
    assert "| uvicorn-async-stock | startup + shutdown | 1,000 (1.00) " + rest.format("100 (1.00)") in lines
    assert "| granian-async | startup + shutdown | 1,500 (1.50) " + rest.format("150 (1.50)") in lines
    assert "| daphne-async | **none** | 500 (0.50) " + rest.format("50 (0.50)") in lines
    uvicorn_only = [c for c in cells if c["contestant"] == "uvicorn-async-stock"]
    assert report.which_server({"cells": uvicorn_only, "contestants": {}}) == []


def database_cell(scenario: str, contestant: str, database: str, *, throughput: float, cpu: float) -> dict:
    cell = complete_cell()
    cell.update(scenario=scenario, contestant=contestant, database=database, throughput=throughput)
    cell.update(cpu_ms_per_request=cpu, concurrency=200 if scenario == "seed" else 100)
    cell.update(delay_ms=1000 if scenario == "checked" else 0)
    cell.update(key=f"{scenario}/{contestant}/{database}", think_ms=[500, 1000])
    return cell


def test_database_path_names_each_database_and_says_whether_async_wins_ties_or_loses():
    """computes each async twin's ratio to gthread on its own database, and the D targets from them."""
    figures = {
        # scenario, database: gthread, tuned, stock req/s
        ("seed", "sqlite"): (200, 190, 150),
        ("seed", "postgresql"): (200, 170, 230),
        ("checked", "postgresql"): (90, 280, 260),
    }
    cells = []
    for (scenario, database), speeds in figures.items():
        for name, speed in zip(
            ("gunicorn-gthread", "uvicorn-async", "uvicorn-async-stock"), speeds, strict=True
        ):
            cpu = 4.0 if name == "gunicorn-gthread" else 5.0 if name == "uvicorn-async" else 8.0
            cells.append(database_cell(scenario, name, database, throughput=speed, cpu=cpu))
    names = ("gunicorn-gthread", "uvicorn-async", "uvicorn-async-stock")
    results = {"cells": cells, "contestants": {name: {"label": name} for name in names}}
    lines = report.database_path(results)
    row = {tuple(line.split(" | ")[:2]): line for line in lines[2:]}
    assert "| 0.95 | 0.75 | tuned ties, stock loses: " in row[("| seed, 200 users", "SQLite")]
    assert "| 0.85 | 1.15 | tuned loses, stock wins: " in row[("| seed, 200 users", "PostgreSQL")]
    assert "| 3.11 | 2.89 | tuned wins, stock wins: " in row[("| mixed, C=100, D=1.00 s", "PostgreSQL")]
    assert "200, 4.0 ms" in row[("| seed, 200 users", "SQLite")]
    targets = report.targets(results)
    assert "| D2 seed on SQLite, tuned profile: async / gthread | 0.95 (>= 0.9), 0 errors | met |" in targets
    assert (
        "| D1 seed on PostgreSQL, tuned profile: async / gthread | 0.85 (>= 0.9), 0 errors | **not met** |"
        in targets
    )
    assert (
        "| D1 seed on PostgreSQL, stock profile: async / gthread | 1.15 (>= 0.9), 0 errors | reported |"
        in targets
    )
    d3 = "| D3 seed on SQLite, tuned profile: CPU/request async / gthread | 1.25 (<= 1.2): "
    assert d3 + "5.0 ms against 4.0 ms | **not met** |" in targets
    # A run from before the database path (no "database" in its cells) reads as SQLite.
    for cell in cells:
        cell.pop("database")
    assert report.find(results, "seed", "uvicorn-async")["throughput"] == 190
