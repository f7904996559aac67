"""
The benchmark's one entry: `python -m bench <command>`.

    python -m bench run              # the full run (make bench): about 25 minutes on 2 cores
    python -m bench run --quick      # the smoke test (make bench-quick): a few minutes
    python -m bench run --database   # only the database path (SQLite; PostgreSQL with DATABASE_URL)
    python -m bench report bench/results/<run>/results.json   # render report.md and the plots again
    python -m bench wrk|transport|seed ...   # the probes of docs/performance.md (bench/probes.py)
"""

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from bench import probes, run

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    bench = commands.add_parser("run", help="start every server and measure every cell of a plan")
    plans = bench.add_mutually_exclusive_group()
    only = {"quick": "the smoke test", "database": "the database path", "servers": "the servers"}
    for plan, what in only.items():
        plans.add_argument(f"--{plan}", dest="plan", action="store_const", const=plan, help=f"only {what}")
    bench.add_argument("--out", type=Path, help="where to write the results (default bench/results/<time>)")
    bench.add_argument("--only", nargs="*", default=[], help="only the cells whose key has one of these")
    bench.add_argument("--skip", nargs="*", default=[], help="leave out the cells whose key has one of these")
    bench.set_defaults(plan="full", run=run.main)

    report = commands.add_parser("report", help="render report.md and the plots from a results.json")
    report.add_argument("results", type=Path)
    report.set_defaults(run=rerender)

    wrk = commands.add_parser("wrk", help="uvicorn per configuration under wrk: req/s, latency, CPU/request")
    wrk.add_argument("--path", default="/demo/async_upstream/?delay=100")
    wrk.add_argument("--config", action="append", required=True, help=probes.config.__doc__)
    wrk.add_argument("--alongside", help="a path a second wrk loads at the same time")
    numbers(wrk, connections=100, duration=8, warmup=2, timeout=10, repeat=3, upstream_workers=1)
    numbers(wrk, alongside_connections=8)
    wrk.set_defaults(run=probes.probe_wrk)

    transport = commands.add_parser("transport", help="CPU per upstream call for each transport")
    numbers(transport, concurrency=100, rounds=30, delay=10, repeat=3)
    transport.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    transports = ["httpx", "aiohttp", "per-call"]
    transport.add_argument("--transports", nargs="+", default=transports[:2], choices=transports)
    transport.set_defaults(run=probes.probe_transport)

    seed = commands.add_parser("seed", help="CPU and thread hops per request of the seed, in one process")
    numbers(seed, requests=400, repeat=3)  # requests: measured per run, half forms, half votes
    configs = list(probes.SEED_CONFIGS)
    seed.add_argument("--configs", nargs="+", default=configs[:3], choices=configs)
    seed.set_defaults(run=probes.probe_seed)

    args = parser.parse_args(argv)
    return args.run(args) or 0


def numbers(parser: argparse.ArgumentParser, **defaults: int) -> None:
    """Add an integer option per keyword, `-c` and `-d` for connections and duration."""
    for name, default in defaults.items():
        short = {"connections": ["-c"], "duration": ["-d"]}.get(name, [])
        parser.add_argument(*short, "--" + name.replace("_", "-"), type=int, default=default)


def rerender(args: argparse.Namespace) -> None:
    """Write report.md and the plots again beside a results.json."""
    from bench import report

    report.write(report.read(args.results), args.results.parent)
    print(f"wrote {args.results.parent / 'report.md'}")


if __name__ == "__main__":
    sys.exit(main())
