"""How the tests read a demo's answer, leaving out what may differ between twins."""

import re
from collections.abc import AsyncIterable, Callable

from asgiref.sync import async_to_sync
from django.http import HttpResponse


def json_result(response: HttpResponse) -> object:
    """What a JSON demo view answered, leaving out what may differ between twins."""
    body = response.json()
    return {"params": body["params"], "result": body["result"]}


def task_answer(response: HttpResponse) -> object:
    """What an enqueue view answered, leaving out the task's id, link and times."""
    body = response.json()
    result = body["result"]
    return {
        "params": body["params"],
        **{key: result[key] for key in ("task", "status", "return_value", "errors")},
    }


async def _ajoin(chunks: AsyncIterable[bytes]) -> bytes:
    return b"".join([chunk async for chunk in chunks])


def body_text(response) -> str:
    """The whole body, streamed or not, from Django's test client or an httpx response.

    Django's sync test client hands an async view's stream back unread, as an async iterator
    (streaming_content); reading it takes an event loop, as a WSGI server would start one.
    """
    if not getattr(response, "streaming", False):
        return response.text
    if response.is_async:
        return async_to_sync(_ajoin)(response.streaming_content).decode()
    return b"".join(response.streaming_content).decode()


def streamed(response) -> object:
    """What a streaming view sent: its content type and its whole body."""
    return {"content_type": response.headers["Content-Type"], "body": body_text(response)}


def page_main(response) -> str:
    """The <main> of an HTML page: the part twins render alike (not their name or timing)."""
    return re.search(r"<main>(.*)</main>", body_text(response), re.DOTALL).group(1)


def vote_result(response: HttpResponse) -> object:
    """What a vote answered, leaving out the count: every vote changes it."""
    body = response.json()
    result = {key: value for key, value in body["result"].items() if key != "votes"}
    return {"params": body["params"], "result": result, "counted": body["result"]["votes"] >= 1}


def poll_form(response: HttpResponse) -> object:
    """The question and the choice ids a voting form offers (the twins post to different views)."""
    page = response.text
    return {
        "title": re.search(r"<h1>(.*?)</h1>", page).group(1),
        "choices": re.findall(r'<input type="radio" name="choice" value="(\d+)"', page),
    }


# How the twin tests read each demo's answer; a pair's views must all give the same.
ANSWERS: dict[str, Callable] = {
    "poll": poll_form,
    "vote": vote_result,
    "locked_vote": vote_result,
    "checked_vote": vote_result,
    "async_atomic": vote_result,
    "stream": streamed,
    "events": streamed,
    "generic-view": page_main,
    "tasks": task_answer,
}


def answer_of(demo) -> Callable:
    """Return the reader of a demo's answer: JSON's params and result unless it renders otherwise."""
    return ANSWERS.get(demo.slug, json_result)


def app_ms(response) -> float:
    """The time the server spent on a request, from its Server-Timing header (lab/middleware.py)."""
    return float(re.search(r"\bapp;dur=([\d.]+)", response.headers["Server-Timing"]).group(1))


SERVER_TIMING = re.compile(
    r'app;dur=(?P<app>\d+\.\d), upstream;dur=(?P<upstream>\d+\.\d);desc="(?P<calls>\d+) calls?"'
)


def timing(response) -> dict[str, float]:
    """The Server-Timing header's figures (lab/middleware.py): app and upstream ms, upstream calls."""
    match = SERVER_TIMING.fullmatch(response["Server-Timing"])
    assert match, response["Server-Timing"]
    return {name: float(value) for name, value in match.groupdict().items()}
