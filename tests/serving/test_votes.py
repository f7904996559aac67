"""
1,000 votes sent at once over real HTTP to a real uvicorn: every one is counted, none fails.

It prints its figures. Run it alone on SQLite, then on PostgreSQL (see the README):

    .venv/bin/python -m pytest -q tests/serving/test_votes.py
    DATABASE_URL=postgres://... .venv/bin/python -m pytest -q tests/serving/test_votes.py
"""

import asyncio
import collections
import os
import time

import pytest

from lab.registry import BY_SLUG
from tests import servers

pytestmark = pytest.mark.server

VOTES = 1000
# Requests in flight at once: enough to make the writes collide, few enough for a 2-core machine.
AT_ONCE = 100
# The F() votes and the locked ones, taken in turn: the same 1,000 votes, spread over five views,
# so the two ways of counting also collide with each other on the same rows.
VOTE_VIEWS = BY_SLUG["vote"].view_names + BY_SLUG["locked_vote"].view_names


def test_concurrent_votes_are_all_counted(tmp_path, capsys):
    """1,000 votes at once over every vote and locked-vote view add exactly 1,000, with no error."""
    database = "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite"
    with servers.uvicorn_server(tmp_path) as (url, _):
        token = servers.csrf_token(url)
        before = servers.vote_counts(url)
        choices = sorted(before)
        plan = [(VOTE_VIEWS[i % len(VOTE_VIEWS)], choices[i % len(choices)]) for i in range(VOTES)]
        started = time.perf_counter()
        statuses = asyncio.run(servers.send_votes(url, token, plan, at_once=AT_ONCE))
        elapsed = time.perf_counter() - started
        after = servers.vote_counts(url)

    errors = collections.Counter(status for status in statuses if status != 200)
    added = {choice: after[choice] - before[choice] for choice in choices}
    with capsys.disabled():
        print(
            f"\n{VOTES} votes, {AT_ONCE} at a time, to {', '.join(VOTE_VIEWS)} on uvicorn + {database}: "
            f"{sum(added.values())} counted, {sum(errors.values())} error responses {dict(errors)}, "
            f"{elapsed:.1f} s ({VOTES / elapsed:.0f} votes/s)"
        )
    assert errors == {}
    assert added == dict(collections.Counter(choice for _, choice in plan))
    assert sum(added.values()) == VOTES
