"""
Render a run's results.json as report.md and the plots: `python -m bench report <results.json>`.

A plain rendering of the data: the targets (bench/targets.json), the database path, then a table
per scenario and load with each contestant's ratio to the threaded sync server's req/s and the
verdict rule. Why a row wins or loses is written by people, in docs/, for the run they cite.
"""

import json
import math
import statistics
from pathlib import Path

from bench import contestants
from bench.contestants import DATABASE_NAMES, DATABASE_SCENARIOS, DATABASE_SERVERS, DRIVER_SERVERS, VARIANTS

TARGETS = json.loads(Path(__file__).with_name("targets.json").read_text())
TIE = TARGETS["tie"]
BASE = "gunicorn-gthread"  # the ratios in each scenario's tables divide by its req/s


def read(path: Path) -> dict:
    """A run's results.json; the runs recorded before each cell named its database were all on SQLite."""
    results = json.loads(path.read_text())
    for cell in results["cells"]:
        cell.setdefault("database", "sqlite")
    return results


def ok_cells(results: dict, scenario: str, rounds: bool = False) -> list[dict]:
    """The scenario's measured cells; first rounds only (what the tables show) unless `rounds`."""
    cells = [c for c in results["cells"] if c["scenario"] == scenario and c["status"] == "ok"]
    return cells if rounds else [c for c in cells if not c.get("round")]


def find(results: dict, scenario: str, contestant: str, variant: str = "", database: str = "sqlite", **where):
    """The first round's measured cell of a contestant (and variant) at a load, or None."""
    where |= {"contestant": contestant, "variant": variant, "database": database}
    return next((c for c in ok_cells(results, scenario) if c.items() >= where.items()), None)


def verdict_of(ratio: float) -> str:
    """Async against the threads, from one run's req/s ratio: the verdict rule."""
    return "wins" if ratio >= 1 + TIE else "loses" if ratio <= 1 - TIE else "ties"


def ms(value: float | None) -> str:
    seconds = value is not None and value >= 1000
    return "-" if value is None else f"{value / 1000:.2f} s" if seconds else f"{value:.{int(value < 10)}f} ms"


def rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}" if value >= 10 or value == 0 else f"{value:.1f}"


def times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def errors(cell: dict) -> int:
    return sum(cell["errors"].values())


def table(head: list[str], rows: list[list], left: int = 1) -> list[str]:
    """A markdown table: `left` columns of names, then right-aligned figures."""
    lines = ["| " + " | ".join(map(str, r)) + " |" for r in [head, *rows]]
    return [lines[0], "|" + "---|" * left + "---:|" * (len(head) - left), *lines[1:]]


def load_of(cell: dict) -> str:
    """A load point's title: C, and D and K where they apply."""
    load = [f"C = {cell['concurrency']:,}"] + [f"D = {ms(cell['delay_ms'])}"] * bool(cell["delay_ms"])
    return ", ".join(load + [f"K = {cell['calls']}"] * (cell["calls"] > 1))


def database_label(results: dict, database: str) -> str:
    """E.g. "PostgreSQL 15.14 (pool 2-10)": what the run's servers were configured with."""
    about = results.get("databases", {}).get(database)
    if not about:
        return DATABASE_NAMES[database]
    options, version = about["options"], about["version"]
    if "pool" in options:
        pool = f"{options['pool'].get('min_size')}-{options['pool'].get('max_size')}"
        return f"{version} (Django's pool, {pool} connections per process)"
    conn = f"CONN_MAX_AGE {about['conn_max_age']} stock, {about.get('conn_max_age_tuned', '?')} tuned"
    mode = options.get("transaction_mode", "-")
    return f"{version} ({options.get('init_command', '')}, transaction_mode {mode}, {conn})"


def targets(results: dict) -> list[str]:
    """A row per target: its ratio in this run against its bound; "not measured" without its cells."""
    rows = []
    for target in TARGETS["targets"]:
        scenario, metric, against = target["scenario"], target["metric"], target.get("against")
        load, database = target.get("where", {}), target.get("database", "sqlite")
        cell = find(results, scenario, target["contestant"], database=database, **load)
        if cell is None or (against and find(results, scenario, against, database=database, **load) is None):
            cell = value = None  # a ratio needs both cells
        elif metric == "p50/D":
            value = cell["latency_ms"]["p50"] / cell["delay_ms"]
        elif metric == "answered":
            value = (cell["requests"] - cell["errors"]["non_2xx"]) / cell["concurrency"]
        else:  # the median over every round of each cell
            its = load | {"variant": "", "database": database}
            cells = [c for c in ok_cells(results, scenario, rounds=True) if c.items() >= its.items()]
            values = [
                [c[metric] for c in cells if c["contestant"] == n and c[metric]]
                for n in (target["contestant"], against)
            ]
            value = ratio(*(statistics.median(v) if v else None for v in values))
        ok = value is not None and target.get("min", -math.inf) <= value <= target.get("max", math.inf)
        verdict = "not measured" if value is None else ["**not met**", "met"][ok and not errors(cell)]
        where = f"{scenario} {DATABASE_NAMES[database]}" + "".join(f" {k}={v}" for k, v in load.items())
        ratio_of = f"{metric}: {target['contestant']}" + (f" / {against}" if "against" in target else "")
        bound = f">= {target['min']}" if "min" in target else f"<= {target['max']}"
        errs = "-" if cell is None else errors(cell)
        rows.append([target["id"], where, ratio_of, times(value), bound, errs, verdict])
    return table(["target", "cell", "ratio", "this run", "bound", "errors", "verdict"], rows, left=3)


def database_path(results: dict) -> list[str]:
    """The database scenarios: req/s, CPU and thread hops per request, async / gthread, the verdicts."""
    names = [n for n in [*DATABASE_SERVERS, *DRIVER_SERVERS] if n in results["contestants"]]
    asyncs = [n for n in names if contestants.BY_NAME[n].twin not in ("sync", "reference")]
    rows = []
    for scenario, database in [(s, d) for s in DATABASE_SCENARIOS for d in DATABASE_NAMES]:
        found = {n: find(results, scenario, n, database=database) for n in names}
        if not any(found.values()):
            continue
        hops = {n: results.get("hops", {}).get(n, {}).get(database) for n in names}
        hops = {n: "-" if h is None else f"{h:g}" for n, h in hops.items()}
        figures = ["-" if c is None else f"{rate(c['throughput'])}, {ms(c['cpu_ms_per_request'])}, {hops[n]}"
                   + f", **{errors(c)} errors**" * bool(errors(c)) for n, c in found.items()]  # fmt: skip
        base = (found.get(BASE) or {}).get("throughput")
        ratios = {n: ratio(found[n]["throughput"], base) if found[n] else None for n in asyncs}
        verdicts = ", ".join(f"{n} {verdict_of(r)}" for n, r in ratios.items() if r is not None) or "-"
        title = f"{scenario}, {load_of(next(c for c in found.values() if c))}"
        rows.append([title, DATABASE_NAMES[database], *figures, *map(times, ratios.values()), verdicts])
    head = [f"{n}: req/s, CPU/req, thread hops per request" for n in names]
    return table(["scenario", "database", *head, *(f"{n} / gthread" for n in asyncs), "async"], rows, left=2)


def load_table(results: dict, cells: list[dict]) -> list[str]:
    """Each contestant's figures at one load, with its req/s over BASE's and the verdict rule's word."""
    base = next((c["throughput"] for c in cells if c["contestant"] == BASE and not c["variant"]), None)
    seconds, c10k = results["settings"]["duration_s"], cells[0]["scenario"] == "c10k"
    rows = []
    for cell in sorted(cells, key=lambda c: -c["throughput"]):
        sequential = cell["scenario"] == "fanout" and "/sync_fanout/" in cell["url_path"]
        name = results["contestants"][cell["contestant"]]["label"]
        if cell["variant"]:
            name += f", {VARIANTS[cell['variant']].label}"
        elif sequential:
            name += ", sequential fan-out view"
        x = ratio(cell["throughput"], base)
        twin = contestants.BY_NAME[cell["contestant"]].twin
        verdict = verdict_of(x) if x is not None and twin in ("async", "driver") else ""
        # What the waits allow: C/D in whole rounds of the window (closed loop), or seed users / think time.
        wait = cell["delay_ms"] * (cell["calls"] if sequential else 1) / 1000  # none in hello
        limit = cell["concurrency"] * math.floor(seconds / wait) / seconds if wait else None
        if cell["scenario"] == "seed":
            limit = cell["concurrency"] / (sum(cell["think_ms"]) / 2 / 1000)
        if c10k:
            answered = f"**{cell['requests'] - cell['errors']['non_2xx']:,}** of {cell['concurrency']:,}"
            figures = [answered, cell.get("max_in_flight", "-"), f"{cell['seconds']:.0f}"]
        else:
            figures = [f"**{rate(cell['throughput'])}**", times(x), verdict, rate(limit)]
        p50, p99 = (ms(cell["latency_ms"][p]) if cell["requests"] else "-" for p in ("p50", "p99"))
        figures += [p50, p99, errors(cell), ms(cell["cpu_ms_per_request"]), cell["peak_threads"]]
        rss, wrk = f"{cell['peak_rss_mb']:.0f} MB", f"{cell['wrk_cpu_percent_of_core']:.0f}%"
        rows.append([name, *figures, rss, cell["peak_fds"], wrk])
    head = ["req/s", f"x {BASE}", "async", "limit"]
    if c10k:
        head = ["answered 2xx", "most open at once", "seconds"]
    head += ["p50", "p99", "errors", "CPU/req", "threads", "RSS", "fds", "client CPU" if c10k else "wrk CPU"]
    return table(["contestant", *head], rows)


def markdown(results: dict) -> str:
    m, s = results["machine"], results["settings"]
    others = sorted(filter(None, (c.get("other_cpu_percent_of_machine") for c in results["cells"])))
    out = [
        "# asyncdemo benchmark results",
        "",
        f"- Run: {results['mode']}, {results['started']} to {results.get('finished', '?')} UTC, "
        f"commit {m['commit']}.",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB RAM, Linux {m['kernel']}, "
        f"Python {m['python']}; {m['wrk']}.",
        f"- Packages: {', '.join(f'{k} {v}' for k, v in m['packages'].items())}.",
        f"- Load average at start {' '.join(results['loadavg_start'])}, "
        f"at end {' '.join(results.get('loadavg_end', ['?']))}; other processes used "
        f"{others[len(others) // 2] if others else 0:.0f}% of the machine in the median cell.",
        f"- Every server: {s['processes_per_server']} processes; each cell warms up {s['warmup_s']} s, "
        f"then measures {s['duration_s']} s; C10K opens its connections over {s['c10k_ramp_s']} s.",
        f"- Verdict rule: async wins where its req/s is >= {1 + TIE:.2f}x {BASE}'s in one cell, loses at "
        f"<= {1 - TIE:.2f}x, ties between. How to read the tables: docs/benchmark/README.md.",
        "",
        "## Targets",
        "",
        *targets(results),
        "",
    ]
    lines = database_path(results)
    out += ["## The database path", "", *lines, ""] if lines[2:] else []
    for scenario, title in results["scenarios"].items():
        cells = [c for c in results["cells"] if c["scenario"] == scenario and not c.get("round")]
        out += [f"## {title}", ""] if cells else []
        measured = ok_cells(results, scenario)
        points = dict.fromkeys((c["database"], c["concurrency"], c["delay_ms"]) for c in measured)
        for point in sorted(points, key=lambda p: (list(DATABASE_NAMES).index(p[0]), p[2], p[1])):
            here = [c for c in measured if (c["database"], c["concurrency"], c["delay_ms"]) == point]
            load = load_of(here[0])
            if scenario in DATABASE_SCENARIOS:
                load = f"On {database_label(results, point[0])}: {load}"
            out += [f"### {load}", "", *load_table(results, here), ""]
        out += [f"- {c['contestant']}: {c['status']} ({c['reason']})" for c in cells if c["status"] != "ok"]
    out += ["## Plots", "", *(f"![{name}]({name})" for name in results.get("plots", [])), ""]
    rows = [[f"{name}: {c['label']}", f"`{c['command']}`",
             " ".join(f"`{k}={v}`" for k, v in c["switches"].items()) or "defaults",
             "-" if c["middleware"] is None else f"{len(c['middleware'])} classes"]
            for name, c in results["contestants"].items()]  # fmt: skip
    rows += [[name, why, "-", "-"] for name, why in results.get("not_run", {}).items()]
    out += ["## Contestants", "", *table(["name", "command", "switches", "middleware"], rows, left=4)]
    return "\n".join(out) + "\n"


def plot(results: dict, out: Path) -> list[str]:
    """Throughput and p99 against C for one upstream call, one line per server; hello's CPU per request."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure  # no pyplot: no backend, no figures left open

    cells = [c for c in ok_cells(results, "upstream") if not c["variant"]]  # a variant has no line of its own
    delays, figures = sorted({c["delay_ms"] for c in cells}), {}
    names = list(dict.fromkeys(c["contestant"] for c in cells))
    palette = colormaps["tab20"].colors  # one colour per server in every panel
    for metric, ylabel in (("throughput", "requests/s answered"), ("p99", "p99 latency (s)")):
        fig = figures[f"upstream-{metric}.png"] = Figure(figsize=(6 * (len(delays) or 1), 4.8))
        for ax, delay in zip(fig.subplots(1, len(delays) or 1, squeeze=False)[0], delays, strict=False):
            here = [c for c in cells if c["delay_ms"] == delay]
            for i, name in enumerate(names):
                line = sorted((c for c in here if c["contestant"] == name), key=lambda c: c["concurrency"])
                # A cell that answered nothing has no place on a log scale: leave a gap.
                ys = [(c["throughput"] if metric == "throughput" else c["latency_ms"]["p99"] / 1000)
                      if c["requests"] else math.nan for c in line]  # fmt: skip
                if line:
                    xs = [c["concurrency"] for c in line]
                    ax.plot(xs, ys, marker="o", label=name, color=palette[i % len(palette)])
            xs = sorted({c["concurrency"] for c in here})
            if metric == "throughput":
                ax.plot(xs, [x / (delay / 1000) for x in xs], "k--", linewidth=1, label="limit C/D")
            else:
                ax.axhline(delay / 1000, color="k", linestyle="--", linewidth=1, label="limit D")
            ax.set(xscale="log", yscale="log", xlabel="concurrency C (connections)", ylabel=ylabel)
            ax.set_title(f"one upstream call, D = {ms(delay)}")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=7)
        fig.suptitle(f"asyncdemo benchmark ({results['mode']} run, {results['started'][:10]})")
    hello = sorted(ok_cells(results, "hello"), key=lambda c: c["cpu_ms_per_request"] or 0)
    fig = figures["hello-cpu.png"] = Figure(figsize=(8, max(3.5, 1 + 0.3 * len(hello))))
    ax = fig.subplots()
    ax.barh([c["contestant"] for c in hello], [c["cpu_ms_per_request"] or 0 for c in hello])
    ax.set(xlabel="server CPU per request (ms)", title="hello: the framework's own cost")
    for name, fig in figures.items():
        fig.tight_layout()
        fig.savefig(out / name, dpi=100)
    return list(figures)


def write(results: dict, out: Path) -> None:
    """Write results.json, the plots and report.md to `out`."""
    results["plots"] = plot(results, out)
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "report.md").write_text(markdown(results))
