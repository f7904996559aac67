"""Class-based views: a class has one mode, Django's own handlers follow it, names come from the class."""

import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.urls import reverse
from django.views import View

from lab.registry import view_name
from views_demo.views import classes

VIEWS = ["sync_upstream_view", "async_upstream_view"]


def test_mode_comes_from_the_handlers():
    """A class with async handlers is async; as_view() then returns a coroutine function."""
    assert not classes.SyncUpstreamView.view_is_async
    assert classes.AsyncUpstreamView.view_is_async
    assert classes.AsyncFanoutPage.view_is_async


def test_mixing_modes_in_one_class_is_refused():
    """A class with a sync get() and an async post() cannot become a view."""

    class MixedView(View):
        def get(self, request):
            return HttpResponse()

        async def post(self, request):
            return HttpResponse()

    with pytest.raises(ImproperlyConfigured, match="must either be all sync or all async"):
        MixedView.as_view()


def test_view_names_come_from_the_class():
    """as_view() returns a function called `view`; the registry names it after its class."""
    assert classes.SyncUpstreamView.as_view().__name__ == "view"
    assert view_name(classes.SyncUpstreamView.as_view()) == "sync_upstream_view"
    assert view_name(classes.AsyncFanoutPage.as_view()) == "async_fanout_page"


@pytest.mark.parametrize("name", VIEWS)
def test_options_and_405_follow_the_class(client, name):
    """Django's own options() and its 405 for a missing handler work for both modes."""
    url = reverse(f"views_demo:{name}")
    options = client.options(url)
    assert options.status_code == 200
    assert options["Allow"] == "GET, HEAD, OPTIONS"
    assert client.post(url).status_code == 405


@pytest.mark.asyncio
async def test_async_class_under_asgi(async_client):
    """Under the ASGI handler the async class answers GET, OPTIONS and a 405 on the event loop."""
    url = reverse("views_demo:async_upstream_view")
    assert (await async_client.get(url, {"delay": 0})).json()["result"] == {"delay_ms": 0}
    assert (await async_client.options(url)).status_code == 200
    assert (await async_client.post(url)).status_code == 405


def test_generic_page_lists_the_answers(client):
    """The TemplateView pair renders one list item per upstream call."""
    page = client.get(reverse("views_demo:async_fanout_page"), {"n": 4, "delay": 0})
    assert page.status_code == 200
    assert page.content.decode().count("<li>0 ms</li>") == 4


@pytest.mark.parametrize(
    ("name", "at_least", "below"), [("sync_fanout_page", 1000, None), ("async_fanout_page", 200, 1000)]
)
def test_generic_page_time(client, name, at_least, below):
    """Five 200 ms calls: the sync page waits for each in turn, the async one for fewer than five."""
    started = time.perf_counter()
    assert client.get(reverse(f"views_demo:{name}"), {"n": 5, "delay": 200}).status_code == 200
    elapsed = (time.perf_counter() - started) * 1000
    assert elapsed >= at_least
    assert below is None or elapsed < below
