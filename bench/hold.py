"""
C10K's load generator: open N connections over a ramp, one request each, follow each to its answer,
its error or its timeout (wrk opens every connection at once and counts only what its window sees).

Prints one line, `BENCH_RESULT {...}`, shaped like bench/wrk/report.lua's, plus `max_in_flight`.
"""

import argparse
import asyncio
import collections
import json
import resource
import statistics
import time
import urllib.parse

import uvloop

BATCH = 100  # connections opened together; the ramp spaces the batches evenly


async def hold(url: str, *, connections: int, ramp: float, seconds_each: float) -> dict:
    """Send one GET per connection, `connections` of them spread over `ramp` seconds."""
    parts = urllib.parse.urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    request = f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n".encode()
    statuses: collections.Counter[str] = collections.Counter()
    errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    latencies: list[float] = []  # in microseconds, as wrk reports them
    in_flight = most_in_flight = 0

    async def one() -> None:
        nonlocal in_flight, most_in_flight
        started, phase, writer = time.monotonic(), "connect", None
        try:
            async with asyncio.timeout(seconds_each):
                reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
                in_flight += 1
                most_in_flight = max(most_in_flight, in_flight)
                phase = "write"
                writer.write(request)
                await writer.drain()
                phase = "read"
                answer = await reader.read()  # Connection: close, so the answer ends where the stream does
        except TimeoutError:
            errors["connect" if phase == "connect" else "timeout"] += 1
        except OSError:
            errors[phase] += 1
        else:
            status = answer.split(b" ", 2)[1:2]
            if answer.startswith(b"HTTP/") and status:
                statuses[status[0].decode()] += 1
                latencies.append((time.monotonic() - started) * 1e6)
            else:
                errors["read"] += 1  # closed before a status line
        finally:
            if writer is not None:
                in_flight -= 1
                writer.close()

    started = time.monotonic()
    async with asyncio.TaskGroup() as group:
        for first in range(0, connections, BATCH):
            for _ in range(min(BATCH, connections - first)):
                group.create_task(one())
            # Keep to the ramp's schedule however long opening the batch took.
            await asyncio.sleep(max(0.0, started + ramp * (first + BATCH) / connections - time.monotonic()))
    duration_us, requests = int((time.monotonic() - started) * 1e6), len(latencies)
    sample = latencies * 2 if requests == 1 else latencies or [0.0, 0.0]  # quantiles() needs two at least
    cuts = statistics.quantiles(sample, n=1000, method="inclusive")
    latency = {"p50": cuts[499], "p90": cuts[899], "p99": cuts[989], "p999": cuts[998]}
    latency |= {"min": min(sample), "mean": statistics.fmean(sample), "max": max(sample)}
    return {"duration_us": duration_us, "requests": requests, "latency_us": latency,
            "statuses": dict(statuses), "errors": errors, "max_in_flight": most_in_flight}  # fmt: skip


def raise_open_files_limit() -> None:
    """Let this process open as many files as the hard limit allows: each connection is one."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--ramp", type=float, default=10.0, help="seconds over which to open them")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds each request may take, in all")
    args = parser.parse_args(argv)
    raise_open_files_limit()
    load = hold(args.url, connections=args.connections, ramp=args.ramp, seconds_each=args.timeout)
    print("BENCH_RESULT " + json.dumps(uvloop.run(load)), flush=True)


if __name__ == "__main__":
    main()
