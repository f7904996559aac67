"""The project's URLs plus views that misuse threads as real code does (tests only).

One leaves a transaction open across an await; one leaves a background task behind that
calls sync code after the response.
"""

import asyncio
import threading

from asgiref.sync import sync_to_async
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from views_demo.models import Question


def begin_transaction() -> None:
    """Enter an atomic block and leave it open, as a view that spans awaits with one would."""
    transaction.atomic().__enter__()
    Question.objects.filter(pk=1).update(question_text="changed inside an abandoned transaction")


async def transaction_across_await(request: HttpRequest) -> HttpResponse:
    """Begin a transaction in a sync call, then wait with it open."""
    await sync_to_async(begin_transaction)()
    # The client leaves during this wait; Django then cancels the view mid-transaction.
    await asyncio.sleep(30)
    return HttpResponse("never reached")


def count_questions() -> str:
    """A background task's sync work: a query, on whatever thread runs it."""
    return f"{Question.objects.count()} questions on {threading.current_thread().name}"


async def call_sync_code_later() -> None:
    # The response has gone by the time this runs: the task outlives its request.
    await asyncio.sleep(0.2)
    try:
        outcome = await sync_to_async(count_questions)()
    except Exception as error:
        print(f"late sync call failed: {error!r}", flush=True)
    else:
        print(f"late sync call ran: {outcome}", flush=True)


background_tasks: set[asyncio.Task] = set()


async def sync_call_after_response(request: HttpRequest) -> HttpResponse:
    """Start a task that calls sync code after the response, and answer at once."""
    task = asyncio.create_task(call_sync_code_later())
    background_tasks.add(task)
    task.add_done_callback(background_tasks.discard)
    return HttpResponse("started")


urlpatterns = [
    path("test/transaction_across_await/", transaction_across_await),
    path("test/sync_call_after_response/", sync_call_after_response),
    path("", include("asyncdemo.urls")),
]
