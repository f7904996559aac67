"""
The one list of demos. URLs, the lab pages, the twin tests and the benchmark all read it.

Adding a pair means writing its two views and adding one Demo here; nothing else.
"""

import re
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass, field

from asgiref.sync import async_to_sync
from django.http import HttpResponse

from views_demo import params
from views_demo.params import IntParam
from views_demo.views import auth, cache, classes, db, http, pitfalls, streaming, tasks


def view_name(view: Callable) -> str:
    """Name a view for its URL: a function's name, or a view class's name in snake_case.

    as_view() returns a function called `view` that keeps its class in `view_class`, so
    SyncUpstreamView.as_view() is named sync_upstream_view.
    """
    view_class = getattr(view, "view_class", None)
    if view_class is None:
        return view.__name__
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", view_class.__name__).lower()


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
    # The views need a logged-in user; anonymous requests are sent to the login page.
    login: bool = False
    # What the views answer: "json" (responses.respond) or "html" (a page to open).
    renders: str = "json"

    @property
    def view_names(self) -> list[str]:
        return [view_name(view) for view in self.views]


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
    # Streaming: responses sent while they are produced
    Demo(
        slug="stream",
        topic="Streaming",
        title="Relaying a slow stream",
        lesson="Under ASGI only the async twin streams; a client leaving cancels it and `finally` cleans up.",
        views=(streaming.sync_stream, streaming.async_stream),
        params=(params.CHUNKS, params.INTERVAL),
        sample={"chunks": 3, "interval": 20},
        answer=streamed,
        observe="Run `curl -N` on each under uvicorn: async_stream prints a chunk every interval, "
        "sync_stream prints nothing until the end (Django reads a sync iterator whole, in a thread, and "
        "warns). Press Ctrl-C mid-stream: the async view is cancelled and closes the upstream response at "
        "once (the server logs it; /upstream/stats shows no open drip), while the sync twin's thread reads "
        "on to the end. Under WSGI it is the other way round. Read views_demo/views/streaming.py and "
        "upstream.drip/adrip.",
    ),
    Demo(
        slug="events",
        topic="Streaming",
        title="Server-sent events",
        lesson="An open event stream costs the async twin a suspended coroutine and the sync twin a thread.",
        views=(streaming.sync_events, streaming.async_events),
        params=(params.EVENTS, params.INTERVAL),
        sample={"events": 3, "interval": 20},
        answer=streamed,
        observe="Open async_events in a browser or with `curl -N`: one `tick` event arrives every interval. "
        "Under ASGI sync_events sends them all at once at the end; under WSGI it streams but holds a "
        "worker thread per listener. Read views_demo/views/streaming.py.",
    ),
    # Class-based views
    Demo(
        slug="class-view",
        topic="Class-based views",
        title="A View class",
        lesson="A class is async when all its handlers are `async def`; mixing the two modes is an error.",
        views=(classes.SyncUpstreamView.as_view(), classes.AsyncUpstreamView.as_view()),
        params=(params.DELAY,),
        sample={"delay": 50},
        observe="Both answer like the upstream pair. Send OPTIONS or POST: Django's own options() and 405 "
        "follow the class's mode. The query is read in setup(), shared by a mixin. Read "
        "views_demo/views/classes.py.",
    ),
    Demo(
        slug="generic-view",
        topic="Class-based views",
        title="A generic TemplateView",
        lesson="A generic view turns async by overriding its handler with `async def`; the rest stays sync.",
        views=(classes.SyncFanoutPage.as_view(), classes.AsyncFanoutPage.as_view()),
        params=(params.N, params.DELAY),
        sample={"n": 3, "delay": 50},
        answer=page_main,
        observe="Both render the same page; the footer shows the time: about n·delay for the sync class, "
        "one delay for the async one. Read views_demo/views/classes.py.",
    ),
    # Auth
    Demo(
        slug="whoami",
        topic="Auth",
        title="Who is asking",
        lesson="An async view reads the user with `await request.auser()`, never the lazy request.user.",
        views=(auth.sync_whoami, auth.async_whoami),
        observe="Anonymous, both say so; log in at /accounts/login/ and both name you. Read "
        "views_demo/views/auth.py.",
    ),
    Demo(
        slug="profile",
        topic="Auth",
        title="Login required",
        lesson="login_required works on async views too: it awaits request.auser() before the view runs.",
        views=(auth.sync_profile, auth.async_profile),
        login=True,
        observe="Anonymous, both redirect to /accounts/login/?next=...; logged in, both answer with your "
        "username. Create a user with `python manage.py createsuperuser`. Read views_demo/views/auth.py.",
    ),
    # Cache
    Demo(
        slug="cache",
        topic="Cache",
        title="Memoising a slow answer",
        lesson="cache.aget/aset memoise like get/set; the twins share the cache and its keys.",
        views=(cache.sync_cached, cache.async_cached),
        params=(params.DELAY,),
        sample={"delay": 50},
        observe="Call one twin twice: the first takes about `delay` ms (X-Cache: miss), the second answers "
        "at once (X-Cache: hit, Server-Timing: 0 calls); then the other twin hits too. Read "
        "views_demo/views/cache.py and CACHES in asyncdemo/settings.py.",
    ),
    # Background work: the Tasks framework
    Demo(
        slug="tasks",
        topic="Background work",
        title="Enqueue a task",
        lesson="Hand slow work to a task queue: the view answers at once, a worker process runs the work "
        "and keeps its result or its error.",
        views=(tasks.sync_enqueue, tasks.async_enqueue),
        params=(params.TASK_DELAY, params.FAIL),
        sample={"delay": 20},
        answer=task_answer,
        observe="The view answers in milliseconds with status READY and a status_url. Open it: READY until "
        "the worker (python manage.py db_worker; make run starts one) claims the task, then SUCCESSFUL with "
        "the upstream's answer, or FAILED with the error when fail=1. Read views_demo/tasks.py and "
        "views_demo/views/tasks.py.",
    ),
    # Pitfalls: the wrong way first, then the right one
    Demo(
        slug="blocking",
        topic="Pitfalls",
        title="Blocking the event loop",
        lesson="One blocking call in an async view freezes every request the server is handling.",
        views=(pitfalls.async_sleep_badly, pitfalls.async_sleep),
        params=(params.BLOCK,),
        sample={"delay": 50},
        pitfall=True,
        observe="Open /demo/async_sleep_badly/?delay=2000 and, in another tab, /lab/loop-lag/: the second "
        "waits for the first, then reports about 2000 ms of lag. With async_sleep it answers at once. "
        "Read views_demo/views/pitfalls.py.",
    ),
    Demo(
        slug="client-per-request",
        topic="Pitfalls",
        title="A new AsyncClient per request",
        lesson="Building an httpx client costs milliseconds of CPU and a new connection; share one per loop.",
        views=(pitfalls.async_client_per_request_badly, http.async_upstream),
        params=(params.DELAY,),
        sample={"delay": 0},
        pitfall=True,
        observe="Both answer the same, but the bad one spends about 20 ms more CPU per request building an "
        "SSL context, a pool and a connection, which caps throughput under load. Compare "
        "upstream.adelay_with_new_client_badly with adelay and aget_client in views_demo/upstream.py.",
    ),
    Demo(
        slug="lost-task",
        topic="Pitfalls",
        title="Fire-and-forget create_task",
        lesson="A task nobody keeps loses its errors (and, under WSGI, its work); enqueue the work instead.",
        views=(pitfalls.async_task_badly, tasks.async_enqueue),
        params=(params.TASK_DELAY, params.FAIL),
        sample={"delay": 20, "fail": 1},
        pitfall=True,
        observe="With fail=1 both answer 200 at once. The bad one's error shows only as \"Task exception was "
        "never retrieved\" in the server's console; the right one's status_url says FAILED and why. "
        "Read async_task_badly in views_demo/views/pitfalls.py and views_demo/tasks.py.",
    ),
    Demo(
        slug="question_badly",
        topic="Pitfalls",
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
