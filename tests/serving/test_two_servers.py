"""
Two servers on two ports share one database and one Redis, as two machines do in docs/deploy.md.

Each runs as deploy.md runs a machine's server (DEBUG=0, a SECRET_KEY, the slow upstream run
alone, REDIS_URL), behind nothing: 1,000 votes, 100 in flight to each server at a time, are
counted exactly, and an answer cached through one server is a hit through the other. On PostgreSQL
(DATABASE_URL) it is the deployment's shape; without it the two share one SQLite file, which
only servers on one machine can do. It prints its figures:

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python -m pytest -s \
        tests/serving/test_two_servers.py
"""

import asyncio
import collections
import contextlib
import os
import sys
import time

import httpx
import pytest
from django.urls import reverse

from tests import servers

pytestmark = pytest.mark.server

VOTES = 1000
VOTE_VIEWS = ("sync_vote", "async_vote")
# Votes in flight at once on each server, as tests/serving/test_votes.py sends them.
AT_ONCE = 100
# The cache pair's key: one delay, forgotten first, so a Redis kept from an earlier run starts cold.
DELAY = 9


def production(upstream_url: str, redis_url: str) -> dict[str, str]:
    """The variables docs/deploy.md gives each machine's server, on plain HTTP over loopback."""
    return {
        "DEBUG": "0",
        "SECRET_KEY": "test-only-key-shared-by-both-servers",
        "HTTPS": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "UPSTREAM_URL": upstream_url,
        "REDIS_URL": redis_url,
    }


async def vote_through_both(plans: dict[str, list[tuple[str, int]]], token: str) -> list[int | str]:
    """Send each server its plan, both at once, with one CSRF token; return every status or error."""
    results = await asyncio.gather(
        *(servers.send_votes(url, token, plan, at_once=AT_ONCE) for url, plan in plans.items())
    )
    return [status for statuses in results for status in statuses]


def test_two_servers_share_one_database_and_one_cache(tmp_path, redis_url, capsys):
    """Votes spread over two servers add up exactly, and what one server cached the other reads."""
    database = "PostgreSQL" if os.environ.get("DATABASE_URL") else "one SQLite file"
    with contextlib.ExitStack() as stack:
        upstream = stack.enter_context(servers.slow_upstream())
        shared = stack.enter_context(servers.fresh_database(tmp_path))
        env = {**production(upstream, redis_url), **shared}
        # The first migrates and seeds the shared database; the second only serves it.
        first, _ = stack.enter_context(servers.uvicorn_server(tmp_path / "first", env=env))
        port = servers.free_port()
        second = f"http://127.0.0.1:{port}"
        app = servers.asgi_app_of(os.environ["DJANGO_SETTINGS_MODULE"])  # as uvicorn_server() picks it
        args = [sys.executable, "-m", "uvicorn", app, "--port", str(port)]
        stack.enter_context(servers.running(args, probe=f"{second}/demo/sync_hello/", env=env))
        urls = [first, second]

        before = servers.vote_counts(urls[0])
        choices = sorted(before)
        plans = {url: [] for url in urls}
        for i in range(VOTES):
            plans[urls[i % 2]].append((VOTE_VIEWS[i // 2 % 2], choices[i % len(choices)]))
        # One token for both, as a browser keeps the cookie one machine set: both share SECRET_KEY.
        token = servers.csrf_token(urls[0])
        started = time.perf_counter()
        statuses = asyncio.run(vote_through_both(plans, token))
        elapsed = time.perf_counter() - started
        after = [servers.vote_counts(url) for url in urls]

        servers.forget(urls[0], DELAY)
        path = f"?delay={DELAY}"
        stored = httpx.get(urls[0] + reverse("views_demo:sync_cached") + path, timeout=10)
        read = httpx.get(urls[1] + reverse("views_demo:async_cached") + path, timeout=10)

    errors = collections.Counter(status for status in statuses if status != 200)
    added = {choice: after[0][choice] - before[choice] for choice in choices}
    with capsys.disabled():
        print(
            f"\n{VOTES} votes at once over 2 servers on {database} and Redis: {sum(added.values())} counted, "
            f"{sum(errors.values())} error responses {dict(errors)}, {elapsed:.1f} s; the cached answer: "
            f"{stored.headers['X-Cache']} on the first server, {read.headers['X-Cache']} on the second"
        )
    assert errors == {}
    assert after[0] == after[1], "the two servers read different counts"
    expected = collections.Counter(choice for plan in plans.values() for _, choice in plan)
    assert added == dict(expected)
    assert sum(added.values()) == VOTES
    assert (stored.headers["X-Cache"], read.headers["X-Cache"]) == ("miss", "hit")
    assert read.json()["result"] == stored.json()["result"]
