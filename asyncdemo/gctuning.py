"""
Tune Python's cyclic garbage collector for a server process, once it has started.

Under ASGI, Django leaves reference cycles behind on every request (the exception its
handler raises through a TaskGroup to end each request keeps frames alive, and frames
keep it), so the collector runs often, and each full collection walks every object the
process holds: Django's URL patterns, templates, modules, all made at startup and never
freed. Two standard-library calls cut that work:

- gc.freeze() moves every object alive at startup out of the collector's sight, so
  collections walk only what requests made;
- gc.set_threshold() lets ten times more objects pile up before a young collection, and
  collects the older generations less often. The cycles are still found and freed,
  a few hundred requests' worth at a time.

Measured in docs/performance.md. ASYNCDEMO_GC=python keeps the interpreter's defaults.
"""

import gc

from django.conf import settings

# The interpreter's default is (700, 10, 10).
THRESHOLDS = (10_000, 50, 100)


def tune() -> None:
    """Freeze what exists now and raise the thresholds, once per process, after startup."""
    if settings.ASYNCDEMO_GC != "tuned" or gc.get_threshold() == THRESHOLDS:
        return
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
