"""
Database pairs: views that read and write polls through the ORM.

Each sync view calls a unit of work from views_demo/db.py directly. Its async twin hands
that same function to sync_to_async, once for the whole unit; a `_native` variant calls
the unit's `a` twin, written with the async ORM. Parsing (params.py) and shaping the answer
(responses.py, db.py) are shared.
"""

import time

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from views_demo import db, params, upstream
from views_demo.responses import respond


def poll_context(question: dict, *, vote_view: str) -> dict:
    """Build the voting form's context: the question and where the form posts its vote."""
    return {"question": question, "vote_url": reverse(f"views_demo:{vote_view}"), "vote_view": vote_view}


# Database: one question and its choices


def sync_question(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    args = params.parse(request, params.QUESTION)
    question = db.question_detail(question_id=args["question"])
    return respond(request, started, result=question, args=args)


async def async_question(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    args = params.parse(request, params.QUESTION)
    question = await sync_to_async(db.question_detail)(question_id=args["question"])
    return respond(request, started, result=question, args=args)


async def async_question_native(request: HttpRequest) -> JsonResponse:
    """The same read with the async ORM: aget_object_or_404, then async for."""
    started = time.perf_counter()
    args = params.parse(request, params.QUESTION)
    question = await db.aquestion_detail(question_id=args["question"])
    return respond(request, started, result=question, args=args)


async def async_question_badly(request: HttpRequest) -> JsonResponse:
    """The wrong way: the sync ORM called straight from a coroutine."""
    started = time.perf_counter()
    args = params.parse(request, params.QUESTION)
    # Wrong: question_detail() queries the database, and a sync query would block the event
    # loop (every request this server holds) until the database answered. Django refuses
    # before the query runs: it raises SynchronousOnlyOperation whenever the sync ORM is
    # used in a thread with a running event loop. DemoErrorMiddleware answers that 501 with
    # the message. The fix is async_question: sync_to_async(db.question_detail).
    question = db.question_detail(question_id=args["question"])
    return respond(request, started, result=question, args=args)


# Database: the list of questions


def sync_questions(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    questions = db.question_list()
    return respond(request, started, result=questions)


async def async_questions(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    questions = await sync_to_async(db.question_list)()
    return respond(request, started, result=questions)


async def async_questions_native(request: HttpRequest) -> JsonResponse:
    """The same read with the async ORM: acount, then async for."""
    started = time.perf_counter()
    questions = await db.aquestion_list()
    return respond(request, started, result=questions)


# Database: one page of questions (Paginator and AsyncPaginator)


def sync_questions_page(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    args = params.parse(request, params.PAGE)
    page = db.question_page(number=args["page"])
    return respond(request, started, result=page, args=args)


async def async_questions_page(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    args = params.parse(request, params.PAGE)
    page = await db.aquestion_page(number=args["page"])
    return respond(request, started, result=page, args=args)


# Database: the voting form (an HTML page that sets the CSRF cookie)


def sync_poll(request: HttpRequest) -> HttpResponse:
    args = params.parse(request, params.QUESTION)
    question = db.question_detail(question_id=args["question"])
    return render(request, "views_demo/poll.html", poll_context(question, vote_view="sync_vote"))


async def async_poll(request: HttpRequest) -> HttpResponse:
    args = params.parse(request, params.QUESTION)
    question = await sync_to_async(db.question_detail)(question_id=args["question"])
    return render(request, "views_demo/poll.html", poll_context(question, vote_view="async_vote"))


# Database: one vote, counted by the database


@require_POST
def sync_vote(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    args = params.parse(request, params.QUESTION, params.CHOICE)
    counted = db.vote(question_id=args["question"], choice_id=args["choice"])
    return respond(request, started, result=counted, args=args)


@require_POST
async def async_vote(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    args = params.parse(request, params.QUESTION, params.CHOICE)
    counted = await sync_to_async(db.vote)(question_id=args["question"], choice_id=args["choice"])
    return respond(request, started, result=counted, args=args)


@require_POST
async def async_vote_native(request: HttpRequest) -> JsonResponse:
    """The same write with the async ORM: aupdate, then aget."""
    started = time.perf_counter()
    args = params.parse(request, params.QUESTION, params.CHOICE)
    counted = await db.avote(question_id=args["question"], choice_id=args["choice"])
    return respond(request, started, result=counted, args=args)


# Database: call the slow upstream, then write. Neither twin has a transaction open while it
# waits, so a slow upstream holds no database connection or lock; the vote is one short unit.


@require_POST
def sync_checked_vote(request: HttpRequest) -> JsonResponse:
    """Ask the upstream first (a stand-in for a spam check), then count the vote."""
    started = time.perf_counter()
    args = params.parse(request, params.QUESTION, params.CHOICE, params.DELAY)
    check = upstream.delay(ms=args["delay"])
    counted = db.vote(question_id=args["question"], choice_id=args["choice"])
    return respond(request, started, result={"check": check, **counted}, args=args)


@require_POST
async def async_checked_vote(request: HttpRequest) -> JsonResponse:
    """See sync_checked_vote: the wait is on the event loop, the write in one unit after it."""
    started = time.perf_counter()
    args = params.parse(request, params.QUESTION, params.CHOICE, params.DELAY)
    check = await upstream.adelay(ms=args["delay"])
    counted = await sync_to_async(db.vote)(question_id=args["question"], choice_id=args["choice"])
    return respond(request, started, result={"check": check, **counted}, args=args)
