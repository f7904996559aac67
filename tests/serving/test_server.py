"""End to end: a real uvicorn serving asyncdemo.asgi:application, with its in-process upstream."""

import httpx
import pytest
from django.urls import reverse

from lab.registry import DEMOS
from tests import servers
from tests.demos import views_for_test_client
from tests.readers import answer_of

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with servers.uvicorn_server(tmp_path_factory.mktemp("uvicorn")) as (url, process):
        yield url, process


@pytest.mark.parametrize("demo", [d for d in DEMOS if not d.pitfall], ids=lambda d: d.slug)
def test_both_twins_answer_over_http(server, demo):
    """Over real HTTP, every view of a pair answers alike: 200 and the same answer, or the login page."""
    url, _ = server
    answers = []
    with servers.csrf_session(url) as client:
        # The driver's view is off here unless ASYNC_ORM_DRIVER=1: tests/serving/test_driver_server.py.
        for name in views_for_test_client(demo):
            path = reverse(f"views_demo:{name}")
            if demo.method == "POST":
                response = client.post(path, data=demo.sample)
            else:
                response = client.get(path, params=demo.sample)
            if demo.login:
                assert response.status_code == 302
                answers.append(response.headers["Location"].split("?")[0])
            else:
                assert response.status_code == 200, response.text
                answers.append(answer_of(demo)(response))
    assert answers == [answers[0]] * len(answers)
    if demo.login:
        assert answers[0] == reverse("login")


def test_vote_without_csrf_token_gets_403_json(server):
    """A vote posted without the CSRF cookie and token is refused with 403 and a JSON reason."""
    url, _ = server
    response = httpx.post(url + reverse("views_demo:async_vote"), data={"question": 1, "choice": 1})
    assert response.status_code == 403
    assert response.json()["error"].startswith("CSRF check failed")


def test_in_process_upstream_answers(server):
    """The slow upstream is mounted at /upstream on the same server."""
    url, _ = server
    response = httpx.get(f"{url}/upstream/delay", params={"ms": 20}, timeout=5)
    assert response.json() == {"delay_ms": 20}


def test_index_lists_every_pair(server):
    """The index page links every demo view."""
    url, _ = server
    page = httpx.get(url + "/", timeout=5).text
    for demo in DEMOS:
        for name in demo.view_names:
            assert reverse(f"views_demo:{name}") in page


def test_debug_off_serves_django_alone(tmp_path):
    """With DEBUG=0 the pages answer, but no static file or built-in upstream is served from Python."""
    # HTTPS=0: no redirect to HTTPS on this plain-HTTP loopback server, as in the benchmark.
    env = {"DEBUG": "0", "SECRET_KEY": "test-only-key", "HTTPS": "0"}
    with servers.uvicorn_server(tmp_path, env=env) as (url, _):
        for path in [reverse("lab:index"), *(reverse("lab:pair", args=[demo.slug]) for demo in DEMOS)]:
            assert httpx.get(url + path, timeout=10).status_code == 200, path
        # A web server in front serves collectstatic's files; UPSTREAM_URL names a real upstream.
        for path in ["/static/lab/lab.css", "/upstream/delay?ms=0"]:
            assert httpx.get(url + path, timeout=10).status_code == 404, path


def test_debug_on_serves_static_files_and_the_upstream(server):
    """In development (DEBUG on) the same server answers its static files and the upstream at /upstream."""
    url, _ = server
    paths = ["/static/lab/lab.css", "/static/lab/lab.js", "/static/lab/pygments.css", "/upstream/delay?ms=0"]
    for path in paths:
        assert httpx.get(url + path, timeout=10).status_code == 200, path


def test_lifespan_runs_at_start_and_stop(tmp_path):
    """uvicorn reports that the application's lifespan started and shut down cleanly."""
    with servers.uvicorn_server(tmp_path) as (url, process):
        assert httpx.get(url + reverse("views_demo:async_upstream"), timeout=5).status_code == 200
    log = process.log()
    assert "Application startup complete." in log
    assert "Application shutdown complete." in log


def test_sync_orm_in_async_view_answers_501_json_under_uvicorn(server):
    """Under uvicorn too, the labelled pitfall answers 501 naming SynchronousOnlyOperation, not a 500 page."""
    url, _ = server
    response = httpx.get(url + reverse("views_demo:async_question_badly"), params={"question": 1}, timeout=5)
    assert response.status_code == 501
    assert response.json()["error"].startswith("SynchronousOnlyOperation")
