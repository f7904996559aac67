"""
The one list of demos. URLs, the lab pages, the twin tests and the benchmark all read it.

Adding a pair means writing its two views and adding one Demo here; nothing else.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.http import HttpResponse

from views_demo import params
from views_demo.params import IntParam
from views_demo.views import db, http


def json_result(response: HttpResponse) -> object:
    """What a JSON demo view answered, leaving out what may differ between twins."""
    body = response.json()
    return {"params": body["params"], "result": body["result"]}


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


@dataclass(frozen=True)
class Demo:
    """A pair of twin views (or a labelled pitfall) and what it teaches."""

    slug: str
    topic: str
    title: str
    lesson: str
    # Shown side by side. A pair's views all give the same result for the same input;
    # a pitfall's first view is the wrong way and the second the right one.
    views: tuple[Callable, ...]
    params: tuple[IntParam, ...] = ()
    # Small values the twin tests and the lab start from (the query, or the form for POST).
    sample: dict[str, int] = field(default_factory=dict)
    pitfall: bool = False
    # What to watch when running it, and which file to read: shown on the demo's page.
    observe: str = ""
    method: str = "GET"
    # How the twin tests read an answer; a pair's views must all give the same.
    answer: Callable[[HttpResponse], object] = json_result
    # What the views answer: "json" (responses.respond) or "html" (a page to open).
    renders: str = "json"

    @property
    def view_names(self) -> list[str]:
        return [view.__name__ for view in self.views]


DEMOS: list[Demo] = [
    # HTTP: calling a slow upstream
    Demo(
        slug="hello",
        topic="HTTP",
        title="Hello",
        lesson="With no I/O to wait on, async buys nothing: this is the framework's own cost.",
        views=(http.sync_hello, http.async_hello),
        observe="Both answer in well under a millisecond; the benchmark's hello scenario shows each "
        "server's overhead per request. Read views_demo/views/http.py.",
    ),
    Demo(
        slug="upstream",
        topic="HTTP",
        title="One upstream call",
        lesson="One call takes the same time either way; async frees the worker while it waits.",
        views=(http.sync_upstream, http.async_upstream),
        params=(params.DELAY,),
        sample={"delay": 50},
        observe="Both take about `delay` ms. The difference is what the server does meanwhile: the sync "
        "view holds a thread, the async one gives the event loop to other requests. Read "
        "views_demo/upstream.py for the clients.",
    ),
    Demo(
        slug="fanout",
        topic="HTTP",
        title="Fan-out",
        lesson="K calls take K·D one after another, but about D at once on the event loop or a thread pool.",
        views=(http.sync_fanout, http.async_fanout, http.sync_fanout_threaded),
        params=(params.N, params.DELAY),
        sample={"n": 5, "delay": 50},
        observe="sync_fanout takes n·delay; async_fanout and sync_fanout_threaded take about one delay. "
        "Compare upstream.fanout, fanout_threaded and afanout in views_demo/upstream.py.",
    ),
    # Database: the ORM from sync views, through sync_to_async, and with the async ORM
    Demo(
        slug="question",
        topic="Database",
        title="Read one question",
        lesson="An async view reaches the ORM through one sync_to_async around the whole unit, "
        "or through the async ORM.",
        views=(db.sync_question, db.async_question, db.async_question_native),
        params=(params.QUESTION,),
        sample={"question": 1},
        observe="All three give the same JSON. Compare question_detail and aquestion_detail in "
        "views_demo/db.py, and how views_demo/views/db.py calls them.",
    ),
    Demo(
        slug="questions",
        topic="Database",
        title="List the questions",
        lesson="A queryset is built the same way in both modes; only evaluating it (count or acount, "
        "for or async for) differs.",
        views=(db.sync_questions, db.async_questions, db.async_questions_native),
        observe="The same count and list from all three. Read question_list and aquestion_list in "
        "views_demo/db.py.",
    ),
    Demo(
        slug="questions_page",
        topic="Database",
        title="Paginate the questions",
        lesson="Paginator has an async twin, AsyncPaginator: its count, pages and page objects are awaited.",
        views=(db.sync_questions_page, db.async_questions_page),
        params=(params.PAGE,),
        sample={"page": 2},
        observe="Both give the same page; a page past the last is 404. Read question_page and "
        "aquestion_page in views_demo/db.py.",
    ),
    Demo(
        slug="poll",
        topic="Database",
        title="Voting form",
        lesson="A page rendered after an ORM read: template and CSRF cookie work the same in an async view.",
        views=(db.sync_poll, db.async_poll),
        params=(params.QUESTION,),
        sample={"question": 1},
        observe="Open either, vote, and get the new count as JSON from sync_vote or async_vote. Read "
        "templates/views_demo/poll.html and views_demo/views/db.py.",
        answer=poll_form,
        renders="html",
    ),
    Demo(
        slug="vote",
        topic="Database",
        title="Vote",
        lesson="Count with F() in the database, never in Python, and concurrent votes are never lost.",
        views=(db.sync_vote, db.async_vote, db.async_vote_native),
        params=(params.QUESTION, params.CHOICE),
        sample={"question": 1, "choice": 1},
        observe="POST question and choice with the CSRF token (the voting form does); each answers the new "
        "count. tests/test_votes.py sends 1,000 at once over HTTP and loses none. Read vote and avote in "
        "views_demo/db.py.",
        method="POST",
        answer=vote_result,
    ),
    Demo(
        slug="checked_vote",
        topic="Database",
        title="Call the upstream, then vote",
        lesson="The usual shape of an async view: await the slow call on the event loop, then write in "
        "one short unit of work.",
        views=(db.sync_checked_vote, db.async_checked_vote),
        params=(params.QUESTION, params.CHOICE, params.DELAY),
        sample={"question": 1, "choice": 2, "delay": 50},
        observe="Both take about `delay` ms and count one vote; an upstream fault answers 502 or 504 and "
        "counts none. Read views_demo/views/db.py.",
        method="POST",
        answer=vote_result,
    ),
    Demo(
        slug="question_badly",
        topic="Database",
        title="Sync ORM in an async view",
        lesson="Calling the sync ORM from a coroutine fails with SynchronousOnlyOperation: bridge it.",
        views=(db.async_question_badly, db.async_question),
        params=(params.QUESTION,),
        sample={"question": 1},
        pitfall=True,
        observe="async_question_badly answers 501 naming SynchronousOnlyOperation; async_question answers "
        "the question. Read the comment in async_question_badly, views_demo/views/db.py.",
    ),
]

BY_SLUG: dict[str, Demo] = {demo.slug: demo for demo in DEMOS}
