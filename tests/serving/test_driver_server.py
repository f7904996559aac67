"""
The truly async driver served for real: uvicorn with ASYNC_ORM_DRIVER=1 on PostgreSQL.

Its views answer like their twins, 1,000 votes at once through each way of holding one
transaction count exactly, and the driver gives back every connection it took. PostgreSQL only;
.ci/run's PostgreSQL pass runs it:

    DATABASE_URL=postgres://... .venv/bin/python -m pytest -q tests/serving/test_driver_server.py
"""

import asyncio
import collections
import contextlib
import os
import re
from urllib.parse import urlsplit

import psycopg
import pytest
from django.urls import reverse

from tests import servers

pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(
        urlsplit(os.environ.get("DATABASE_URL", "")).scheme not in {"postgres", "postgresql"},
        reason="the truly async driver needs PostgreSQL: set DATABASE_URL=postgres://...",
    ),
]

VOTES = 1000
AT_ONCE = 100
VOTE_VIEWS = ("sync_vote", "async_vote", "async_vote_driver")
# asyncdemo/settings.py's default DATABASE_POOL_SIZE, once for Django's pool and once for the driver's.
MOST_CONNECTIONS = 2 * 10


@pytest.fixture(scope="module", params=["asyncdemo.settings", "tuned.settings"])
def driver_server(request, tmp_path_factory):
    """uvicorn with the driver on, in each profile; yields its URL and its database's URL."""
    made = {}
    fresh = servers.fresh_database

    @contextlib.contextmanager
    def recorded(tmp_path):
        with fresh(tmp_path) as database:
            made.update(database)
            yield database

    env = {"ASYNC_ORM_DRIVER": "1", "DJANGO_SETTINGS_MODULE": request.param}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(servers, "fresh_database", recorded)
        with servers.uvicorn_server(tmp_path_factory.mktemp("driver"), env=env) as (url, _):
            patch.undo()
            yield url, made["DATABASE_URL"]


def connections_to(database_url: str) -> int:
    name = urlsplit(database_url).path.removeprefix("/")
    with psycopg.connect(database_url, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [name]
        ).fetchone()
    return row[0]


POLLS = ("sync_poll", "async_poll_driver")


def test_driver_views_answer_like_their_twins(driver_server):
    """Over uvicorn the three reads answer alike, a driver vote counts one, atomic() around awaits is 501."""
    url, _ = driver_server
    with servers.csrf_session(url) as client:
        reads = [
            client.get(reverse(f"views_demo:{name}"), params={"question": 1}).json()["result"]
            for name in ("sync_question", "async_question_native", "async_question_driver")
        ]
        polls = [client.get(reverse(f"views_demo:{name}"), params={"question": 1}) for name in POLLS]
        before = servers.vote_counts(url)[1]
        vote = client.post(reverse("views_demo:async_vote_driver"), data={"question": 1, "choice": 1})
        badly = client.post(reverse("views_demo:async_atomic_badly"), data={"question": 1, "choice": 1})
        after = servers.vote_counts(url)[1]

    assert reads == [reads[0]] * 3
    # The driver's form offers the same choices and posts to the driver's vote: the benchmark's seed flow.
    assert [poll.status_code for poll in polls] == [200, 200]
    assert len({tuple(re.findall(r'name="choice"[^>]*value="(\d+)"', poll.text)) for poll in polls}) == 1
    assert f'action="{reverse("views_demo:async_vote_driver")}"' in polls[1].text
    assert vote.json()["result"] == {"question": 1, "choice": 1, "votes": before + 1}
    assert badly.status_code == 501
    assert "SynchronousOnlyOperation" in badly.json()["error"]
    assert after == before + 1


def test_a_thousand_votes_through_each_transaction_count_exactly(driver_server):
    """1,000 votes at once per view (sync, sync_to_async, async_atomic) all answer 200, each counted once,
    and the driver leaves no connection beyond its pool's."""
    url, database_url = driver_server
    token = servers.csrf_token(url)
    before = servers.vote_counts(url)
    choices = sorted(before)
    # Each view votes for its own choice, so a choice's count is that view's count.
    plan = [(view, choices[number]) for number, view in enumerate(VOTE_VIEWS) for _ in range(VOTES)]
    statuses = asyncio.run(servers.send_votes(url, token, plan, at_once=AT_ONCE))
    after = servers.vote_counts(url)

    assert collections.Counter(statuses) == {200: len(plan)}
    assert {choice: after[choice] - before[choice] for choice in choices} == {
        **dict.fromkeys(choices, 0),
        **dict.fromkeys(choices[: len(VOTE_VIEWS)], VOTES),
    }
    assert connections_to(database_url) <= MOST_CONNECTIONS
