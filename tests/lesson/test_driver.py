"""
The truly async driver (views_demo/driver.py, django-async-backend) and transactions from async
code: where the driver is off it answers 501 saying why, and each of its pitfalls is shown.

The tests that run the driver need PostgreSQL; .ci/run's PostgreSQL pass runs them:

    DATABASE_URL=postgres://... .venv/bin/python -m pytest -q tests/lesson/test_driver.py
"""

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import django_async_backend
import pytest
import pytest_asyncio
from asgiref import sync
from asgiref.sync import async_to_sync, sync_to_async
from django.core import signals
from django.core.exceptions import SynchronousOnlyOperation
from django.core.management import call_command
from django.db import OperationalError, connections, transaction
from django.urls import reverse
from django_async_backend.apps import DjangoAsyncBackendConfig
from django_async_backend.db import async_connections, async_new_connection, close_old_async_connections
from django_async_backend.db.backends.postgresql.async_base import AsyncDatabaseWrapper

from views_demo.driver import aquestion_detail
from views_demo.models import Choice, Question

POSTGRESQL = urlsplit(os.environ.get("DATABASE_URL", "")).scheme in {"postgres", "postgresql"}
needs_postgresql = pytest.mark.skipif(
    not POSTGRESQL, reason="the truly async driver needs PostgreSQL: set DATABASE_URL=postgres://..."
)
ROOT = Path(__file__).resolve().parents[2]
DRIVER_ENGINE = "django_async_backend.db.backends.postgresql"
DRIVER_VIEWS = ("async_question_driver", "async_vote_driver")


def call(client, name: str, **data):
    send = client.post if "vote" in name else client.get
    return send(reverse(f"views_demo:{name}"), {"question": 1, "choice": 1, **data})


# Where the driver is off


@pytest.mark.parametrize("name", DRIVER_VIEWS)
def test_driver_off_answers_501_saying_why(client, seeded, name):
    """Without the package in INSTALLED_APPS, a driver view answers 501 naming what it needs."""
    response = call(client, name)

    assert response.status_code == 501
    assert response.json()["error"].startswith("the truly async driver is off: it needs django-async-backend")


@pytest.mark.parametrize("name", DRIVER_VIEWS)
def test_driver_refuses_wsgi_before_connecting(client, seeded, settings, name):
    """Under WSGI (the sync test client) a driver view answers 501 naming ASGI, and opens no connection."""
    # As asyncdemo/settings.py installs it: with its request receivers off (tested below).
    settings.ASYNC_BACKEND_DISABLE_REQUEST_SIGNALS = True
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "django_async_backend"]
    response = call(client, name)

    assert response.status_code == 501
    assert "needs an ASGI server" in response.json()["error"]
    assert async_connections.all(initialized_only=True) == []


# Switching it on


SHOW_SETTINGS = """
from django.conf import settings
entry = settings.DATABASES["default"]
print(settings.ASYNC_ORM_DRIVER, "django_async_backend" in settings.INSTALLED_APPS, entry["ENGINE"],
      getattr(settings, "ASYNC_BACKEND_DISABLE_REQUEST_SIGNALS", False),
      getattr(settings, "ASYNC_BACKEND_DISABLE_POOL_WARNING", False))
"""


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"ASYNC_ORM_DRIVER": "1"}, "False False django.db.backends.sqlite3 False False"),
        (
            {"DATABASE_URL": "postgres://u:p@db.example/polls"},
            "False False django.db.backends.postgresql False False",
        ),
        (
            {"DATABASE_URL": "postgres://u:p@db.example/polls", "ASYNC_ORM_DRIVER": "1"},
            f"True True {DRIVER_ENGINE} True True",
        ),
    ],
)
def test_driver_is_on_only_with_postgresql_and_the_switch(environment, expected):
    """ASYNC_ORM_DRIVER=1 with DATABASE_URL installs the package, its engine and its two settings."""
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "ASYNC_ORM_DRIVER"}}
    env |= {"DJANGO_SETTINGS_MODULE": "asyncdemo.settings", **environment}
    done = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(){SHOW_SETTINGS}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == expected


# The pitfall: atomic() in a coroutine


def test_atomic_around_awaits_answers_501_and_counts_nothing(client, seeded):
    """async_atomic_badly answers 501 naming SynchronousOnlyOperation and counts no vote."""
    before = Choice.objects.get(pk=1).votes
    response = client.post(reverse("views_demo:async_atomic_badly"), {"question": 1, "choice": 1})

    assert response.status_code == 501
    assert response.json()["error"].startswith("SynchronousOnlyOperation: You cannot call this from an async")
    assert Choice.objects.get(pk=1).votes == before


@pytest.mark.asyncio
@pytest.mark.django_db
async def test_atomic_in_a_coroutine_raises_before_any_sql():
    """transaction.atomic() entered on the event loop raises SynchronousOnlyOperation."""
    with pytest.raises(SynchronousOnlyOperation), transaction.atomic():
        pass


# The pitfall: the package's request receivers


def package_receivers() -> list:
    """The package's clean-up among the receivers of Django's request signals."""
    receivers = [
        *signals.request_started._live_receivers(None)[1],
        *signals.request_finished._live_receivers(None)[1],
    ]
    return [receiver for receiver in receivers if receiver is close_old_async_connections]


@pytest.mark.parametrize("disabled", [True, False])
def test_request_signals_setting_keeps_sync_requests_off_the_event_loop(client, settings, disabled):
    """With ASYNC_BACKEND_DISABLE_REQUEST_SIGNALS the app connects no async request receiver, so a
    sync request starts no event loop; without it, every sync request starts two (start, finish)."""
    settings.ASYNC_BACKEND_DISABLE_REQUEST_SIGNALS = disabled
    config = DjangoAsyncBackendConfig("django_async_backend", django_async_backend)
    loops = []
    original = asyncio.events.new_event_loop

    def counted():
        loops.append(1)
        return original()

    try:
        config.ready()
        receivers = package_receivers()
        with pytest.MonkeyPatch.context() as patch:
            # asyncio.run() and asgiref's async_to_sync make their loops here.
            patch.setattr(asyncio.events, "new_event_loop", counted)
            for _ in range(3):
                assert client.get(reverse("views_demo:sync_hello")).status_code == 200
    finally:
        signals.request_started.disconnect(close_old_async_connections)
        signals.request_finished.disconnect(close_old_async_connections)

    assert (len(receivers), len(loops)) == ((0, 0) if disabled else (2, 6))


# The driver on PostgreSQL, in-process: the package installed as asyncdemo/settings.py installs it
# with ASYNC_ORM_DRIVER=1, on the test database.


def turn_on(settings) -> None:
    settings.ASYNC_BACKEND_DISABLE_REQUEST_SIGNALS = True
    settings.ASYNC_BACKEND_DISABLE_POOL_WARNING = True
    if "django_async_backend" not in settings.INSTALLED_APPS:
        settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "django_async_backend"]
    entry = {**connections["default"].settings_dict, "ENGINE": DRIVER_ENGINE}
    async_connections.settings = async_connections.configure_settings({"default": entry})


async def turn_off() -> None:
    """Give back this task's connection and close the driver's pool: it belongs to this test's loop."""
    await close_old_async_connections()
    for pool in AsyncDatabaseWrapper._connection_pools.values():
        await pool.close()
    AsyncDatabaseWrapper._connection_pools.clear()
    del async_connections.settings


# transaction=True: the driver has its own connection, which cannot see a test's open transaction
# (test_a_tests_own_transaction_is_invisible_to_the_driver), and whose writes that transaction
# would not roll back.
@pytest_asyncio.fixture
async def driver_on(settings, transactional_db, live_upstream):
    if not POSTGRESQL:
        pytest.skip(needs_postgresql.kwargs["reason"])
    turn_on(settings)
    await sync_to_async(call_command)("seed_demo", verbosity=0)
    yield
    await turn_off()
    await sync_to_async(connections.close_all)()


async def answer(async_client, name: str, **data):
    send = async_client.post if "vote" in name else async_client.get
    return await send(reverse(f"views_demo:{name}"), {"question": 1, "choice": 1, **data})


@pytest.mark.asyncio
async def test_driver_read_answers_as_its_twins(async_client, driver_on):
    """async_question_driver answers question 1 exactly as sync_question and async_question_native do."""
    answers = [
        (await answer(async_client, name)).json()["result"]
        for name in ("sync_question", "async_question_native", "async_question_driver")
    ]
    assert answers == [answers[0]] * 3
    missing = await answer(async_client, "async_question_driver", question=999)
    assert (missing.status_code, missing.json()["error"]) == (404, "No Question matches the given query.")


@pytest.mark.asyncio
async def test_driver_vote_commits_once_and_runs_on_commit(async_client, driver_on, caplog):
    """A vote through async_atomic adds one, answers the new count, and its on_commit callback runs."""
    caplog.set_level(logging.DEBUG, logger="views_demo.driver")
    before = (await Choice.objects.aget(pk=1)).votes
    response = await answer(async_client, "async_vote_driver")

    assert response.json()["result"] == {"question": 1, "choice": 1, "votes": before + 1}
    assert (await Choice.objects.aget(pk=1)).votes == before + 1
    assert "vote committed: question 1, choice 1" in caplog.text


@pytest.mark.asyncio
async def test_driver_vote_rolled_back_counts_nothing_and_skips_on_commit(
    async_client, driver_on, caplog, monkeypatch
):
    """When the read after the UPDATE fails, the transaction rolls back: 503, no vote, no on_commit."""
    caplog.set_level(logging.DEBUG, logger="views_demo.driver")
    before = (await Choice.objects.aget(pk=1)).votes
    queryset = type(Choice.async_objects.all())

    async def gone(self, *args, **kwargs):
        raise OperationalError("consuming input failed: server closed the connection unexpectedly")

    monkeypatch.setattr(queryset, "aget", gone)
    response = await answer(async_client, "async_vote_driver")
    monkeypatch.undo()

    assert response.status_code == 503
    assert (await Choice.objects.aget(pk=1)).votes == before
    assert "vote committed" not in caplog.text


@pytest.mark.asyncio
async def test_gather_needs_a_connection_per_task(driver_on):
    """Reads gathered on one task's connection raise RuntimeError; async_new_connection gives each its own."""
    await aquestion_detail(question_id=1)  # this task now owns a connection
    with pytest.raises(RuntimeError, match="owned by another task"):
        await asyncio.gather(aquestion_detail(question_id=1), aquestion_detail(question_id=2))
    both = await asyncio.gather(
        async_new_connection(aquestion_detail(question_id=1)),
        async_new_connection(aquestion_detail(question_id=2)),
    )
    assert [question["id"] for question in both] == [1, 2]


@pytest.fixture
def hops(monkeypatch) -> list[int]:
    """Record a 1 for every sync_to_async call from now on: each is a hop to another thread."""
    calls = []
    real = sync.SyncToAsync.__call__

    async def counted(self, *args, **kwargs):
        calls.append(1)
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(sync.SyncToAsync, "__call__", counted)
    return calls


@pytest.mark.asyncio
async def test_related_manager_falls_back_to_a_thread(driver_on, hops):
    """question.choice_set is Django's manager: its async for runs in a thread, the driver's does not."""
    question = await Question.async_objects.aget(pk=1)
    driver_choices = [choice.pk async for choice in Choice.async_objects.filter(question_id=1).order_by("id")]
    assert hops == []
    related_choices = [choice.pk async for choice in question.choice_set.order_by("id")]
    assert related_choices == driver_choices
    assert hops != []


@needs_postgresql
def test_a_tests_own_transaction_is_invisible_to_the_driver(settings, db):
    """A row the test wrote in its own transaction (plain django_db, TestCase) is not seen by the driver."""
    turn_on(settings)
    question = Question.objects.create(question_text="Written inside the test's transaction")

    async def seen_by_driver() -> bool:
        try:
            return await Question.async_objects.filter(pk=question.pk).aexists()
        finally:
            await turn_off()

    assert Question.objects.filter(pk=question.pk).exists()
    assert async_to_sync(seen_by_driver)() is False


# 1,000 votes at once through each way of writing in one transaction

VOTES = 1000


@pytest.mark.asyncio
@pytest.mark.parametrize("name", ["sync_vote", "async_vote", "async_vote_driver"])
async def test_a_thousand_concurrent_votes_count_exactly(async_client, driver_on, name):
    """1,000 votes sent at once through one transaction each all answer 200, each counted once."""
    before = (await Choice.objects.aget(pk=2)).votes

    async def vote() -> tuple[int, int]:
        response = await answer(async_client, name, choice=2)
        return response.status_code, response.json().get("result", {}).get("votes")

    answers = await asyncio.gather(*(vote() for _ in range(VOTES)))

    assert [status for status, _ in answers] == [200] * VOTES
    # One transaction per vote: each read back the count its own UPDATE made, so no two agree.
    assert sorted(votes for _, votes in answers) == list(range(before + 1, before + VOTES + 1))
    assert (await Choice.objects.aget(pk=2)).votes == before + VOTES


@pytest.mark.asyncio
async def test_driver_read_makes_no_thread_hop(async_client, driver_on, hops):
    """Beyond the middleware's hops for any view, the driver's read hops to no thread; the a-methods do."""

    async def hops_of(name: str) -> int:
        hops.clear()
        assert (await answer(async_client, name)).status_code == 200
        return len(hops)

    baseline = await hops_of("async_hello")
    extra = {
        name: await hops_of(name) - baseline for name in ("async_question_native", "async_question_driver")
    }
    assert extra == {"async_question_native": 2, "async_question_driver": 0}
