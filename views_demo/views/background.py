"""
Background work pairs: hand slow work to the Tasks framework and answer at once.

sync_enqueue and async_enqueue store a fetch_upstream task (views_demo/tasks.py) for the
worker and answer with its id and the URL of its status; the status twins read it back.
Enqueueing creates work, so it takes a POST (with its CSRF token): a GET must be safe to
repeat, and link prefetchers and crawlers send GETs.
The twins differ only in `enqueue`/`aenqueue` and `get_result`/`aget_result`.
"""

from django.http import HttpRequest, JsonResponse
from django.tasks import TaskResult
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from views_demo import params, tasks
from views_demo.errors import json_errors
from views_demo.responses import respond

# Each twin links to the status view of its own mode.
SYNC_STATUS = "views_demo:sync_task_status"
ASYNC_STATUS = "views_demo:async_task_status"


def answer(result: TaskResult, status_view: str) -> dict:
    """Describe a task and link to the status view that reads it again."""
    return {**tasks.describe(result), "status_url": reverse(status_view, args=[result.id])}


# Background work: enqueue a task


@json_errors
@require_POST
def sync_enqueue(request: HttpRequest) -> JsonResponse:
    args = params.parse(request, params.TASK_DELAY, params.FAIL)
    result = tasks.fetch_upstream.enqueue(ms=args["delay"], fail=bool(args["fail"]))
    return respond(request, result=answer(result, SYNC_STATUS), args=args)


@json_errors
@require_POST
async def async_enqueue(request: HttpRequest) -> JsonResponse:
    args = params.parse(request, params.TASK_DELAY, params.FAIL)
    result = await tasks.fetch_upstream.aenqueue(ms=args["delay"], fail=bool(args["fail"]))
    return respond(request, result=answer(result, ASYNC_STATUS), args=args)


# Background work: a task's status and result, by id


@json_errors
@require_safe
def sync_task_status(request: HttpRequest, result_id: str) -> JsonResponse:
    result = tasks.get_result(result_id)
    return respond(request, result=answer(result, SYNC_STATUS))


@json_errors
@require_safe
async def async_task_status(request: HttpRequest, result_id: str) -> JsonResponse:
    result = await tasks.aget_result(result_id)
    return respond(request, result=answer(result, ASYNC_STATUS))
