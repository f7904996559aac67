"""
The settings views_demo reads, each with its default: a project sets only what it changes.

    from views_demo import conf
    conf.UPSTREAM_TIMEOUT  # settings.UPSTREAM_TIMEOUT if the project sets it, else 15.0

Read at each use, never at import, so tests and override_settings() see their own values.
"""

from django.conf import settings

DEFAULTS = {
    # The slow upstream the views call: `python -m slow_upstream` serves it on port 8001.
    # Views never take an outbound URL from the request: this setting is the only one.
    "UPSTREAM_URL": "http://127.0.0.1:8001",
    # Seconds before an upstream call gives 504; above the largest delay a view accepts.
    "UPSTREAM_TIMEOUT": 15.0,
    # Connections each client may open to the upstream at once; more calls wait their turn.
    "UPSTREAM_MAX_CONNECTIONS": 200,
    # Seconds an idle upstream connection is kept; well below the upstream's own idle timeout.
    "UPSTREAM_KEEPALIVE": 2.0,
    # The async client's transport: "httpx" (httpx's own) or "aiohttp" (httpx's API over
    # aiohttp's pool, from the httpx-aiohttp package; docs/lesson.md says why it is faster).
    "UPSTREAM_TRANSPORT": "httpx",
    # A dotted path to a function that wraps each client's transport (the lab times calls so).
    "UPSTREAM_TRANSPORT_WRAPPER": None,
    # Upstream calls one fan-out request may have in flight at once; the rest queue.
    "FANOUT_CONCURRENCY": 10,
    # The largest upstream answer the views read, in bytes; a larger one gives 502.
    "UPSTREAM_MAX_BODY": 1024 * 1024,
}


def __getattr__(name: str):
    if name not in DEFAULTS:
        raise AttributeError(f"views_demo.conf has no setting {name!r}")
    return getattr(settings, name, DEFAULTS[name])
