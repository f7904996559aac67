"""Background work: the enqueue twins, the status twins, and a real worker running tasks."""

import time

import httpx
import pytest
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from asyncdemo.settings import TASKS as PROJECT_TASKS
from tests import servers
from tests.readers import app_ms

TWINS = [("sync_enqueue", "sync_task_status"), ("async_enqueue", "async_task_status")]
STATUS_VIEWS = [status for _, status in TWINS]


@pytest.fixture
def database_backend(settings):
    """The backend the project runs with: tasks are rows until a worker runs them."""
    settings.TASKS = PROJECT_TASKS


# async_enqueue writes through the async ORM, which runs the query in a worker thread:
# only a committed transaction (transaction=True) is sure to be visible to every connection.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("enqueue", "status"), TWINS)
def test_enqueue_stores_a_ready_task_and_answers_at_once(client, database_backend, enqueue, status):
    """Enqueueing stores the call as a READY row and answers before the upstream's 5 s wait."""
    response = client.post(reverse(f"views_demo:{enqueue}"), {"delay": 5000})
    result = response.json()["result"]

    assert app_ms(response) < 5000
    assert result["status"] == "READY"
    assert result["return_value"] is None
    assert result["status_url"] == reverse(f"views_demo:{status}", args=[result["id"]])
    row = DBTaskResult.objects.get(id=result["id"])
    assert row.task_path == "views_demo.tasks.fetch_upstream"
    assert row.args_kwargs == {"args": [], "kwargs": {"ms": 5000, "fail": False}}

    again = client.get(result["status_url"])
    assert again.status_code == 200
    assert {key: again.json()["result"][key] for key in ("id", "status")} == {
        "id": result["id"],
        "status": "READY",
    }


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("task_id", ["00000000-0000-0000-0000-000000000000", "not-a-uuid"])
@pytest.mark.parametrize("status", STATUS_VIEWS)
def test_status_of_an_unknown_task_is_404(client, database_backend, status, task_id):
    """Asking for a task id nobody enqueued gives 404 with a reason naming the id."""
    response = client.get(reverse(f"views_demo:{status}", args=[task_id]))

    assert response.status_code == 404
    assert task_id in response.json()["error"]


@pytest.mark.parametrize("status", STATUS_VIEWS)
def test_status_needs_a_backend_that_keeps_results(client, status):
    """With a backend that stores nothing (the immediate one), the status views answer 404, not 500."""
    response = client.get(reverse(f"views_demo:{status}", args=["anything"]))

    assert response.status_code == 404
    assert response.json()["error"] == "the configured task backend keeps no results to look up"


@pytest.mark.parametrize(("enqueue", "status"), TWINS)
def test_a_failed_task_keeps_its_error(client, enqueue, status):
    """A task whose upstream answers 503 ends FAILED, and its result says why."""
    response = client.post(reverse(f"views_demo:{enqueue}"), {"delay": 0, "fail": 1})

    assert response.status_code == 200
    result = response.json()["result"]
    assert result["status"] == "FAILED"
    assert result["errors"] == ["views_demo.errors.UpstreamError: upstream answered 503"]


def wait_until_finished(url: str, timeout: float = 30) -> dict:
    """Poll a task's status URL until it is SUCCESSFUL or FAILED; return its description."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = httpx.get(url, timeout=5).json()["result"]
        if result["status"] in {"SUCCESSFUL", "FAILED"}:
            return result
        time.sleep(0.1)
    raise AssertionError(f"task at {url} did not finish within {timeout} s: {result}")


@pytest.mark.server
def test_a_real_worker_runs_enqueued_tasks(tmp_path):
    """With uvicorn and `manage.py db_worker` on one SQLite file, enqueued tasks run to the end."""
    with servers.uvicorn_server(tmp_path, worker=True) as (url, process):
        with servers.csrf_session(url, timeout=5) as client:
            succeeding = client.post(reverse("views_demo:async_enqueue"), data={"delay": 50})
            failing = client.post(reverse("views_demo:sync_enqueue"), data={"delay": 0, "fail": 1})
        assert [succeeding.json()["result"]["status"], failing.json()["result"]["status"]] == ["READY"] * 2

        done = wait_until_finished(url + succeeding.json()["result"]["status_url"])
        failed = wait_until_finished(url + failing.json()["result"]["status_url"])

    assert done["status"] == "SUCCESSFUL"
    assert done["return_value"] == {"delay_ms": 50}
    assert done["started_at"] is not None
    assert failed["status"] == "FAILED"
    assert failed["errors"] == ["views_demo.errors.UpstreamError: upstream answered 503"]
    assert f"id={done['id']} path=views_demo.tasks.fetch_upstream state=SUCCESSFUL" in process.worker.log()
