"""
The tuned profile's settings: the project's, with the measured fixes for Django's async
overheads in tuned/ (docs/tuned.md says what each buys and costs). Serve it with its ASGI
entry, which lends threads to each request:

    DJANGO_SETTINGS_MODULE=tuned.settings uvicorn tuned.asgi:application    # or: make run-tuned
"""

import os

from asyncdemo.settings import *  # noqa: F403
from asyncdemo.settings import DATABASES, INSTALLED_APPS, MIDDLEWARE


def tuned_middleware(path: str) -> str:
    """Django's own middleware class -> its subclass in tuned/middleware.py; others unchanged."""
    if not path.startswith("django."):
        return path
    return f"tuned.middleware.{path.rsplit('.', 1)[1]}"


# The same classes, subclassed so that their hooks skip the thread hop (tuned/middleware.py).
MIDDLEWARE = [tuned_middleware(path) for path in MIDDLEWARE]

# Django finds its security, clickjacking and CSRF middleware by dotted path and would call
# the tuned subclasses missing; tuned/checks.py runs those checks on them instead.
SILENCED_SYSTEM_CHECKS = ["security.W001", "security.W002", "security.W003"]

INSTALLED_APPS = [*INSTALLED_APPS, "tuned"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Opening a SQLite connection (Django's SQL functions, the PRAGMAs) and closing the last
    # one (a WAL checkpoint) cost about 1 ms of CPU per request (docs/performance.md). The
    # lent threads outlive requests, so each keeps its connection for the next one.
    conn_max_age = int(os.environ.get("SQLITE_CONN_MAX_AGE", "60"))
    DATABASES = {**DATABASES, "default": {**DATABASES["default"], "CONN_MAX_AGE": conn_max_age}}

# Threads lent to each request per call (tuned/asgi.py, tuned/threads.py).
ASGI_APPLICATION = "tuned.asgi.application"
