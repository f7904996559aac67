"""
How late the event loop wakes up: the visible symptom of blocking code in async views.

A task sleeps for INTERVAL and measures how much later than asked it woke. On a healthy
loop that is well under a millisecond; while an async view blocks (time.sleep, a sync
HTTP call, sync ORM work) every other request on the loop waits, and so does this task,
so the lag it reports is how long the whole server was frozen.

The lab middleware starts one monitor per event loop on its first request there
(middleware.py); /lab/loop-lag/ reports it.
Under WSGI there is no long-lived loop to watch, and the endpoint says so.
"""

import asyncio
import collections
import contextlib
import time
import weakref
from dataclasses import dataclass, field

INTERVAL = 0.02  # seconds between wake-ups
WINDOW = 10.0  # seconds of samples kept
SAMPLES = int(WINDOW / INTERVAL)


@dataclass
class LoopLagMonitor:
    samples: collections.deque = field(default_factory=lambda: collections.deque(maxlen=SAMPLES))
    # Held weakly: the loop keeps its own running task alive, and a strong reference here would
    # keep the loop alive through _monitors (keyed weakly by the loop) long after it closed.
    task: weakref.ref[asyncio.Task] | None = None

    async def _watch(self) -> None:
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(INTERVAL)
            woke = time.perf_counter()
            self.samples.append((woke, (woke - asked - INTERVAL) * 1000))

    def start(self) -> None:
        task = asyncio.get_running_loop().create_task(self._watch(), name="loop-lag-monitor")
        self.task = weakref.ref(task)

    async def stop(self) -> None:
        task = self.task() if self.task is not None else None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.task = None

    def report(self, now: float | None = None) -> dict:
        """Return the latest lag and the worst in the last 1 and 10 seconds, in ms."""
        now = time.perf_counter() if now is None else now
        recent = [(at, lag) for at, lag in self.samples if now - at <= WINDOW]
        # A blocked loop writes no sample until it wakes: count the time since the last one.
        stalled = max(0.0, (now - recent[-1][0] - INTERVAL) * 1000) if recent else 0.0
        last_second = [lag for at, lag in recent if now - at <= 1.0]
        return {
            "current_ms": round(max(stalled, recent[-1][1] if recent else 0.0), 1),
            "max_1s_ms": round(max([stalled, *last_second]), 1),
            "max_10s_ms": round(max([stalled, *(lag for _, lag in recent)]), 1),
        }


_monitors: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopLagMonitor] = weakref.WeakKeyDictionary()


def start() -> LoopLagMonitor:
    """Start watching the running loop."""
    monitor = LoopLagMonitor()
    monitor.start()
    _monitors[asyncio.get_running_loop()] = monitor
    return monitor


async def stop() -> None:
    """Stop watching the running loop."""
    monitor = _monitors.pop(asyncio.get_running_loop(), None)
    if monitor is not None:
        await monitor.stop()


def current() -> LoopLagMonitor | None:
    """Return the running loop's monitor, if the lab middleware started one."""
    try:
        return _monitors.get(asyncio.get_running_loop())
    except RuntimeError:
        return None
