"""End to end: a real uvicorn serving asyncdemo.asgi:application, with its in-process upstream."""

import httpx
import pytest
from django.urls import reverse

from tests import servers
from views_demo.registry import DEMOS


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with servers.uvicorn_server(tmp_path_factory.mktemp("uvicorn")) as (url, process):
        yield url, process


@pytest.mark.parametrize("demo", [d for d in DEMOS if not d.pitfall], ids=lambda d: d.slug)
def test_both_twins_answer_over_http(server, demo):
    """Over real HTTP, every view of a pair answers alike: 200 and the same answer, or the login page."""
    url, _ = server
    answers = []
    for name in demo.view_names:
        response = httpx.get(url + reverse(f"views_demo:{name}"), params=demo.sample, timeout=10)
        if demo.login:
            assert response.status_code == 302
            answers.append(response.headers["Location"].split("?")[0])
        else:
            assert response.status_code == 200, response.text
            answers.append(demo.answer(response))
    assert answers == [answers[0]] * len(answers)
    if demo.login:
        assert answers[0] == reverse("login")


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


def test_lifespan_runs_at_start_and_stop(tmp_path):
    """uvicorn reports that the application's lifespan started and shut down cleanly."""
    with servers.uvicorn_server(tmp_path) as (url, process):
        assert httpx.get(url + reverse("views_demo:async_upstream"), timeout=5).status_code == 200
    log = process.log()
    assert "Application startup complete." in log
    assert "Application shutdown complete." in log
