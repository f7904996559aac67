"""
Database pairs: read and write the polls through the ORM.

The sync view calls a unit of work from queries.py; its async twin hands the same function
to sync_to_async once; a `_native` variant calls the unit's `a` twin (the async ORM).
"""

from asgiref.sync import sync_to_async
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from views_demo import driver, params, queries, upstream
from views_demo.errors import json_errors
from views_demo.responses import respond


def poll_context(question: dict, *, vote_view: str) -> dict:
    """Build the voting form's context: the question and where the form posts its vote."""
    return {"question": question, "vote_url": reverse(f"views_demo:{vote_view}"), "vote_view": vote_view}


# Database: one question and its choices


@json_errors
@require_safe
def sync_question(request: HttpRequest) -> JsonResponse:
    args = params.parse(request, params.QUESTION)
    question = queries.question_detail(question_id=args["question"])
    return respond(request, result=question, args=args)


@json_errors
@require_safe
async def async_question(request: HttpRequest) -> JsonResponse:
    args = params.parse(request, params.QUESTION)
    question = await sync_to_async(queries.question_detail)(question_id=args["question"])
    return respond(request, result=question, args=args)


@json_errors
@require_safe
async def async_question_native(request: HttpRequest) -> JsonResponse:
    """The same read with the async ORM: aget_object_or_404, then async for."""
    args = params.parse(request, params.QUESTION)
    question = await queries.aquestion_detail(question_id=args["question"])
    return respond(request, result=question, args=args)


@json_errors
@require_safe
@driver.required(params.QUESTION)
async def async_question_driver(request: HttpRequest) -> JsonResponse:
    """The same read on the truly async driver: no thread, where the a-methods hold one."""
    args = params.parse(request, params.QUESTION)
    question = await driver.aquestion_detail(question_id=args["question"])
    return respond(request, result=question, args=args)


@json_errors
@require_safe
async def async_question_badly(request: HttpRequest) -> JsonResponse:
    """The wrong way: the sync ORM called straight from a coroutine."""
    args = params.parse(request, params.QUESTION)
    # Wrong: question_detail() queries the database, and a sync query would block the event
    # loop (every request this server holds) until the database answered. Django refuses
    # before the query runs: it raises SynchronousOnlyOperation whenever the sync ORM is
    # used in a thread with a running event loop. @json_errors answers that 501 with
    # the message. The fix is async_question: sync_to_async(queries.question_detail).
    question = queries.question_detail(question_id=args["question"])
    return respond(request, result=question, args=args)


# Database: the list of questions


@json_errors
@require_safe
def sync_questions(request: HttpRequest) -> JsonResponse:
    questions = queries.question_list()
    return respond(request, result=questions)


@json_errors
@require_safe
async def async_questions(request: HttpRequest) -> JsonResponse:
    questions = await sync_to_async(queries.question_list)()
    return respond(request, result=questions)


@json_errors
@require_safe
async def async_questions_native(request: HttpRequest) -> JsonResponse:
    """The same read with the async ORM: acount, then async for."""
    questions = await queries.aquestion_list()
    return respond(request, result=questions)


# Database: one page of questions (Paginator and AsyncPaginator)


@json_errors
@require_safe
def sync_questions_page(request: HttpRequest) -> JsonResponse:
    args = params.parse(request, params.PAGE)
    page = queries.question_page(number=args["page"])
    return respond(request, result=page, args=args)


@json_errors
@require_safe
async def async_questions_page(request: HttpRequest) -> JsonResponse:
    args = params.parse(request, params.PAGE)
    page = await queries.aquestion_page(number=args["page"])
    return respond(request, result=page, args=args)


# Database: the voting form (an HTML page that sets the CSRF cookie)


@json_errors
@require_safe
def sync_poll(request: HttpRequest) -> HttpResponse:
    args = params.parse(request, params.QUESTION)
    question = queries.question_detail(question_id=args["question"])
    return render(request, "views_demo/poll.html", poll_context(question, vote_view="sync_vote"))


@json_errors
@require_safe
async def async_poll(request: HttpRequest) -> HttpResponse:
    args = params.parse(request, params.QUESTION)
    question = await sync_to_async(queries.question_detail)(question_id=args["question"])
    # render() runs here, on the event loop: the context is complete and poll.html reads nothing
    # lazy ({{ user }} would load the session from the database and raise SynchronousOnlyOperation;
    # so would messages that overflowed into it). Such a template needs TemplateResponse (classes.py).
    return render(request, "views_demo/poll.html", poll_context(question, vote_view="async_vote"))


@json_errors
@require_safe
@driver.required(params.QUESTION)
async def async_poll_driver(request: HttpRequest) -> HttpResponse:
    """The same form, its question read on the truly async driver; it posts to async_vote_driver."""
    args = params.parse(request, params.QUESTION)
    question = await driver.aquestion_detail(question_id=args["question"])
    return render(request, "views_demo/poll.html", poll_context(question, vote_view="async_vote_driver"))


# Database: one vote, counted by the database


@json_errors
@require_POST
def sync_vote(request: HttpRequest) -> JsonResponse:
    args = params.parse(request, params.QUESTION, params.CHOICE)
    counted = queries.vote(question_id=args["question"], choice_id=args["choice"])
    return respond(request, result=counted, args=args)


@json_errors
@require_POST
async def async_vote(request: HttpRequest) -> JsonResponse:
    args = params.parse(request, params.QUESTION, params.CHOICE)
    counted = await sync_to_async(queries.vote)(question_id=args["question"], choice_id=args["choice"])
    return respond(request, result=counted, args=args)


@json_errors
@require_POST
async def async_vote_native(request: HttpRequest) -> JsonResponse:
    """The same write with the async ORM: aupdate, then aget."""
    args = params.parse(request, params.QUESTION, params.CHOICE)
    counted = await queries.avote(question_id=args["question"], choice_id=args["choice"])
    return respond(request, result=counted, args=args)


@json_errors
@require_POST
@driver.required(params.QUESTION, params.CHOICE)
async def async_vote_driver(request: HttpRequest) -> JsonResponse:
    """The same write on the truly async driver: one transaction, with async_atomic()."""
    args = params.parse(request, params.QUESTION, params.CHOICE)
    counted = await driver.avote(question_id=args["question"], choice_id=args["choice"])
    return respond(request, result=counted, args=args)


@json_errors
@require_POST
async def async_atomic_badly(request: HttpRequest) -> JsonResponse:
    """The wrong way: Django's atomic() opened in a coroutine, around awaited calls."""
    args = params.parse(request, params.QUESTION, params.CHOICE)
    # Wrong: atomic() is sync. Its __enter__ asks the connection of this thread, the event
    # loop's, whether it is in autocommit, which means connecting: Django raises
    # SynchronousOnlyOperation before any SQL runs, on SQLite and PostgreSQL alike, and
    # @json_errors answers 501. Had it run, the a-calls inside would still run on a worker
    # thread's connection, not the event loop's where atomic() began: outside this transaction.
    # The fixes: sync_to_async around the whole atomic unit (async_vote), or the driver's
    # async_atomic() (async_vote_driver).
    with transaction.atomic():
        counted = await queries.avote(question_id=args["question"], choice_id=args["choice"])
    return respond(request, result=counted, args=args)


# Database: one vote, read and written back under the row's lock. The unit has no async ORM
# twin (there is no async atomic()), so the async view hands all of it to sync_to_async.


@json_errors
@require_POST
def sync_locked_vote(request: HttpRequest) -> JsonResponse:
    args = params.parse(request, params.QUESTION, params.CHOICE)
    counted = queries.locked_vote(question_id=args["question"], choice_id=args["choice"])
    return respond(request, result=counted, args=args)


@json_errors
@require_POST
async def async_locked_vote(request: HttpRequest) -> JsonResponse:
    args = params.parse(request, params.QUESTION, params.CHOICE)
    counted = await sync_to_async(queries.locked_vote)(question_id=args["question"], choice_id=args["choice"])
    return respond(request, result=counted, args=args)


# Database: call the slow upstream, then write. Neither twin has a transaction open while it
# waits, so a slow upstream holds no database connection or lock; the vote is one short unit.


@json_errors
@require_POST
def sync_checked_vote(request: HttpRequest) -> JsonResponse:
    """Ask the upstream first (a stand-in for a spam check), then count the vote."""
    args = params.parse(request, params.QUESTION, params.CHOICE, params.DELAY)
    check = upstream.delay(ms=args["delay"])
    counted = queries.vote(question_id=args["question"], choice_id=args["choice"])
    return respond(request, result={"check": check, **counted}, args=args)


@json_errors
@require_POST
async def async_checked_vote(request: HttpRequest) -> JsonResponse:
    """See sync_checked_vote: the wait is on the event loop, the write in one unit after it."""
    args = params.parse(request, params.QUESTION, params.CHOICE, params.DELAY)
    check = await upstream.adelay(ms=args["delay"])
    counted = await sync_to_async(queries.vote)(question_id=args["question"], choice_id=args["choice"])
    return respond(request, result={"check": check, **counted}, args=args)
