"""
The tuned profile (tuned/settings.py) with knobs that take it apart, for bench/contestants.py only:

    BENCH_MIDDLEWARE=django   Django's own middleware classes
    BENCH_MIDDLEWARE=none     no middleware at all (only to measure what it costs)
    BENCH_LEND_THREADS=0      Django's thread per request: serve asyncdemo.asgi:application
"""

import os

from asyncdemo import settings as base
from tuned.settings import *  # noqa: F403
from tuned.settings import DATABASES, MIDDLEWARE

choices = {"django": base.MIDDLEWARE, "none": [], None: MIDDLEWARE}
if (chosen := os.environ.get("BENCH_MIDDLEWARE")) not in choices:
    raise SystemExit(f"BENCH_MIDDLEWARE must be 'django' or 'none', not {chosen!r}.")
MIDDLEWARE = choices[chosen]

if os.environ.get("BENCH_LEND_THREADS") == "0":
    # The project's ASGI entry, without the tuned one's lent threads.
    ASGI_APPLICATION = "asyncdemo.asgi.application"
    # A thread per request would strand a persistent connection in every thread.
    DATABASES = {**DATABASES, "default": {**DATABASES["default"], "CONN_MAX_AGE": 0}}
