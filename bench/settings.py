"""
The benchmark's settings: the project's, plus two knobs that take the tuned profile apart so
each of its fixes is measured alone. They are for bench/contestants.py only; a reader picks a
profile (ASYNCDEMO_PROFILE) instead.

    BENCH_MIDDLEWARE=django   Django's own middleware classes
    BENCH_MIDDLEWARE=none     no middleware at all (only to measure what it costs)
    BENCH_LEND_THREADS=0      Django's thread per request
"""

import os

from asyncdemo.settings import *  # noqa: F403
from asyncdemo.settings import DJANGO_MIDDLEWARE, MIDDLEWARE

match os.environ.get("BENCH_MIDDLEWARE"):
    case "django":
        MIDDLEWARE = [MIDDLEWARE[0], *DJANGO_MIDDLEWARE, MIDDLEWARE[-1]]
    case "none":
        MIDDLEWARE = []
    case None:
        pass
    case other:
        raise SystemExit(f"BENCH_MIDDLEWARE must be 'django' or 'none', not {other!r}.")

if os.environ.get("BENCH_LEND_THREADS") == "0":
    ASYNCDEMO_LEND_THREADS = False
    # A thread per request would strand a persistent connection in every thread.
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
