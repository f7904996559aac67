"""
Turn results.json into report.md and the plots. Rerun on saved results with:

    python -m bench.report bench/results/<run>/results.json
"""

import json
import math
import statistics
import sys
from pathlib import Path

from bench.contestants import LIFESPAN, OTHER_SERVERS, VARIANTS, WHICH_SERVER, WHICH_SERVER_BASE

# Targets the async path is held to (ratios from the same run); see the README's benchmark section.
P1_FANOUT_P50 = 1.15  # async fan-out p50 <= 1.15 D
P2_VS_GTHREAD, P2_VS_REFERENCE = 1.2, 0.8  # C=100, D=100 ms
P3_VS_GTHREAD, P3_VS_REFERENCE = 4.0, 0.8  # C=1000, D=1 s
P4_MIDDLEWARE_CPU = 1.25  # hello CPU per request, full middleware vs none
D12_VS_GTHREAD = 0.9  # seed scenario, async twins / sync twins under gthread, per database
D3_CPU = 1.2  # seed scenario, CPU per request, async / sync twins, per database
# Within this ratio of each other, two figures of one run on a shared machine are a tie.
TIE = 0.1
DATABASE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
# The database table's contestants: sync twins first, then the async ones, both profiles.
DATABASE_COLUMNS = ("gunicorn-sync", "gunicorn-gthread", "uvicorn-async", "uvicorn-async-stock")


def ok_cells(results: dict, scenario: str) -> list[dict]:
    """The scenario's measured cells, first rounds only (what the tables show)."""
    return [c for c in all_rounds(results, scenario) if not c.get("round")]


def all_rounds(results: dict, scenario: str) -> list[dict]:
    return [c for c in results["cells"] if c["scenario"] == scenario and c["status"] == "ok"]


def median_cpu(results: dict, scenario: str, contestant: str) -> tuple[float, list[float]] | None:
    """The median CPU per request over every round of a contestant's cell, and the rounds'."""
    cpus = [
        c["cpu_ms_per_request"]
        for c in all_rounds(results, scenario)
        if c["contestant"] == contestant and not c["variant"] and c["cpu_ms_per_request"]
    ]
    return (statistics.median(cpus), cpus) if cpus else None


def database_of(cell: dict) -> str:
    """The database a cell's server used (runs before the database path had one: SQLite)."""
    return cell.get("database", "sqlite")


def databases_in(cells: list[dict]) -> list[str]:
    """The databases these cells used, SQLite first."""
    return [d for d in DATABASE_NAMES if any(database_of(c) == d for c in cells)]


def find(
    results: dict, scenario: str, contestant: str, variant: str = "", database: str = "sqlite", **where
) -> dict | None:
    for cell in ok_cells(results, scenario):
        same = cell["contestant"] == contestant and cell["variant"] == variant
        if same and database_of(cell) == database and all(cell[k] == v for k, v in where.items()):
            return cell
    return None


def name_of(results: dict, cell: dict) -> str:
    label = results["contestants"][cell["contestant"]]["label"]
    if cell["variant"]:
        label += ", " + VARIANTS[cell["variant"]].label
    elif cell["scenario"] == "fanout" and cell["url_path"].startswith("/demo/sync_fanout/"):
        label += ", sequential fan-out view"
    return label


def ms(value: float | None) -> str:
    if value is None:
        return "-"
    return (
        f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"
    )


def latency(cell: dict, which: str) -> str:
    """A latency percentile, or "-" when nothing was answered to measure it on."""
    return ms(cell["latency_ms"][which]) if cell["requests"] else "-"


def rate(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 10 or value == 0 else f"{value:.1f}"


def wait_s(cell: dict) -> float:
    """The upstream wait one request of this cell cannot avoid, in seconds."""
    sequential = cell["scenario"] == "fanout" and cell["url_path"].startswith("/demo/sync_fanout/")
    return cell["delay_ms"] * (cell["calls"] if sequential else 1) / 1000


def window(results: dict, cell: dict) -> float:
    """The measured window the run asked wrk for, in seconds."""
    # C10K runs until its last request is answered or times out: its window is what it took.
    return cell["seconds"] if cell["scenario"] == "c10k" else results["settings"]["duration_s"]


def window_limit(cell: dict, seconds: float, wait: float | None = None) -> float | None:
    """C/D (or C/wait), counted the way a closed-loop run of `seconds` can: only whole rounds finish."""
    if cell["scenario"] == "seed":
        think = sum(cell["think_ms"]) / 2 / 1000
        return cell["concurrency"] / think
    wait = cell["delay_ms"] / 1000 if wait is None else wait
    if not wait:
        return None
    return cell["concurrency"] * math.floor(seconds / wait) / seconds


def explain(results: dict, cell: dict) -> str:
    """One sentence: which bound holds this contestant here, and how close it came."""
    contestant = results["contestants"][cell["contestant"]]
    cores = results["machine"]["cores"]
    tp, cpu = cell["throughput"], cell["cpu_ms_per_request"]
    wait = wait_s(cell)
    slots = contestant["slots"]
    bounds = {}
    if cpu:
        bounds["cpu"] = cores / (cpu / 1000)
    limit = window_limit(cell, window(results, cell), wait)
    if limit:
        bounds["wait"] = limit
    if slots and wait:
        bounds["slots"] = slots / wait
    if cell["scenario"] in ("seed", "hello") and slots:
        bounds.pop("slots", None)
    binding = min(bounds, key=bounds.get) if bounds else None
    if not cell["requests"]:
        return (
            f"No request completed within the {cell['seconds']:.0f} s window: all {cell['concurrency']} "
            f"connections were still waiting (server CPU {cell['server_cpu_s']:.1f} s over the window)."
        )
    share = f"{tp / bounds[binding]:.0%}" if binding else ""
    if cell["scenario"] == "hello":
        text = (
            f"{ms(cpu)} of server CPU per request bounds it to about {rate(bounds.get('cpu'))} req/s on "
            f"{cores} cores, which it shares with wrk"
        )
        reference = find(results, "hello", "reference")
        if reference and reference is not cell and reference["cpu_ms_per_request"] and cpu:
            text += f"; {cpu / reference['cpu_ms_per_request']:.1f}x the reference's CPU per request"
        if cell["contestant"] == "uvicorn-sync":
            text += " (each sync view also hops to a thread and back)"
    elif binding == "slots":
        queued = cell["concurrency"] - slots
        text = f"{contestant['why']}, so at most {slots}/{wait:g} s = {rate(bounds['slots'])} req/s"
        text += f"; the other {queued} connections queue, hence the p99" if queued > 0 else ""
        if cell["scenario"] == "fanout" and cell["variant"] != "threaded" and wait > cell["delay_ms"] / 1000:
            text += f" (and each request makes its {cell['calls']} calls one after another: {wait:g} s)"
    elif binding == "cpu":
        text = (
            f"CPU is the limit here: {ms(cpu)} of server CPU per request allows about "
            f"{rate(bounds['cpu'])} req/s on {cores} cores (shared with wrk and the upstream); "
            f"it served {share} of that"
        )
        if cell["contestant"] == "uvicorn-sync":
            text = f"each waiting sync view holds a thread ({cell['peak_threads']} at peak), so " + text
        elif slots is None:
            text = "waits hold no worker, so " + text
        text += other_load(cell) + client_cost(results, cell)
    elif binding == "wait":
        what = "of the offered load (users / think time)" if cell["scenario"] == "seed" else "that C/D allows"
        if wait > cell["delay_ms"] / 1000 and cell["scenario"] == "fanout":
            what = f"that C/(K·D) allows, its {cell['calls']} calls running one after another"
        if tp >= 0.8 * bounds["wait"]:
            text = f"it keeps up with the upstream: {share} of the {rate(bounds['wait'])} req/s {what}"
        else:
            used = tp * cpu / 1000 if cpu else 0
            text = (
                f"nothing in its design stops it below the {rate(bounds['wait'])} req/s {what}, yet it "
                f"served {share}: "
                f"it was short of CPU, using {used:.1f} of the {cores} cores" + other_load(cell)
            )
    else:
        text = "no bound applies"
    if errors_text(cell):
        text += "; errors: " + errors_text(cell)
    if cell.get("process_churn"):
        text += " (a server process exited or started during the window: its CPU figure is not exact)"
    if cell.get("restarts"):
        text += f" (restarted {' and '.join(cell['restarts'])}: still busy with abandoned requests)"
    return text[0].upper() + text[1:] + "."


def errors_text(cell: dict) -> str:
    """The cell's errors by kind, e.g. "3 timeout, 1 read"; empty when there were none."""
    return ", ".join(f"{n} {kind}" for kind, n in cell["errors"].items() if n)


def other_load(cell: dict) -> str:
    other = cell.get("other_cpu_percent_of_machine") or 0
    return f"; other processes on the machine took {other:.0f}% of it meanwhile" if other > 10 else ""


def client_cost(results: dict, cell: dict) -> str:
    """Show, from the reference, how much of the CPU per request is the upstream call itself."""
    if cell["scenario"] not in ("upstream", "fanout"):
        return ""
    hello = find(results, "hello", "reference")
    here = find(
        results, cell["scenario"], "reference", concurrency=cell["concurrency"], delay_ms=cell["delay_ms"]
    )
    if not (hello and here and here["cpu_ms_per_request"] and hello["cpu_ms_per_request"]):
        return ""
    return (
        f"; the reference (no Django) spends {ms(here['cpu_ms_per_request'])} per request here against "
        f"{ms(hello['cpu_ms_per_request'])} for hello, so most of it goes to the upstream client"
    )


def table(results: dict, cells: list[dict], *, limit: str) -> list[str]:
    lines = [
        f"| contestant | req/s | {limit} | p50 | p99 | errors | CPU/req | threads | RSS | fds | wrk CPU "
        "| why |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for cell in cells:
        lim = window_limit(cell, window(results, cell))
        if cell["scenario"] == "hello":
            lim = None
        errors = sum(cell["errors"].values())
        lines.append(
            f"| {name_of(results, cell)} | **{rate(cell['throughput'])}** | {rate(lim)} | "
            f"{latency(cell, 'p50')} | {latency(cell, 'p99')} | {errors or 0} | "
            f"{ms(cell['cpu_ms_per_request'])} | {cell['peak_threads']} | {cell['peak_rss_mb']:.0f} MB | "
            f"{cell['peak_fds']} | {cell['wrk_cpu_percent_of_core']:.0f}% | {explain(results, cell)} |"
        )
    return lines


def c10k_intro(results: dict, cell: dict) -> str:
    c, wait, ramp = cell["concurrency"], ms(cell["delay_ms"]), results["settings"]["c10k_ramp_s"]
    return (
        f"C = {c:,} connections opened over {ramp} s, one request each, each waiting {wait} on the "
        f"upstream: at best all {c:,} answered, about {wait} each. Threads, RSS and fds are the "
        "server's at the peak sample; client CPU is the load generator's (bench/hold.py)."
    )


def c10k_table(results: dict, cells: list[dict]) -> list[str]:
    """C10K: how many of the C requests were answered, and what holding them cost the server."""
    lines = [
        "| contestant | answered 2xx | most open at once | p50 | p99 | errors | seconds | CPU/req | threads "
        "| RSS | fds | client CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for cell in cells:
        lines.append(
            f"| {name_of(results, cell)} | **{cell['requests'] - cell['errors']['non_2xx']:,}** of "
            f"{cell['concurrency']:,} | {cell.get('max_in_flight', '-')} | {latency(cell, 'p50')} | "
            f"{latency(cell, 'p99')} | {errors_text(cell) or 0} | "
            f"{cell['seconds']:.0f} | {ms(cell['cpu_ms_per_request'])} | {cell['peak_threads']} | "
            f"{cell['peak_rss_mb']:.0f} MB | {cell['peak_fds']} | {cell['wrk_cpu_percent_of_core']:.0f}% |"
        )
    return lines


def headline(results: dict) -> list[str]:
    points = [(100, 100), (1000, 1000)]
    lines = [
        "| contestant | " + " | ".join(f"C={c}, D={ms(d)}: req/s | p99" for c, d in points) + " |",
        "|---|" + "---:|---:|" * len(points),
    ]
    measured = {c["contestant"] for c in ok_cells(results, "upstream")}
    names = [name for name in results["contestants"] if name in measured]
    for name in names:
        row = [results["contestants"][name]["label"]]
        for concurrency, delay in points:
            cell = find(results, "upstream", name, concurrency=concurrency, delay_ms=delay)
            row += [rate(cell["throughput"]), latency(cell, "p99")] if cell else ["-", "-"]
        lines.append("| " + " | ".join(row) + " |")
    limits = ["limit C/D"]
    for concurrency, delay in points:
        limits += [rate(concurrency / (delay / 1000)), ms(delay)]
    lines.append("| " + " | ".join(limits) + " |")
    return lines


def which_server(results: dict) -> list[str]:
    """The server comparison: req/s (and its ratio to uvicorn's), p99 and errors, cell by cell.

    Empty unless one of the other servers was measured. Every figure comes from the same run;
    the ratios divide by uvicorn-async-stock's req/s in the same cell.
    """
    measured = {c["contestant"] for c in results["cells"] if c["status"] == "ok"}
    if not measured & set(OTHER_SERVERS):
        return []
    names = [name for name in WHICH_SERVER if name in measured]
    # The load points the other servers were measured at (the full run has more for uvicorn's).
    upstream = [c for c in ok_cells(results, "upstream") if c["contestant"] in OTHER_SERVERS]
    points = sorted({(c["concurrency"], c["delay_ms"]) for c in upstream}, key=lambda p: (p[1], p[0]))
    columns = [
        ("hello", {}),
        *(("upstream", {"concurrency": c, "delay_ms": d}) for c, d in points),
        ("seed", {}),
    ]
    headers = ["hello: req/s (x uvicorn)", "CPU/req"]
    for concurrency, delay in points:
        headers += [f"C={concurrency}, D={ms(delay)}: req/s (x uvicorn)", "p99"]
    headers += ["seed: req/s (x uvicorn)", "p99", "errors"]
    lines = [
        "| server | lifespan | " + " | ".join(headers) + " |",
        "|---|---|" + "---:|" * len(headers),
    ]
    for name in names:
        row, errors = [name, LIFESPAN.get(name, "?")], 0
        for scenario, where in columns:
            cell = find(results, scenario, name, **where)
            base = find(results, scenario, WHICH_SERVER_BASE, **where)
            if cell is None:
                row += ["-", "-"]
                continue
            ratio = f" ({times(cell['throughput'], base['throughput'])})" if base else ""
            second = ms(cell["cpu_ms_per_request"]) if scenario == "hello" else latency(cell, "p99")
            row += [f"{rate(cell['throughput'])}{ratio}", second]
            errors += sum(cell["errors"].values())
        lines.append("| " + " | ".join([*row, str(errors)]) + " |")
    return lines


def database_label(results: dict, database: str) -> str:
    """E.g. "PostgreSQL 15.14, Django's pool"; from what the run's servers were configured with."""
    about = results.get("databases", {}).get(database)
    if not about:
        return DATABASE_NAMES[database]
    options = about["options"]
    if "pool" in options:
        pool = options["pool"]
        extra = (
            f"Django's pool, {pool.get('min_size', '?')}-{pool.get('max_size', '?')} connections per process"
        )
    else:
        extra = f"{options.get('init_command', '')}, transaction_mode {options.get('transaction_mode', '-')}"
        extra += f", CONN_MAX_AGE {about['conn_max_age']}"
        tuned = about.get("conn_max_age_tuned", about["conn_max_age"])
        if tuned != about["conn_max_age"]:
            extra += (
                f" on the stock profile and {tuned} on the tuned one (every row here but uvicorn-async-stock)"
            )
    return f"{about['version']} ({extra})"


def verdict_of(ratio: float) -> str:
    """Async against the sync twins, from one run's req/s ratio."""
    return "wins" if ratio >= 1 + TIE else "loses" if ratio <= 1 - TIE else "ties"


DATABASE_WHY = {
    "seed": "each request is a few ms of CPU and a short query: no wait for async to overlap, "
    "and the async twin pays for handing its unit of work to a thread",
    "read": "one short query per request: no wait to overlap, and a thread hop on top",
    "locked": "every write waits for the row's lock inside the database, holding a thread and a "
    "connection in both styles: async cannot overlap a wait it has handed to a thread",
    "checked": "each request waits D on the upstream before its write: the sync twin holds one of "
    "gthread's threads for the whole wait, the async one holds no thread until it writes",
}


def database_path(results: dict) -> list[str]:
    """The database scenarios: each contestant's req/s and CPU per request, per database, and a verdict."""
    cells = [c for c in results["cells"] if c["scenario"] in DATABASE_WHY and c["status"] == "ok"]
    if not cells:
        return []
    databases = databases_in(cells)
    names = [n for n in DATABASE_COLUMNS if n in results["contestants"]]
    lines = [
        "| scenario | database | "
        + " | ".join(f"{n}: req/s, CPU/req" for n in names)
        + " | tuned / gthread | stock / gthread | async |",
        "|---|---|" + "---:|" * len(names) + "---:|---:|---|",
    ]
    for scenario in DATABASE_WHY:
        for database in databases:
            found = {n: find(results, scenario, n, database=database) for n in names}
            if not any(found.values()):
                continue
            row = [scenario_name(next(c for c in found.values() if c)), DATABASE_NAMES[database]]
            for n in names:
                cell = found[n]
                errors = f", **{errors_text(cell)}**" if cell and errors_text(cell) else ""
                row.append(
                    f"{rate(cell['throughput'])}, {ms(cell['cpu_ms_per_request'])}{errors}" if cell else "-"
                )
            gthread = found.get("gunicorn-gthread")
            ratios = []
            for n in ("uvicorn-async", "uvicorn-async-stock"):
                cell = found.get(n)
                ok = cell and gthread and gthread["throughput"]
                ratios.append(cell["throughput"] / gthread["throughput"] if ok else None)
            row += [f"{r:.2f}" if r is not None else "-" for r in ratios]
            verdicts = [
                f"{profile} {verdict_of(r)}"
                for profile, r in zip(("tuned", "stock"), ratios, strict=True)
                if r is not None
            ]
            row.append(", ".join(verdicts) + ": " + DATABASE_WHY[scenario] if verdicts else "-")
            lines.append("| " + " | ".join(row) + " |")
    return lines


def scenario_name(cell: dict) -> str:
    scenario = cell["scenario"]
    if scenario == "seed":
        return f"seed, {cell['concurrency']} users"
    if scenario == "checked":
        return f"mixed, C={cell['concurrency']}, D={ms(cell['delay_ms'])}"
    return f"{scenario}, C={cell['concurrency']}"


def database_targets(results: dict) -> list[tuple[str, str, str]]:
    """D1-D3: the seed scenario's async twins against the sync ones, per database."""
    rows = []
    for label, database in (("D1", "postgresql"), ("D2", "sqlite")):
        gthread = find(results, "seed", "gunicorn-gthread", database=database)
        if not gthread:
            continue
        for name, profile in (("uvicorn-async", "tuned"), ("uvicorn-async-stock", "stock")):
            cell = find(results, "seed", name, database=database)
            if not cell:
                continue
            ratio = cell["throughput"] / gthread["throughput"]
            errors = sum(cell["errors"].values())
            ok = ratio >= D12_VS_GTHREAD and errors == 0
            rows.append(
                (
                    f"{label} seed on {DATABASE_NAMES[database]}, {profile} profile: async / gthread",
                    f"{ratio:.2f} (>= {D12_VS_GTHREAD}), {errors} errors",
                    ("met" if ok else "**not met**") if profile == "tuned" else "reported",
                )
            )
    for database in DATABASE_NAMES:
        gthread = find(results, "seed", "gunicorn-gthread", database=database)
        if not gthread or not gthread["cpu_ms_per_request"]:
            continue
        for name, profile in (("uvicorn-async", "tuned"), ("uvicorn-async-stock", "stock")):
            cell = find(results, "seed", name, database=database)
            if not cell or not cell["cpu_ms_per_request"]:
                continue
            ratio = cell["cpu_ms_per_request"] / gthread["cpu_ms_per_request"]
            rows.append(
                (
                    f"D3 seed on {DATABASE_NAMES[database]}, {profile} profile: CPU/request async / gthread",
                    f"{ratio:.2f} (<= {D3_CPU}): {ms(cell['cpu_ms_per_request'])} against "
                    f"{ms(gthread['cpu_ms_per_request'])}",
                    ("met" if ratio <= D3_CPU else "**not met**") if profile == "tuned" else "reported",
                )
            )
    return rows


def times(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else f"{a:g} vs 0"


def targets(results: dict) -> list[str]:
    """The ratios the async path is held to, computed from this run."""
    rows = []

    def verdict(ok: bool | None) -> str:
        return "-" if ok is None else "met" if ok else "**not met**"

    def p50_over_d(cell: dict) -> float:
        return cell["latency_ms"]["p50"] / cell["delay_ms"]

    def fanout_point(cell: dict) -> str:
        return f"K={cell['calls']}, D={cell['delay_ms']} ms, C={cell['concurrency']}"

    fans = sorted(
        (c for c in ok_cells(results, "fanout") if c["contestant"] == "uvicorn-async" and not c["variant"]),
        key=lambda c: c["concurrency"],
    )
    if fans:
        # The lightest load is the target: whether the calls overlap, not how many fit the CPU.
        light, *heavier = fans
        ratio = p50_over_d(light)
        rows.append(
            (
                f"P1 fan-out {fanout_point(light)}: async p50 / D",
                f"{ratio:.2f} (<= {P1_FANOUT_P50})",
                verdict(ratio <= P1_FANOUT_P50),
            )
        )
        for fan in heavier:
            ref = find(results, "fanout", "reference", concurrency=fan["concurrency"])
            against = f"; reference {p50_over_d(ref):.2f}" if ref else ""
            rows.append(
                (
                    f"fan-out {fanout_point(fan)}, more load: async p50 / D",
                    f"{p50_over_d(fan):.2f}{against}",
                    "-",
                )
            )
    for label, (c, d), (vs_g, vs_r) in (
        ("P2 C=100, D=100 ms", (100, 100), (P2_VS_GTHREAD, P2_VS_REFERENCE)),
        ("P3 C=1000, D=1 s", (1000, 1000), (P3_VS_GTHREAD, P3_VS_REFERENCE)),
    ):
        a = find(results, "upstream", "uvicorn-async", concurrency=c, delay_ms=d)
        g = find(results, "upstream", "gunicorn-gthread", concurrency=c, delay_ms=d)
        r = find(results, "upstream", "reference", concurrency=c, delay_ms=d)
        if a and g and r:
            # Nothing answered is worse than an error, though wrk counts no error for it.
            errors = sum(a["errors"].values()) if a["requests"] else "nothing answered"
            rows.append(
                (
                    f"{label}: async / gthread",
                    f"{times(a['throughput'], g['throughput'])} (>= {vs_g})",
                    verdict(a["throughput"] >= vs_g * g["throughput"]),
                )
            )
            rows.append(
                (
                    f"{label}: async / reference",
                    f"{times(a['throughput'], r['throughput'])} (>= {vs_r})",
                    verdict(a["throughput"] >= vs_r * r["throughput"]),
                )
            )
            rows.append((f"{label}: async errors", str(errors), verdict(errors == 0)))
    full = median_cpu(results, "hello", "uvicorn-async")
    bare = median_cpu(results, "hello", "uvicorn-async-nomw")
    if full and bare:
        ratio = full[0] / bare[0]
        label = "P4 hello CPU/request: full middleware / none"
        stacks = [
            results["contestants"][name]["middleware"] for name in ("uvicorn-async", "uvicorn-async-nomw")
        ]
        if stacks[0] == stacks[1]:
            # This checkout does not read the switch: both ran the same stack, nothing to compare.
            rows.append((label, f"{ratio:.2f}, but ASYNCDEMO_MIDDLEWARE=none was not read: same stack", "-"))
        else:
            value = f"{ratio:.2f} (<= {P4_MIDDLEWARE_CPU})"
            if len(full[1]) > 1 or len(bare[1]) > 1:
                each = ", ".join(f"{a:.2f}/{b:.2f} ms" for a, b in zip(full[1], bare[1], strict=False))
                value += f"; medians of {len(full[1])} and {len(bare[1])} rounds ({each})"
            rows.append((label, value, verdict(ratio <= P4_MIDDLEWARE_CPU)))
    c10k = find(results, "c10k", "uvicorn-async")
    if c10k:
        errors = sum(c10k["errors"].values())
        answered = c10k["requests"] - c10k["errors"]["non_2xx"]
        rows.append(
            (
                f"P5 {c10k['concurrency']:,} in flight: async answers",
                f"{answered:,} of {c10k['concurrency']:,} answered 2xx, {errors} errors; at peak "
                f"{c10k.get('max_in_flight', '?')} connections open, threads {c10k['peak_threads']}, "
                f"RSS {c10k['peak_rss_mb']:.0f} MB, fds {c10k['peak_fds']}",
                verdict(errors == 0 and answered == c10k["concurrency"]),
            )
        )
    rows += database_targets(results)
    if not rows:
        return []
    return ["| target | this run | |", "|---|---|---|", *(f"| {a} | {b} | {c} |" for a, b, c in rows)]


def machine_lines(results: dict) -> list[str]:
    m = results["machine"]
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items())
    others = [
        c["other_cpu_percent_of_machine"] for c in results["cells"] if c.get("other_cpu_percent_of_machine")
    ]
    others.sort()
    other = others[len(others) // 2] if others else 0
    load = (
        f"**The machine was shared and busy**: outside this benchmark's own processes it was {other:.0f}% "
        "busy during the median cell, so absolute numbers are noisy; compare contestants within a row."
        if other > 10
        else f"Other processes used {other:.0f}% of the machine during the median cell."
    )
    return [
        f"- Run: {results['mode']}, {results['started']} to {results.get('finished', '?')} UTC, "
        f"commit {m['commit']}.",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB RAM, Linux {m['kernel']}, "
        f"Python {m['python']}; {m['wrk']}.",
        f"- Packages: {packages}.",
        f"- Load average at start {' '.join(results['loadavg_start'])}, at end "
        f"{' '.join(results.get('loadavg_end', ['?']))}. {load}",
        f"- Every server: {results['settings']['processes_per_server']} processes, DEBUG=0, access logs off; "
        f"each cell warms up {results['settings']['warmup_s']} s, then measures "
        f"{results['settings']['duration_s']} s (C10K: its connections open over "
        f"{results['settings']['c10k_ramp_s']} s, one request each, and it runs until every one is answered "
        "or times out).",
    ]


def markdown(results: dict) -> str:
    out = ["# asyncdemo benchmark results", ""]
    out += [*machine_lines(results), ""]
    out += [
        "Everything runs on the same cores: the server under test, the slow upstream (its own process) and "
        "wrk. Figures are ratios between contestants measured side by side, not absolute promises.",
        "",
        "## Main table: one upstream call",
        "",
        *headline(results),
        "",
    ]
    server_lines = which_server(results)
    if server_lines:
        out += [
            "## Which server",
            "",
            "The same Django project under each server, 2 processes each, side by side in this run: async "
            "views on the stock profile under the ASGI servers, sync views under the WSGI ones. In "
            "brackets, req/s divided by uvicorn's (uvicorn-async-stock) in the same cell. Lifespan: "
            "what the server sends the app; without it the async views' upstream client keeps no idle "
            "connections (docs/servers.md).",
            "",
            *server_lines,
            "",
        ]
    target_lines = targets(results)
    if target_lines:
        out += [
            "## Targets for the async path",
            "",
            "P1: fan-out p50 within 15% of one D, at light load; P2, P3: async views against threaded "
            "WSGI and the non-Django reference; P4: the full middleware stack costs at most 25% more "
            "CPU than none, from the medians of the pair's rounds (the hello table shows the first); "
            "P5: 10,000 slow requests in flight without errors.",
            "",
            *target_lines,
            "",
        ]
    database_lines = database_path(results)
    if database_lines:
        databases = databases_in([c for c in results["cells"] if c["scenario"] in DATABASE_WHY])
        out += [
            "## The database path",
            "",
            "The seed scenario and three more database scenarios, each contestant on each database side "
            "by side in this run: sync twins under gunicorn, async twins under uvicorn on both profiles. "
            f"The verdict compares the async twins' req/s with gthread's (within {TIE:.0%} is a tie). "
            "Databases:",
            "",
            *(f"- {DATABASE_NAMES[d]}: {database_label(results, d)}" for d in databases),
            "",
            *database_lines,
            "",
        ]
    out += [
        "## How to read the tables",
        "",
        "- **req/s**: requests answered per second of the measured window (any status). **limit**: what "
        "the waits allow, C/D counted in whole rounds of the window (a closed-loop run of 8 s at D=1 s can "
        "finish only 7 rounds); for the seed scenario, users / mean think time; for hello, the CPU bound "
        "in the sentence.",
        "- **p50, p99**: latency of the answered requests. **errors**: non-2xx answers, wrk timeouts, "
        "connect/read/write errors, added up (results.json has them apart).",
        "- **CPU/req**: CPU time of all the server's processes over the window, divided by the requests "
        "answered. **threads, RSS, fds**: peak over the window, summed over the server's processes. "
        "**wrk CPU**: the load generator's own CPU, in % of one core (near 200% it is the bottleneck).",
        "- What wrk hides: it is a closed loop. Each connection sends its next request only when the last "
        "one is answered, so a stalled server is sent less work, and requests still waiting when the window "
        "closes are not counted at all (coordinated omission). The latencies are therefore those of the "
        "requests that got through, and a queueing server looks better than it is: read p99 together with "
        "req/s against the limit.",
        "",
    ]
    upstream_cells = ok_cells(results, "upstream")
    points = sorted({(c["delay_ms"], c["concurrency"]) for c in upstream_cells})
    fan_points = sorted({c["concurrency"] for c in ok_cells(results, "fanout")})
    databases = databases_in(results["cells"])
    sections = [
        ("hello", [None]),
        ("upstream", points),
        ("fanout", fan_points or [None]),
        *((scenario, databases) for scenario in DATABASE_WHY),
        ("c10k", [None]),
    ]
    for scenario, keys in sections:
        cells_all = [c for c in results["cells"] if c["scenario"] == scenario and not c.get("round")]
        if not cells_all:
            continue
        out += [f"## {results['scenarios'][scenario]}", ""]
        if scenario == "fanout":
            cell = cells_all[0]
            out += [
                f"Each request makes K={cell['calls']} calls of D={cell['delay_ms']} ms: "
                f"at best D = {cell['delay_ms']} ms when the calls run at once, K·D = "
                f"{ms(cell['calls'] * cell['delay_ms'])} one after another. Target P1 is read at the "
                "lightest load, where the calls' own CPU does not queue them.",
                "",
            ]
        for key in keys:
            cells = [c for c in cells_all if c["status"] == "ok"]
            if scenario in DATABASE_WHY:
                cells = [c for c in cells if database_of(c) == key]
                if not cells:
                    continue
                c0 = cells[0]
                at = f"C = {c0['concurrency']}" + (f", D = {ms(c0['delay_ms'])}" if c0["delay_ms"] else "")
                out += [f"### On {database_label(results, key)}: {at}", ""]
            elif scenario == "fanout" and key is not None:
                cells = [c for c in cells if c["concurrency"] == key]
                calls = key * cells[0]["calls"]
                out += [f"### C = {key}: {calls} calls in flight", ""]
            elif key is not None:
                delay, concurrency = key
                cells = [c for c in cells if c["delay_ms"] == delay and c["concurrency"] == concurrency]
                out += [
                    f"### D = {ms(delay)}, C = {concurrency}: latency ≥ {ms(delay)}, "
                    f"throughput ≤ C/D = {rate(concurrency / (delay / 1000))} req/s",
                    "",
                ]
            elif cells and scenario == "c10k":
                out += [c10k_intro(results, cells[0]), ""]
            elif cells:
                c0 = cells[0]
                out += [f"C = {c0['concurrency']}.", ""]
            if cells and scenario == "c10k":
                out += [*c10k_table(results, cells), ""]
            elif cells:
                out += [*table(results, sorted(cells, key=lambda c: -c["throughput"]), limit="limit"), ""]
        skipped = [c for c in cells_all if c["status"] != "ok"]
        for cell in skipped:
            out.append(
                f"- {results['contestants'].get(cell['contestant'], {}).get('label', cell['contestant'])}: "
                f"{cell['status']} ({cell.get('reason', '')})"
            )
        if skipped:
            out.append("")
    if results.get("plots"):
        out += ["## Plots", ""] + [f"![{name}]({name})" for name in results["plots"]] + [""]
    out += ["## Contestants", "", "| name | command | switches | middleware |", "|---|---|---|---|"]
    for name, c in results["contestants"].items():
        switches = " ".join(f"`{k}={v}`" for k, v in c["switches"].items()) or "defaults"
        middleware = "-" if c["middleware"] is None else f"{len(c['middleware'])} classes"
        out.append(f"| {name}: {c['label']} | `{c['command']}` | {switches} | {middleware} |")
    out += [
        "",
        "A switch the project does not read yet leaves that contestant on the defaults: compare its "
        "middleware count with uvicorn-async's.",
        "",
    ]
    return "\n".join(out)


def plot(results: dict, out: Path) -> list[str]:
    """Draw throughput and p99 against concurrency, one line per contestant; return the file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # One line per server: a variant (another view on the same server) has no line of its own.
    cells = [c for c in ok_cells(results, "upstream") if not c["variant"]]
    delays = sorted({c["delay_ms"] for c in cells})
    if not cells:
        return []
    written = []
    # One colour per contestant in every panel, so a line means the same server everywhere.
    names = [name for name in results["contestants"] if any(c["contestant"] == name for c in cells)]
    # tab20: the full run plots more than ten servers (docs/servers.md's beside the others).
    palette = plt.get_cmap("tab20").colors
    colours = {name: palette[i % len(palette)] for i, name in enumerate(names)}
    for metric, ylabel, filename in (
        ("throughput", "requests/s answered", "upstream-throughput.png"),
        ("p99", "p99 latency (s)", "upstream-p99.png"),
    ):
        fig, axes = plt.subplots(1, len(delays), figsize=(6 * len(delays), 4.8), squeeze=False)
        for ax, delay in zip(axes[0], delays, strict=True):
            here = [c for c in cells if c["delay_ms"] == delay]
            for name in names:
                points = sorted((c["concurrency"], c) for c in here if c["contestant"] == name)
                if not points:
                    continue
                xs = [x for x, _ in points]
                # A cell that answered nothing has no latency and no place on a log scale: leave a gap.
                if metric == "throughput":
                    ys = [c["throughput"] if c["requests"] else math.nan for _, c in points]
                else:
                    ys = [c["latency_ms"]["p99"] / 1000 if c["requests"] else math.nan for _, c in points]
                silent = [str(x) for x, c in points if not c["requests"]]
                label = name + (f" (nothing answered at C={', '.join(silent)})" if silent else "")
                ax.plot(xs, ys, marker="o", label=label, color=colours[name])
            xs = sorted({c["concurrency"] for c in here})
            if metric == "throughput":
                ax.plot(xs, [x / (delay / 1000) for x in xs], "k--", linewidth=1, label="limit C/D")
            else:
                ax.axhline(delay / 1000, color="k", linestyle="--", linewidth=1, label="limit D")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("concurrency C (connections)")
            ax.set_ylabel(ylabel)
            ax.set_title(f"one upstream call, D = {ms(delay)}")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=7)
        fig.suptitle(f"asyncdemo benchmark ({results['mode']} run, {results['started'][:10]})")
        fig.tight_layout()
        fig.savefig(out / filename, dpi=100)
        plt.close(fig)
        written.append(filename)
    hello = ok_cells(results, "hello")
    if hello:
        fig, ax = plt.subplots(figsize=(8, max(3.5, 1 + 0.3 * len(hello))))
        hello = sorted(hello, key=lambda c: c["cpu_ms_per_request"] or 0)
        ax.barh([c["contestant"] for c in hello], [c["cpu_ms_per_request"] or 0 for c in hello])
        ax.set_xlabel("server CPU per request (ms)")
        ax.set_title("hello: the framework's own cost")
        fig.tight_layout()
        fig.savefig(out / "hello-cpu.png", dpi=100)
        plt.close(fig)
        written.append("hello-cpu.png")
    return written


def main(argv: list[str] | None = None) -> None:
    path = Path((argv or sys.argv[1:])[0])
    results = json.loads(path.read_text())
    out = path.parent
    results["plots"] = plot(results, out)
    (out / "report.md").write_text(markdown(results))
    print(f"wrote {out / 'report.md'}")


if __name__ == "__main__":
    main()
