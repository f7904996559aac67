"""The benchmark's data and rules: the sampler, the plans, the paths, the targets, the quick run's checks."""

import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import pytest_asyncio
from django.conf import settings
from django.core.management import call_command

from bench import harness, hold, report, run
from bench.contestants import DATABASE_SCENARIOS, DRIVER_SERVERS, OTHER_SERVERS, WHICH_SERVER
from lab import figures
from views_demo.models import Question


@pytest.fixture
def tree():
    """A shell with two busy children, like a server and its workers."""
    spin = "while :; do :; done"
    process = subprocess.Popen(["sh", "-c", f"{spin} & {spin} & wait"], start_new_session=True)
    deadline = time.monotonic() + 5
    while len(harness.processes(process.pid)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    yield process.pid
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def by_hand(pid: int) -> tuple[float, int]:
    """CPU seconds and threads of a process tree, read from /proc/PID/stat as the harness once did."""
    cpu = threads = 0
    for process in harness.processes(pid):
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        threads += int(fields[17])
    return cpu, threads


def test_the_sampler_reads_a_process_tree_as_precisely_as_proc(tree):
    """psutil's sums over a tree equal /proc's to the clock tick, and count every process."""
    time.sleep(0.3)
    for _ in range(3):
        before, sampled, after = by_hand(tree), harness.usage(tree), by_hand(tree)
        assert before[0] <= sampled["cpu_s"] + 1e-9 and sampled["cpu_s"] <= after[0] + 1e-9
        assert sampled["threads"] == before[1] and len(sampled["pids"]) == 3
        assert sampled["rss_bytes"] > 0 and sampled["fds"] >= 3
    busy, total = harness.machine_cpu_s()
    assert 0 < busy < total


def complete_cell(**changes) -> dict:
    cell = {
        "scenario": "upstream", "contestant": "uvicorn-async", "variant": "", "status": "ok",
        "concurrency": 100, "delay_ms": 100, "calls": 1, "think_ms": [0, 0], "round": 0, "database": "sqlite",
        "url_path": "/demo/async_upstream/?delay=100", "seconds": 8.0, "requests": 900, "throughput": 90.0,
        "latency_ms": {"p50": 100, "p99": 120}, "statuses": {"200": 900}, "cpu_ms_per_request": 1.0,
        "errors": {"non_2xx": 0, "timeout": 0, "connect": 0, "read": 0, "write": 0}, "peak_threads": 10,
        "peak_rss_mb": 100, "peak_fds": 50, "wrk_cpu_s": 0.5, "wrk_cpu_percent_of_core": 6.0,
        "server_cpu_s": 0.9,
    }  # fmt: skip
    cell |= changes
    load = ("scenario", "contestant", "concurrency", "delay_ms", "database", "round")
    return cell | {"key": "/".join(str(cell[name]) for name in load)}


def test_check_passes_a_complete_run(tmp_path):
    """accepts a run where every cell answered with 2xx and every file was written."""
    for name in ("results.json", "report.md", "a.png"):
        (tmp_path / name).write_text("x")
    assert run.check({"cells": [complete_cell()], "out": str(tmp_path), "plots": ["a.png"]}) == []


def test_check_fails_on_errors_failed_cells_and_missing_files(tmp_path):
    """reports non-2xx answers, a failed cell, a missing report and a missing plot."""
    (tmp_path / "results.json").write_text("x")
    errors = {"non_2xx": 3, "timeout": 0, "connect": 0, "read": 0, "write": 0}
    failed = {"key": "hello/x", "contestant": "reference", "status": "failed", "reason": "?"}
    results = {"cells": [complete_cell(errors=errors), failed], "out": str(tmp_path), "plots": ["a.png"]}
    problems = "\n".join(run.check(results))
    assert "errors {'non_2xx': 3}" in problems
    assert "hello/x: failed" in problems
    assert "report.md was not written" in problems
    assert "a.png was not written" in problems


def test_the_verdict_rule_calls_a_tie_within_the_targets_tie():
    """wins at 1 + tie or more, loses at 1 - tie or less, ties between; the tie comes from targets.json."""
    assert report.TIE == json.loads(Path("bench/targets.json").read_text())["tie"] == 0.1
    assert [report.verdict_of(r) for r in (0.89, 0.9, 0.95, 1.0, 1.09, 1.1, 2)] == [
        "loses", "loses", "ties", "ties", "ties", "wins", "wins"
    ]  # fmt: skip


def run_of(cells: list[dict]) -> dict:
    names = {c["contestant"] for c in cells}
    contestants = {n: {"label": n, "command": "x", "switches": {}, "middleware": []} for n in names}
    return {
        "mode": "full", "started": "2026-01-01T00:00:00+00:00", "loadavg_start": ["1", "1", "1"],
        "machine": {"cores": 2, "cpu": "test", "memory_gb": 1, "kernel": "6", "python": "3.12", "wrk": "4",
                    "packages": {"Django": "6.1"}, "commit": "abc"},
        "settings": {"duration_s": 8, "warmup_s": 1, "c10k_ramp_s": 10, "processes_per_server": 2},
        "scenarios": run.SCENARIOS, "contestants": contestants, "cells": cells,
    }  # fmt: skip


def targets_of(results: dict) -> dict[tuple[str, str], tuple[str, str]]:
    """The targets table as {(target, ratio): (this run, verdict)}."""
    rows = [line.split(" | ") for line in report.targets(results)[2:]]
    return {(r[0].strip("| "), r[2]): (r[3], r[-1].strip(" |")) for r in rows}


def hello(contestant: str, cpu: float, round: int) -> dict:
    return complete_cell(
        scenario="hello", delay_ms=0, contestant=contestant, cpu_ms_per_request=cpu, round=round
    )


def test_targets_are_ratios_of_cells_in_the_same_run_against_the_data_files_bounds():
    """P2 divides req/s, P1 reads p50 over D at C=2, P4 the medians of the rounds' CPU, Z1-Z2 PostgreSQL's."""
    cells = [
        complete_cell(contestant="uvicorn-async", throughput=300.0),
        complete_cell(contestant="gunicorn-gthread", throughput=100.0),
        complete_cell(contestant="reference", throughput=500.0),
        complete_cell(contestant="uvicorn-async", throughput=30.0, concurrency=10),  # another load
        complete_cell(scenario="fanout", concurrency=2, calls=10, latency_ms={"p50": 104, "p99": 130}),
        complete_cell(scenario="fanout", concurrency=10, calls=10, latency_ms={"p50": 160, "p99": 200}),
        *(hello("uvicorn-async", cpu, r) for r, cpu in enumerate((1.8, 1.2, 1.1))),
        *(hello("uvicorn-async-nomw", cpu, r) for r, cpu in enumerate((1.0, 1.0, 0.9))),
        complete_cell(scenario="seed", delay_ms=0, database="postgresql", throughput=85.0,
                      cpu_ms_per_request=5.0, contestant="uvicorn-async-driver"),
        complete_cell(scenario="seed", delay_ms=0, database="postgresql", contestant="gunicorn-gthread",
                      throughput=100.0, cpu_ms_per_request=4.0),
    ]  # fmt: skip
    rows = targets_of(run_of(cells))
    assert rows[("P2", "throughput: uvicorn-async / gunicorn-gthread")] == ("3.00", "met")
    assert not [row for row in rows if "reference" in row[1]]  # reported, not targeted
    assert rows[("P1", "p50/D: uvicorn-async")] == ("1.04", "met")
    assert rows[("P4", "cpu_ms_per_request: uvicorn-async / uvicorn-async-nomw")] == ("1.20", "met")
    assert rows[("Z1", "throughput: uvicorn-async-driver / gunicorn-gthread")] == ("0.85", "**not met**")
    assert rows[("Z2", "cpu_ms_per_request: uvicorn-async-driver / gunicorn-gthread")] == (
        "1.25",
        "**not met**",
    )
    # A target whose cells the run lacks is not measured, not failed.
    assert rows[("P3", "throughput: uvicorn-async / gunicorn-gthread")] == ("-", "not measured")
    # The tables show the first round only.
    assert [c["cpu_ms_per_request"] for c in report.ok_cells(run_of(cells), "hello")] == [1.8, 1.0]


def test_a_target_is_not_met_when_its_cell_had_errors():
    """fails P2 on an async cell with timeouts, however fast it was."""
    errors = {"non_2xx": 0, "timeout": 2, "connect": 0, "read": 0, "write": 0}
    cells = [complete_cell(throughput=300.0, errors=errors), complete_cell(contestant="gunicorn-gthread")]
    assert (
        targets_of(run_of(cells))[("P2", "throughput: uvicorn-async / gunicorn-gthread")][1] == "**not met**"
    )


def test_each_scenario_table_gives_every_row_its_ratio_to_gthread_and_async_rows_a_verdict():
    """renders one table per load with req/s over gthread's in the same cell, and the rule's verdict."""
    cells = [
        complete_cell(contestant="gunicorn-gthread", throughput=100.0),
        complete_cell(contestant="uvicorn-async", throughput=150.0),
        complete_cell(contestant="uvicorn-async-stock", throughput=95.0),
        complete_cell(contestant="gunicorn-sync", throughput=20.0),
    ]
    text = report.markdown(run_of(cells))
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ")[1:4] for line in text.splitlines()
            if line.startswith("| ") and "**" in line}  # fmt: skip
    assert rows == {
        "uvicorn-async": ["**150**", "1.50", "wins"],
        "gunicorn-gthread": ["**100**", "1.00", ""],
        "uvicorn-async-stock": ["**95**", "0.95", "ties"],
        "gunicorn-sync": ["**20**", "0.20", ""],
    }
    assert text.count("### C = 100, D = 100 ms") == 1


def test_the_published_run_renders_every_scenario_and_the_lab_reads_it_the_same_way():
    """renders docs/benchmark/results.json with a section per scenario, every target measured."""
    results = json.loads(Path(settings.BENCHMARK_RESULTS).read_text())
    text = report.markdown(results)
    for title in results["scenarios"].values():
        assert f"## {title}" in text
    verdicts = {target: verdict for (target, _), (_, verdict) in targets_of(results).items()}
    assert set(verdicts) == {"P1", "P2", "P3", "P4", "P5", "Z1", "Z2"}
    assert all(verdict != "not measured" for verdict in verdicts.values())
    for contestant in ("gunicorn-gthread", "uvicorn-async", "uvicorn-async-driver"):
        cell = report.find(results, "seed", contestant, database="postgresql")
        assert cell == figures.find(results, "seed", contestant, database="postgresql")
        assert cell["throughput"] > 0


def test_a_run_recorded_before_cells_named_their_database_renders_as_sqlite():
    """renders the archived run of docs/benchmark/2026-12-01-1247, whose cells name no database, as SQLite."""
    results = report.read(Path(settings.BENCHMARK_RESULTS).parent / "2026-12-01-1247" / "results.json")
    assert {cell["database"] for cell in results["cells"]} == {"sqlite"}
    text = report.markdown(results)
    assert "## The seed experiment" in text and "### On SQLite" in text
    assert report.find(results, "upstream", "uvicorn-async", concurrency=100, delay_ms=100)["throughput"] > 0


def test_plans_run_the_database_path_on_sqlite_and_on_postgresql_when_it_is_set(monkeypatch):
    """gives every database scenario its sync and async contestants on each database, each its own server."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    for plan in (run.full_plan(), run.quick_plan(), run.database_plan()):
        assert {c.database for c in plan.cells} == {"sqlite"}
    monkeypatch.setenv("DATABASE_URL", "postgres://user:password@127.0.0.1:5432/name")
    for plan in (run.full_plan(), run.quick_plan(), run.database_plan()):
        assert len({c.key for c in plan.cells}) == len(plan.cells)
        for database in ("sqlite", "postgresql"):
            for scenario in DATABASE_SCENARIOS:
                names = {c.contestant for c in plan.cells if (c.scenario, c.database) == (scenario, database)}
                assert {"gunicorn-gthread", "uvicorn-async", "uvicorn-async-stock"} <= names, (
                    plan.mode,
                    scenario,
                )
        postgres = [c for c in plan.cells if c.database == "postgresql"]
        assert {c.scenario for c in postgres} == set(DATABASE_SCENARIOS)
        assert all(c.server == c.contestant + "@postgresql" for c in postgres)
        assert "gunicorn-sync" in {c.contestant for c in postgres if c.scenario == "seed"}


def test_plans_measure_the_fanout_light_the_middleware_pair_again_and_every_other_server():
    """puts the fan-out at C=2, repeats the P4 pair in later rounds, and the other servers in their cells."""
    for plan, rounds in ((run.full_plan(), run.MIDDLEWARE_ROUNDS), (run.quick_plan(), 2)):
        fanouts = {(c.contestant, c.concurrency) for c in plan.cells if c.scenario == "fanout"}
        assert {("uvicorn-async", run.FANOUT_LIGHT), ("reference", run.FANOUT_LIGHT)} <= fanouts
        pair = [c for c in plan.cells if c.scenario == "hello" and c.contestant in run.MIDDLEWARE_PAIR]
        assert sorted((c.contestant, c.round) for c in pair) == sorted(
            (name, r) for name in run.MIDDLEWARE_PAIR for r in range(rounds)
        )
    for plan in (run.full_plan(), run.servers_plan()):
        for name in OTHER_SERVERS:
            cells = {(c.scenario, c.concurrency, c.delay_ms) for c in plan.cells if c.contestant == name}
            assert {("upstream", 100, 100), ("upstream", 1000, 1000)} <= cells, (plan.mode, name)
            assert {"hello", "seed"} <= {scenario for scenario, *_ in cells}, (plan.mode, name)
    assert {c.contestant for c in run.servers_plan().cells} == set(WHICH_SERVER)
    assert set(OTHER_SERVERS) <= {c.contestant for c in run.quick_plan().cells}


def test_the_driver_contestants_run_the_database_path_on_postgresql_only(monkeypatch):
    """puts the driver twin in the seed and read cells on PostgreSQL, never on SQLite or without its views."""
    monkeypatch.setenv("DATABASE_URL", "postgres://user:password@127.0.0.1:5432/name")
    drivers = {(c.scenario, c.database) for c in run.full_plan().cells if c.contestant in DRIVER_SERVERS}
    assert drivers == {("seed", "postgresql"), ("read", "postgresql")}
    monkeypatch.delenv("DATABASE_URL")
    assert not [c for c in run.full_plan().cells if c.contestant in DRIVER_SERVERS]
    paths = {"async_poll_driver": "/demo/async_poll_driver/", "async_vote_driver": "/v/"}
    seed = run.Cell("seed", "uvicorn-async-driver", 10, think_ms=(50, 100), database="postgresql")
    # The same flow as the other twins': the rendered form, then the vote it posts.
    assert run.path_for(seed, paths) == "/demo/async_poll_driver/?question=1"
    form = "/demo/async_poll_driver/?question=1"
    assert (run.path_for(seed, paths, "vote"), run.path_for(seed, paths, "form")) == ("/v/", form)
    with pytest.raises(RuntimeError, match="no view named 'async_poll_driver'"):
        run.path_for(seed, {})


def test_database_tables_show_each_contestants_thread_hops_and_absent_ones_as_not_run():
    """renders the hops counted for a contestant on that database, and lists a contestant the run left out."""
    seed = {"scenario": "seed", "delay_ms": 0, "database": "postgresql", "think_ms": [500, 1000]}
    cells = [complete_cell(**seed, contestant=name) for name in ("gunicorn-gthread", "uvicorn-async-stock")]
    results = run_of(cells) | {"hops": {"uvicorn-async-stock": {"postgresql": 16, "sqlite": 15}}}
    results["not_run"] = {"uvicorn-async-driver": "not run: PostgreSQL only"}
    text = report.markdown(results)
    assert (
        "| seed, C = 100 | PostgreSQL | 90, 1.0 ms, - | 90, 1.0 ms, 16 | 1.00 | uvicorn-async-stock ties |"
        in text
    )
    assert "uvicorn-async-stock: req/s, CPU/req, thread hops per request" in text
    assert "| uvicorn-async-driver | not run: PostgreSQL only |" in text


def test_cells_load_the_views_the_project_names_for_each_twin():
    """reverses each twin's view from the URLconf, the variants' too, and refuses a variant off its view."""
    paths = run.view_paths()
    cell = run.Cell
    assert run.path_for(cell("seed", "gunicorn-gthread", 10), paths) == "/demo/sync_poll/?question=1"
    assert run.path_for(cell("seed", "uvicorn-async", 10), paths) == "/demo/async_poll/?question=1"
    threaded = cell("fanout", "gunicorn-gthread", 10, delay_ms=100, calls=10, variant="threaded")
    assert run.path_for(threaded, paths) == "/demo/sync_fanout_threaded/?n=10&delay=100"
    # The client waits 3 x the least latency: the sequential fan-out's K waits, one after another.
    sequential = cell("fanout", "gunicorn-sync", 10, delay_ms=5000, calls=10)
    assert (dataclasses.replace(threaded, delay_ms=5000).timeout, sequential.timeout) == (15.0, 150.0)
    pitfall = cell("upstream", "uvicorn-async", 100, delay_ms=100, variant="client-per-request")
    assert run.path_for(pitfall, paths) == "/demo/async_client_per_request_badly/?delay=100"
    assert run.path_for(cell("c10k", "reference", 10, delay_ms=10), paths) == "/upstream?delay=10"
    with pytest.raises(ValueError, match="replaces async_upstream"):
        run.path_for(
            cell("upstream", "gunicorn-gthread", 100, delay_ms=100, variant="client-per-request"), paths
        )


class LiveServer:
    def __init__(self, url: str):
        self.url = url


def test_write_cells_post_one_choice_with_a_token_from_the_real_form(transactional_db, live_server, client):
    """reads the token and a choice from the contestant's own poll form; the POST it builds is counted."""
    call_command("seed_demo", verbosity=0)
    paths = run.view_paths()
    sync = run.Cell("locked", "gunicorn-gthread", 10)
    token, body = run.load_args(sync, LiveServer(live_server.url), paths)
    first = Question.objects.get(pk=1).choice_set.order_by("id").first()
    assert body == f"question=1&choice={first.pk}"
    seed = run.Cell("seed", "uvicorn-async", 10, think_ms=(50, 100))
    choices = ",".join(
        str(pk) for pk in Question.objects.get(pk=1).choice_set.order_by("id").values_list("pk", flat=True)
    )
    *flow, token, sent = run.load_args(seed, LiveServer(live_server.url), paths)
    assert flow == ["/demo/async_poll/?question=1", "/demo/async_vote/", 1, 50, 100]
    assert token and sent == choices  # the form's token and every choice, for vote.lua
    mixed = run.Cell("checked", "uvicorn-async", 10, delay_ms=100)
    assert (
        run.load_args(mixed, LiveServer(live_server.url), paths)[1]
        == f"question=1&choice={first.pk}&delay=100"
    )
    # What write.lua sends: the cookie, the same token in the header, the form.
    client.cookies["csrftoken"] = token
    url = run.path_for(sync, paths)
    response = client.post(
        url, body, content_type="application/x-www-form-urlencoded", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 200, response.content
    assert response.json()["result"]["votes"] == first.votes + 1


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
