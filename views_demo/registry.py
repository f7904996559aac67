"""
The one list of demos. URLs, the lab pages, the twin tests and the benchmark all read it.

Adding a pair means writing its two views and adding one Demo here; nothing else.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.http import HttpResponse

from views_demo import params
from views_demo.params import IntParam
from views_demo.views import http


def json_result(response: HttpResponse) -> object:
    """What a JSON demo view answered, leaving out what may differ between twins."""
    body = response.json()
    return {"params": body["params"], "result": body["result"]}


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
]

BY_SLUG: dict[str, Demo] = {demo.slug: demo for demo in DEMOS}
