"""
The soak: a real uvicorn under the benchmark's C=100 load for SOAK_SECONDS (60 by default).

Run with `make soak`; `make test` leaves it out (it is marked `soak`). It asserts no failed
request, a flat memory footprint and stable threads and file descriptors, and writes the
figures to soak-results.json.
"""

import json
import os
import re
import secrets
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests import servers
from tuned.threads import ThreadPool

pytestmark = pytest.mark.soak

SECONDS = int(os.environ.get("SOAK_SECONDS", "60"))
CONNECTIONS = 100
RSS_MARGIN = 0.10  # memory may grow 10% (or 8 MiB) past its warmed-up size, no more
RSS_FLOOR_KIB = 8 * 1024
ERROR_KINDS = ("connect", "read", "write", "timeout")
SERVE = ("--no-access-log", "--loop", "uvloop", "--http", "httptools")  # as `make run` serves
# Figures are read with the server idle, once pooled upstream connections have expired
# (UPSTREAM_KEEPALIVE, 2 s): idle connections kept for reuse are not growth.
SETTLE_SECONDS = 6


def wrk(url: str, seconds: int) -> dict[str, int]:
    script = Path(__file__).with_name("soak.lua")
    # wrk runs without a script it cannot open, and would load only the URL it was given.
    assert script.is_file(), script
    command = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script), url]
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        **{
            f"{kind}_errors": int(count)
            for kind, count in zip(ERROR_KINDS, errors.groups() if errors else (0,) * 4, strict=True)
        },
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
    }


def test_soak_holds_steady(tmp_path):
    """SOAK_SECONDS at C=100: no failed request, flat RSS, stable threads and descriptors."""
    assert shutil.which("wrk"), "the soak needs wrk (apt-get install wrk)"
    production = {"DEBUG": "0", "HTTPS": "0", "SECRET_KEY": secrets.token_urlsafe(50)}
    with (
        servers.slow_upstream() as upstream_url,
        servers.uvicorn_server(tmp_path, {**production, "UPSTREAM_URL": upstream_url}, SERVE) as (
            url,
            process,
        ),
    ):
        idle = servers.process_figures(process.pid)
        wrk(url, 5)  # warm up: connection pools, code paths, allocator arenas
        time.sleep(SETTLE_SECONDS)
        start = servers.process_figures(process.pid)

        peak = dict(start)
        stop = threading.Event()

        def sample():
            while not stop.wait(0.5):
                figures = servers.process_figures(process.pid)
                for key, value in figures.items():
                    peak[key] = max(peak[key], value)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            load = wrk(url, SECONDS)
        finally:
            stop.set()
            sampler.join()
        time.sleep(SETTLE_SECONDS)
        end = servers.process_figures(process.pid)

    figures = {
        "seconds": SECONDS,
        "connections": CONNECTIONS,
        **load,
        "start": start,
        "end": end,
        "peak": peak,
    }
    (servers.ROOT / "soak-results.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))

    assert load["requests"] > 0
    assert [load[f"{kind}_errors"] for kind in ERROR_KINDS] == [0] * len(ERROR_KINDS)
    assert load["non_2xx"] == 0
    assert end["rss_kib"] <= max(start["rss_kib"] * (1 + RSS_MARGIN), start["rss_kib"] + RSS_FLOOR_KIB)
    # Threads lent to requests (tuned/threads.py) stay pooled, up to max_idle of them, for the
    # next burst: a warm-up may not have reached that bound, but nothing may grow past it.
    assert end["threads"] <= max(start["threads"], idle["threads"] + ThreadPool().max_idle) + 2
    assert end["fds"] <= start["fds"] + 5
