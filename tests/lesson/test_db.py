"""The database pairs: what they read and write, how they fail, and the async patterns to copy."""

import sqlite3

import psycopg
import pytest
from asgiref.sync import sync_to_async
from django.core.exceptions import ImproperlyConfigured, SynchronousOnlyOperation
from django.core.management import call_command
from django.db import OperationalError, connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from psycopg.errors import AdminShutdown, SerializationFailure, TooManyConnections
from psycopg_pool import PoolTimeout

from asyncdemo.settings import database_from_url
from lab.registry import BY_SLUG
from views_demo import queries as units
from views_demo.errors import as_demo_error
from views_demo.models import Choice, Question
from views_demo.queries import QUESTIONS_PER_PAGE, aquestion_detail, question_detail

QUESTION_VIEWS = BY_SLUG["question"].view_names
VOTE_VIEWS = BY_SLUG["vote"].view_names + BY_SLUG["locked_vote"].view_names
WRITE_VIEWS = VOTE_VIEWS + BY_SLUG["checked_vote"].view_names
PAGE_VIEWS = BY_SLUG["questions_page"].view_names


def all_votes() -> list[tuple[int, int]]:
    return list(Choice.objects.order_by("id").values_list("id", "votes"))


def post(client, name: str, **data):
    return client.post(reverse(f"views_demo:{name}"), {"delay": 0, **data})


# The seed


def test_seed_demo_creates_the_polls_once(db):
    """seed_demo creates question 1 with 4 choices and more questions; a second run adds nothing."""
    call_command("seed_demo", verbosity=0)
    counts = Question.objects.count(), Choice.objects.count()
    call_command("seed_demo", verbosity=0)

    assert (Question.objects.count(), Choice.objects.count()) == counts
    assert Question.objects.get(pk=1).choice_set.count() == 4
    assert counts[0] > 2 * QUESTIONS_PER_PAGE


def test_new_rows_get_ids_after_the_seeded_ones(seeded):
    """Seeding with explicit ids leaves the id sequences past them (PostgreSQL would collide)."""
    question = Question.objects.create(question_text="Added later")
    assert question.pk > Question.objects.exclude(pk=question.pk).latest("pk").pk


def test_admin_lists_and_edits_questions(admin_client, seeded):
    """The admin lists the questions and opens one with its choices inline."""
    listing = admin_client.get(reverse("admin:views_demo_question_changelist"))
    page = admin_client.get(reverse("admin:views_demo_question_change", args=[1]))

    assert listing.status_code == 200
    assert Question.objects.get(pk=1).question_text in listing.text
    assert page.status_code == 200
    assert Choice.objects.filter(question=1).first().choice_text in page.text


# Reading


@pytest.mark.parametrize("name", QUESTION_VIEWS)
def test_question_views_answer_the_question_and_its_choices(client, seeded, name):
    """Each of the three read views answers question 1 with its choices, as the ORM has them."""
    result = client.get(reverse(f"views_demo:{name}"), {"question": 1}).json()["result"]

    assert result["id"] == 1
    assert [choice["id"] for choice in result["choices"]] == list(
        Choice.objects.filter(question=1).order_by("id").values_list("id", flat=True)
    )


@pytest.mark.parametrize("name", [*QUESTION_VIEWS, *BY_SLUG["poll"].view_names])
def test_unknown_question_gets_404_json(client, seeded, name):
    """A question that does not exist gets 404 with a JSON reason."""
    response = client.get(reverse(f"views_demo:{name}"), {"question": 999})

    assert response.status_code == 404
    assert response.json() == {"error": "No Question matches the given query.", "status": 404}


@pytest.mark.parametrize("name", BY_SLUG["questions"].view_names)
def test_list_counts_every_question_and_totals_votes(client, seeded, name):
    """The list gives the number of questions and each one's total votes."""
    Choice.objects.filter(pk=1).update(votes=3)
    result = client.get(reverse(f"views_demo:{name}")).json()["result"]

    assert result["count"] == Question.objects.count()
    assert result["questions"][0] == {"id": 1, "text": Question.objects.get(pk=1).question_text, "votes": 3}


@pytest.mark.parametrize("name", PAGE_VIEWS)
def test_pages_hold_every_question_once(client, seeded, name):
    """Walking the pages from 1 to num_pages gives every question once, in id order."""
    first = client.get(reverse(f"views_demo:{name}"), {"page": 1}).json()["result"]
    seen = []
    for number in range(1, first["num_pages"] + 1):
        result = client.get(reverse(f"views_demo:{name}"), {"page": number}).json()["result"]
        assert result["page"] == number
        assert len(result["questions"]) <= QUESTIONS_PER_PAGE
        seen += [question["id"] for question in result["questions"]]

    assert first["num_pages"] > 1
    assert seen == list(Question.objects.order_by("id").values_list("id", flat=True))


@pytest.mark.parametrize("name", PAGE_VIEWS)
def test_page_past_the_last_gets_404(client, seeded, name):
    """A page after the last one gets 404 naming the last page."""
    last = -(-Question.objects.count() // QUESTIONS_PER_PAGE)
    response = client.get(reverse(f"views_demo:{name}"), {"page": last + 1})

    assert response.status_code == 404
    assert response.json()["error"] == f"page {last + 1} is past the last page, {last}"


@pytest.mark.parametrize("name", BY_SLUG["poll"].view_names)
def test_poll_form_offers_each_choice_and_sets_the_csrf_cookie(client, seeded, name):
    """The voting form has a radio per choice, posts to its twin's vote view and sets csrftoken."""
    response = client.get(reverse(f"views_demo:{name}"), {"question": 1})
    page = response.text

    assert response.status_code == 200
    assert "csrftoken" in response.cookies
    for choice in Choice.objects.filter(question=1):
        assert f'<input type="radio" name="choice" value="{choice.pk}"' in page
    vote_view = name.replace("poll", "vote")
    assert f'action="{reverse(f"views_demo:{vote_view}")}"' in page


@pytest.mark.parametrize("name", BY_SLUG["poll"].view_names)
def test_poll_form_renders_for_a_signed_in_reader(client, seeded, django_user_model, name):
    """The async twin renders poll.html on the event loop: a session in the request must not
    make the template touch the database (SynchronousOnlyOperation), so both twins answer alike."""
    client.force_login(django_user_model.objects.create_user("reader", password="pw"))
    response = client.get(reverse(f"views_demo:{name}"), {"question": 1})

    assert response.status_code == 200, response.content[:300]
    for choice in Choice.objects.filter(question=1):
        assert f'<input type="radio" name="choice" value="{choice.pk}"' in response.text


# Writing


@pytest.mark.parametrize("name", WRITE_VIEWS)
def test_each_vote_adds_exactly_one(client, seeded, name):
    """A vote adds one to its choice, answers the new count, and changes no other choice."""
    before = dict(all_votes())
    response = post(client, name, question=1, choice=2)

    assert response.status_code == 200
    assert response.json()["result"] | {"check": None} == {
        "question": 1,
        "choice": 2,
        "votes": before[2] + 1,
        "check": None,
    }
    assert dict(all_votes()) == before | {2: before[2] + 1}


@pytest.mark.parametrize("name", WRITE_VIEWS)
def test_vote_for_an_unknown_question_gets_404(client, seeded, name):
    """A vote for a question that does not exist gets 404 and counts nothing."""
    before = all_votes()
    response = post(client, name, question=999, choice=1)

    assert response.status_code == 404
    assert response.json()["error"] == "question 999 does not exist"
    assert all_votes() == before


@pytest.mark.parametrize("name", WRITE_VIEWS)
def test_vote_for_another_questions_choice_gets_404(client, seeded, name):
    """A choice that belongs to another question gets 404 and counts nothing."""
    other = Choice.objects.exclude(question=1).first()
    before = all_votes()
    response = post(client, name, question=1, choice=other.pk)

    assert response.status_code == 404
    assert response.json()["error"] == f"question 1 has no choice {other.pk}"
    assert all_votes() == before


def test_locked_vote_reads_the_choice_under_a_write_lock(seeded):
    """locked_vote reads with SELECT ... FOR UPDATE, or on SQLite (which ignores it) after BEGIN IMMEDIATE."""
    with CaptureQueriesContext(connection) as captured:
        units.locked_vote(question_id=1, choice_id=1)
    (read,) = [query["sql"] for query in captured if query["sql"].startswith("SELECT")]

    if connection.features.has_select_for_update:
        assert read.endswith(" FOR UPDATE")
    else:
        assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def sqlite_busy(path) -> sqlite3.OperationalError:
    """Return the error SQLite raises when another connection holds the write lock too long."""
    holder = sqlite3.connect(path, isolation_level=None)
    waiter = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        waiter.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        holder.close()
        waiter.close()
    raise AssertionError("the second writer got the lock")


@pytest.mark.parametrize("name", WRITE_VIEWS)
def test_busy_database_gets_503_json(client, seeded, monkeypatch, tmp_path, caplog, name):
    """A database locked past the busy timeout gets 503 with a short reason; the log keeps SQLite's."""
    busy = sqlite_busy(tmp_path / "busy.sqlite3")

    def locked(**unit):
        # As Django raises it: its own OperationalError, caused by the driver's.
        raise OperationalError(*busy.args) from busy

    monkeypatch.setattr(units, "vote", locked)
    monkeypatch.setattr(units, "avote", sync_to_async(locked))
    monkeypatch.setattr(units, "locked_vote", locked)
    response = post(client, name, question=1, choice=1)

    assert response.status_code == 503
    assert response.json()["error"] == "database unavailable: the database is locked"
    assert "(OperationalError: database is locked)" in caplog.text


@pytest.mark.parametrize(
    ("driver_error", "reason"),
    [
        (
            AdminShutdown("terminating connection due to administrator command"),
            "the server closed the connection",
        ),
        (
            psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly"),
            "no connection to the server",
        ),
        (
            psycopg.OperationalError(
                'connection failed: connection to server at "10.0.0.5", port 5432 failed'
            ),
            "no connection to the server",
        ),
        (
            PoolTimeout("couldn't get a connection after 20.00 sec"),
            "timed out waiting for a pooled connection",
        ),
        (
            TooManyConnections('sorry, too many clients already for role "app"'),
            "the server has no free connection slots",
        ),
        (
            SerializationFailure("could not serialize access due to concurrent update"),
            "the database failed (SerializationFailure)",
        ),
    ],
)
def test_database_fault_reason_comes_from_the_exception_not_its_text(driver_error, reason):
    """A database fault's reason is fixed per kind of exception and never repeats the driver's text."""
    try:
        raise OperationalError(*driver_error.args) from driver_error
    except OperationalError as exc:
        error = as_demo_error(exc)

    assert error.status == 503
    assert error.reason == f"database unavailable: {reason}"
    assert error.detail == f"{type(driver_error).__name__}: {driver_error}"


# transaction=True, as for the async patterns below: the vote is written in sync_to_async's thread.
@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_native_vote_counted_but_not_read_back_answers_200(
    async_client, monkeypatch, close_connections
):
    """When the read after avote's committed UPDATE fails, the vote counts and answers 200, votes None."""
    await sync_to_async(call_command)("seed_demo", verbosity=0)
    before = (await Choice.objects.aget(pk=1)).votes

    async def gone(queryset, *args, **kwargs):
        raise OperationalError("consuming input failed: server closed the connection unexpectedly")

    with monkeypatch.context() as patched:
        patched.setattr(QuerySet, "aget", gone)
        response = await async_client.post(
            reverse("views_demo:async_vote_native"), {"question": 1, "choice": 1}
        )

    assert response.status_code == 200
    assert response.json()["result"] == {"question": 1, "choice": 1, "votes": None}
    assert (await Choice.objects.aget(pk=1)).votes == before + 1


# The async patterns to copy


# Async code that writes needs transaction=True: the async test's own event loop runs the
# ORM through sync_to_async in another thread, on another connection, which could not see
# the rows of a transaction held open by the test (the default django_db) on this one.
@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_async_client_votes_are_counted(async_client, close_connections):
    """Votes posted to each vote view from the async test client add up in the database."""
    await sync_to_async(call_command)("seed_demo", verbosity=0)
    before = (await Choice.objects.aget(pk=1)).votes

    for name in VOTE_VIEWS:
        response = await async_client.post(reverse(f"views_demo:{name}"), {"question": 1, "choice": 1})
        assert response.status_code == 200

    assert (await Choice.objects.aget(pk=1)).votes == before + len(VOTE_VIEWS)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_unit_of_work_and_its_async_twin_agree(close_connections):
    """question_detail through sync_to_async and aquestion_detail return the same question."""
    await sync_to_async(call_command)("seed_demo", verbosity=0)

    assert await sync_to_async(question_detail)(question_id=1) == await aquestion_detail(question_id=1)


# The pitfall


@pytest.mark.asyncio
async def test_sync_orm_in_a_coroutine_raises_synchronous_only_operation():
    """Calling a sync unit of work straight from a coroutine raises SynchronousOnlyOperation."""
    with pytest.raises(SynchronousOnlyOperation, match="use a thread or sync_to_async"):
        question_detail(question_id=1)


def test_badly_view_answers_501_naming_the_exception(client, seeded):
    """async_question_badly answers 501 naming SynchronousOnlyOperation; the bridged twin answers 200."""
    bad = client.get(reverse("views_demo:async_question_badly"), {"question": 1})
    good = client.get(reverse("views_demo:async_question"), {"question": 1})

    assert bad.status_code == 501
    assert bad.json()["error"].startswith("SynchronousOnlyOperation: You cannot call this from an async")
    assert good.status_code == 200


# Settings


def test_database_url_gives_every_part_to_django():
    """DATABASE_URL's user, password, host, port, name and options are decoded into DATABASES."""
    entry = database_from_url("postgresql://us%40er:p%3Ass@db.example:6543/polls?sslmode=require")

    assert entry["ENGINE"] == "django.db.backends.postgresql"
    assert (entry["USER"], entry["PASSWORD"], entry["HOST"], entry["PORT"], entry["NAME"]) == (
        "us@er",
        "p:ss",
        "db.example",
        6543,
        "polls",
    )
    assert entry["OPTIONS"]["sslmode"] == "require"
    assert entry["OPTIONS"]["pool"]
    assert entry["CONN_MAX_AGE"] == 0


def test_database_url_of_another_kind_is_refused():
    """A DATABASE_URL that is not postgres:// stops the settings with a clear message."""
    with pytest.raises(ImproperlyConfigured, match="must start with postgres://"):
        database_from_url("mysql://user@host/name")
