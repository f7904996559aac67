"""
Background work with Django's Tasks framework: the task, and reading its result.

A worker (`python manage.py db_worker`) runs what the views enqueue (docs/lesson.md).
"""

import contextlib

from django.tasks import TaskResult, TaskResultStatus, task
from django.tasks.exceptions import TaskResultDoesNotExist, TaskResultMismatch

from views_demo import upstream
from views_demo.errors import NotFound


@task
def fetch_upstream(*, ms: int, fail: bool) -> dict:
    """Call the slow upstream once and return its answer; with `fail` it answers 503."""
    if fail:
        return upstream.status(code=503, ms=ms)
    return upstream.delay(ms=ms)


async def afetch_upstream(*, ms: int, fail: bool) -> dict:
    """See fetch_upstream(): the same call, awaited on the event loop."""
    if fail:
        return await upstream.astatus(code=503, ms=ms)
    return await upstream.adelay(ms=ms)


@contextlib.contextmanager
def _found(result_id: str):
    """Turn a missing (or foreign) task id into a 404, and refuse a backend that keeps no results."""
    if not fetch_upstream.get_backend().supports_get_result:
        raise NotFound("the configured task backend keeps no results to look up")
    try:
        yield
    except (TaskResultDoesNotExist, TaskResultMismatch) as exc:
        raise NotFound(f"no fetch_upstream task has the id {result_id!r}") from exc


def get_result(result_id: str) -> TaskResult:
    """Return the stored state of the fetch_upstream task with this id."""
    with _found(result_id):
        return fetch_upstream.get_result(result_id)


async def aget_result(result_id: str) -> TaskResult:
    """See get_result()."""
    with _found(result_id):
        return await fetch_upstream.aget_result(result_id)


def describe(result: TaskResult) -> dict:
    """Return what a reader needs to know about a task: its state and its outcome."""
    return {
        "id": result.id,
        "task": result.task.name,
        "status": result.status,
        "enqueued_at": result.enqueued_at,
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "return_value": result.return_value if result.status == TaskResultStatus.SUCCESSFUL else None,
        # The exception and its message, not the whole traceback: enough to see what failed
        # without showing a stranger the server's source paths.
        "errors": [error.traceback.strip().splitlines()[-1] for error in result.errors],
    }
