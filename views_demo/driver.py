"""
The units of work on the truly async driver, django-async-backend: the queries run on asyncio
psycopg connections, in the request's own task, with no thread (docs/lesson.md, "Is the async
ORM fake?"). Their sync twins are question_detail and vote in queries.py.

The package is optional and PostgreSQL-only: where it is off, `required` answers 501 saying why.
"""

import functools
import logging

from django.apps import apps
from django.core.handlers.asgi import ASGIRequest
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import aget_object_or_404

from views_demo import params
from views_demo.errors import DemoError
from views_demo.models import Choice, Question
from views_demo.params import IntParam
from views_demo.queries import _choice, _not_found, _question

try:
    from django_async_backend.db import async_connections, close_old_async_connections
    from django_async_backend.db.transaction import async_atomic
except ImportError:  # not installed: `required` answers 501 before any of it is needed
    async_connections = close_old_async_connections = async_atomic = None

logger = logging.getLogger(__name__)

PACKAGE = "django_async_backend"


class DriverOff(DemoError):
    """The truly async driver cannot serve here: not installed, not PostgreSQL, or not ASGI."""

    status = 501


def unavailable(request: HttpRequest) -> str:
    """Return why the driver cannot serve this request, or "" when it can."""
    if not apps.is_installed(PACKAGE):
        return (
            "the truly async driver is off: it needs django-async-backend in INSTALLED_APPS, on "
            "PostgreSQL (this project: DATABASE_URL=postgres://... and ASYNC_ORM_DRIVER=1)"
        )
    if not isinstance(request, ASGIRequest):
        # Under WSGI each async view runs on an event loop of its own (async_to_sync), and the
        # driver's pool and connections belong to the loop that opened them: a second loop
        # would hang on the pool or leak a connection per request.
        return (
            "the truly async driver needs an ASGI server (uvicorn): under WSGI each request gets "
            "a new event loop"
        )
    return ""


def required(*specs: IntParam):
    """Refuse with 501 where the driver is off (once the parameters are valid, so bad input is
    still 400), and give the view's connection back when it ends."""

    def decorator(view):
        @functools.wraps(view)
        async def driver_view(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            params.parse(request, *specs)
            if reason := unavailable(request):
                raise DriverOff(reason)
            try:
                return await view(request, *args, **kwargs)
            finally:
                # ASYNC_BACKEND_DISABLE_REQUEST_SIGNALS turns off the package's own clean-up at the
                # end of each request (it slows every sync request): the view gives its connection
                # back to the pool itself.
                await close_old_async_connections()

        return driver_view

    return decorator


# Reading: one question and its choices


async def aquestion_detail(*, question_id: int) -> dict:
    """See queries.question_detail(): the same read, on the driver's async_objects."""
    question = await aget_object_or_404(Question.async_objects, pk=question_id)
    # Not question.choice_set: a related manager is Django's, whose a-methods run in a thread.
    choices = Choice.async_objects.filter(question_id=question.pk).order_by("id")
    return _question(question, [_choice(choice) async for choice in choices])


# Writing: one vote, in one transaction


async def _committed(*, question_id: int, choice_id: int) -> None:
    logger.debug("vote committed: question %s, choice %s", question_id, choice_id)


async def avote(*, question_id: int, choice_id: int) -> dict:
    """See queries.vote(): the same unit in one transaction, with the driver's async_atomic()."""
    async with async_atomic():
        choice = Choice.async_objects.filter(pk=choice_id, question_id=question_id)
        updated = await choice.aupdate(votes=F("votes") + 1)
        if not updated:
            exists = await Question.async_objects.filter(pk=question_id).aexists()
            raise _not_found(question_id=question_id, choice_id=choice_id, question_exists=exists)
        # Runs once the transaction commits, and never if it rolls back (the read below failing).
        committed = functools.partial(_committed, question_id=question_id, choice_id=choice_id)
        await async_connections["default"].on_commit(committed)
        # The UPDATE holds the row's lock until commit, so this is the count this vote made.
        votes = await Choice.async_objects.values_list("votes", flat=True).aget(pk=choice_id)
    return {"question": question_id, "choice": choice_id, "votes": votes}
