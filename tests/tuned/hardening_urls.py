"""The project's URLs plus a view that leaves a transaction open across an await (tests only)."""

import asyncio

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


urlpatterns = [
    path("test/transaction_across_await/", transaction_across_await),
    path("", include("asyncdemo.urls")),
]
