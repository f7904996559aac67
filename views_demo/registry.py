"""
The one list of demos. URLs, the lab pages, the twin tests and the benchmark all read it.

Adding a pair means writing its two views and adding one Demo here; nothing else.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from views_demo import params
from views_demo.params import IntParam
from views_demo.views import http


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
    # Small values the twin tests and the lab start from.
    sample: dict[str, int] = field(default_factory=dict)
    pitfall: bool = False

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
    ),
    Demo(
        slug="upstream",
        topic="HTTP",
        title="One upstream call",
        lesson="One call takes the same time either way; async frees the worker while it waits.",
        views=(http.sync_upstream, http.async_upstream),
        params=(params.DELAY,),
        sample={"delay": 50},
    ),
    Demo(
        slug="fanout",
        topic="HTTP",
        title="Fan-out",
        lesson="K calls take K·D one after another, but about D at once on the event loop or a thread pool.",
        views=(http.sync_fanout, http.async_fanout, http.sync_fanout_threaded),
        params=(params.N, params.DELAY),
        sample={"n": 5, "delay": 50},
    ),
]

BY_SLUG: dict[str, Demo] = {demo.slug: demo for demo in DEMOS}
