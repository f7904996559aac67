"""
The one list of demos. URLs, the lab pages, the twin tests and the benchmark all read it.

Adding a pair means writing its two views and adding one Demo here; nothing else.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.http import HttpResponse

from views_demo import params
from views_demo.params import IntParam
from views_demo.views import http, pitfalls, tasks


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
]

BY_SLUG: dict[str, Demo] = {demo.slug: demo for demo in DEMOS}
