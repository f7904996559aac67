"""
What a server costs, read from /proc (Linux): CPU time, threads, memory and file descriptors
of every process in a session, so a server's supervisor and all its workers count together.
"""

import contextlib
import os
import threading
import time
from dataclasses import dataclass

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Usage:
    cpu_s: float = 0.0
    threads: int = 0
    rss_bytes: int = 0
    fds: int = 0
    processes: int = 0


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            text = stat.read()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: the fields start after the last ")".
    # rest[0] is field 3 (state), so field n is rest[n - 3].
    return text[text.rindex(")") + 2 :].split()


def session_pids(session: int) -> list[int]:
    """Return the processes whose session id is `session` (a server started with start_new_session)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields and int(fields[3]) == session:
                pids.append(int(entry))
    return pids


def usage(session: int, *, count_fds: bool = True) -> Usage:
    """Sum CPU time, threads, RSS and (optionally) open files over a session's processes."""
    total = Usage()
    for pid in session_pids(session):
        fields = _stat_fields(pid)
        if not fields:
            continue
        total.processes += 1
        total.cpu_s += (int(fields[11]) + int(fields[12])) / TICK  # utime + stime
        total.threads += int(fields[17])
        total.rss_bytes += int(fields[21]) * PAGE
        if count_fds:
            with contextlib.suppress(OSError):
                total.fds += len(os.listdir(f"/proc/{pid}/fd"))
    return total


def machine_cpu_s() -> tuple[float, float]:
    """Return (busy, total) CPU seconds of the whole machine since boot, all cores."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # leave out guest time, already counted in user
    return (total - idle) / TICK, total / TICK


class PeakSampler:
    """Sample a session's threads, RSS and open files in the background; keep the peaks."""

    def __init__(self, session: int, interval: float = 0.25):
        self.session = session
        self.interval = interval
        self.peak = Usage()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = usage(self.session)
            self.peak.threads = max(self.peak.threads, now.threads)
            self.peak.rss_bytes = max(self.peak.rss_bytes, now.rss_bytes)
            self.peak.fds = max(self.peak.fds, now.fds)
            self.peak.processes = max(self.peak.processes, now.processes)
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def wait_quiet(session: int, *, seconds: float = 0.5, limit: float = 0.05) -> None:
    """Wait (up to 5 s) until a session uses less than `limit` of a core over `seconds`."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        before = usage(session, count_fds=False).cpu_s
        time.sleep(seconds)
        if usage(session, count_fds=False).cpu_s - before < limit * seconds:
            return
