"""The lab pages: made from the registry, showing the running code, never answering 500."""

import functools
import html
import re
from pathlib import Path

import django
import httpx
import pytest
from django.http import HttpResponse
from django.urls import reverse
from django.utils.html import strip_tags
from django.utils.text import slugify
from django.views import View

from asyncdemo.asgi import application
from lab import views as lab
from lab.registry import DEMOS, Demo
from lab.templatetags.lab import inline_code

ROOT = Path(__file__).resolve().parents[2]


def text_of(response) -> str:
    """The page as a reader sees it: tags stripped, entities decoded."""
    return html.unescape(strip_tags(response.content.decode()))


def pair_url(demo: Demo) -> str:
    return reverse("lab:pair", args=[demo.slug])


def test_index_groups_demos_by_topic_in_registry_order(client):
    """The index has a section per topic, in order of first appearance, linking every demo's page."""
    page = client.get(reverse("lab:index")).content.decode()
    positions = [page.index(f'id="{slugify(topic)}"') for topic, _ in lab.topics()]
    assert positions == sorted(positions)
    for demo in DEMOS:
        assert f'href="{pair_url(demo)}"' in page
        assert inline_code(demo.lesson) in page


def test_topics_follow_first_appearance_even_when_interleaved(monkeypatch):
    """A topic listed again later in the registry joins its first group instead of starting a new one."""
    first, second, third = (
        Demo(slug=slug, topic=topic, title=slug, lesson="", views=())
        for slug, topic in [("a", "Database"), ("b", "HTTP"), ("c", "Database")]
    )
    monkeypatch.setattr(lab, "DEMOS", [first, second, third])
    assert lab.topics() == [("Database", [first, third]), ("HTTP", [second])]


@pytest.mark.parametrize("demo", DEMOS, ids=lambda demo: demo.slug)
def test_pair_page_shows_each_views_source_and_what_to_observe(client, demo):
    """A demo's page shows every line of each view's source, its lesson, what to observe and the file."""
    response = client.get(pair_url(demo))
    assert response.status_code == 200
    text = text_of(response)
    for view in demo.views:
        source = lab.read_source(view)
        for line in source.text.splitlines():
            assert line.strip() in text
        assert source.path in text
    for words in [demo.lesson, demo.observe]:
        assert html.unescape(strip_tags(inline_code(words))) in text


def test_pitfall_pages_label_the_first_view_the_wrong_way(client, monkeypatch):
    """On a pitfall's page the first view is labelled the wrong way and the second the right way."""
    made_up = Demo(
        slug="made-up-pitfall",
        topic="Pitfalls",
        title="Made up",
        lesson="",
        views=DEMOS[0].views,
        pitfall=True,
    )
    monkeypatch.setattr(lab, "DEMOS", [*DEMOS, made_up])
    monkeypatch.setitem(lab.BY_SLUG, made_up.slug, made_up)
    for demo in [made_up, *(d for d in DEMOS if d.pitfall)]:
        response = client.get(pair_url(demo))
        assert [view["label"] for view in response.context["views"][:2]] == ["the wrong way", "the right way"]
        assert "The first view is the wrong way, on purpose." in text_of(response)


def test_pair_labels_follow_the_view_names():
    """A pair's views are labelled by mode: sync, async, sync threaded."""
    demo = next(demo for demo in DEMOS if demo.slug == "fanout")
    labels = [lab.view_label(demo, position, name) for position, name in enumerate(demo.view_names)]
    assert labels == ["sync", "async", "sync threaded"]


def test_fanout_marks_only_the_lines_that_differ(client):
    """The def line and the upstream call are marked; parsing and responding, shared, are not."""
    views = client.get(reverse("lab:pair", args=["fanout"])).context["views"]
    for view in views:
        lines = view["source"].lines
        changed = {strip_tags(line.html).strip().split("(")[0] for line in lines if line.changed}
        unchanged = {strip_tags(line.html).strip() for line in lines if not line.changed}
        assert any(text.startswith(("def ", "async def ")) for text in changed)
        assert any("upstream." in text for text in changed)
        assert "args = params.parse(request, params.N, params.DELAY)" in unchanged
        assert "return respond(request, result=answers, args=args)" in unchanged


def test_fanout_marks_the_words_that_differ(client):
    """Within the changed lines of async_fanout, only `async`, the name, `await` and `afanout` are marked."""
    views = client.get(reverse("lab:pair", args=["fanout"])).context["views"]
    async_view = next(view for view in views if view["name"] == "async_fanout")
    marked = [
        [strip_tags(word) for word in re.findall(r"<mark>(.*?)</mark>", line.html)]
        for line in async_view["source"].lines
        if line.changed
    ]
    assert marked == [["async", "async_fanout"], ["await", "afanout"]]


def test_changed_lines_reports_replaced_and_inserted_lines():
    """Lines replaced or inserted relative to the other text are reported, equal ones are not."""
    ours = "def f():\n    a = 1\n    extra()\n    return a\n"
    theirs = "async def f():\n    a = 1\n    return a\n"
    assert lab.changed_lines(ours, theirs) == {0, 2}


def test_class_based_view_shows_its_class():
    """For a class-based view the page shows the class, not the function as_view() made."""

    class Greeting(View):
        def get(self, request):
            return HttpResponse("hello")

    source = lab.read_source(Greeting.as_view())
    assert source.text.startswith("class Greeting(View):")
    assert "def get(self, request):" in source.text


def test_decorated_view_shows_the_decorated_function():
    """A view wrapped with functools.wraps shows its own code, decorator line included."""

    def logged(view):
        @functools.wraps(view)
        def wrapper(request):
            return view(request)

        return wrapper

    @logged
    def sync_greeting(request):
        return HttpResponse("hello")

    source = lab.read_source(sync_greeting)
    assert source.text.splitlines()[:2] == ["@logged", "def sync_greeting(request):"]


def test_backticks_in_registry_text_become_code():
    """`name` in a lesson is shown as code, and everything is escaped."""
    rendered = inline_code("a `<b>` and `async def`, 1 < 2")
    assert rendered == "a <code>&lt;b&gt;</code> and <code>async def</code>, 1 &lt; 2"


def test_view_without_source_says_so():
    """A view whose source cannot be found is shown as a comment saying so, not an error."""
    source = lab.read_source(len)
    assert source.text.startswith("# The source of <built-in function len> is not available")


def test_unknown_demo_is_404(client):
    """A slug the registry does not know answers 404."""
    assert client.get(reverse("lab:pair", args=["no-such-demo"])).status_code == 404


def test_bad_form_values_are_reported_on_the_page(client):
    """Out-of-range form values are explained on the page, which still renders with its sample values."""
    response = client.get(reverse("lab:pair", args=["fanout"]), {"delay": "-5", "concurrency": "99"})
    assert response.status_code == 200
    text = text_of(response)
    assert "delay=-5 is out of range" in text
    assert "concurrency must be a whole number from 1 to 20" in text
    assert response.context["concurrency"] == lab.DEFAULT_CONCURRENCY


def test_form_values_fill_the_links(client):
    """Values from the form go into each view's raw-endpoint link."""
    response = client.get(reverse("lab:pair", args=["fanout"]), {"n": "7", "delay": "30"})
    assert f"{reverse('views_demo:async_fanout')}?n=7&amp;delay=30" in response.content.decode()


def test_pair_page_sets_the_csrf_cookie(client):
    """The page sets the CSRF cookie the script sends back when a demo takes POST."""
    response = client.get(reverse("lab:pair", args=[DEMOS[0].slug]))
    assert "csrftoken" in response.cookies


def test_pages_render_with_debug_off(client, settings):
    """With DEBUG off every page still answers 200."""
    settings.DEBUG = False
    assert client.get(reverse("lab:index")).status_code == 200
    for demo in DEMOS:
        assert client.get(pair_url(demo)).status_code == 200


@pytest.mark.asyncio
@pytest.mark.parametrize("debug", [True, False])
async def test_asgi_application_serves_static_files(settings, debug):
    """The ASGI application serves the lab's CSS and JavaScript in both DEBUG modes; a missing file is 404."""
    settings.DEBUG = debug
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as browser:
        css = await browser.get("/static/lab/lab.css")
        script = await browser.get("/static/lab/lab.js")
        missing = await browser.get("/static/lab/missing.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert missing.status_code == 404


def test_fanout_page_shows_the_helpers_with_their_concurrency_primitives(client):
    """Below the views, the fan-out page shows fanout, afanout and fanout_threaded with the TaskGroup."""
    page = client.get(reverse("lab:pair", args=["fanout"]))
    helpers = {
        helper["name"]: html.unescape(strip_tags("".join(line.html for line in helper["source"].lines)))
        for group in page.context["helpers"]
        for helper in group
    }
    assert set(helpers) == {"fanout", "afanout", "fanout_threaded"}
    assert "asyncio.TaskGroup()" in helpers["afanout"]
    assert "asyncio.Semaphore" in helpers["afanout"]
    assert "ThreadPoolExecutor" in helpers["fanout_threaded"]
    assert "views_demo/upstream.py" in page.context["files"]
    assert b"The helpers they call" in page.content


def test_helpers_mark_what_differs_between_twins(client):
    """In delay and adelay, the def line, the docstring and the await are marked; nothing else is."""
    page = client.get(reverse("lab:pair", args=["upstream"]))
    group = page.context["helpers"][0]
    lines = group[1]["source"].lines
    changed = [html.unescape(strip_tags(line.html)).strip() for line in lines if line.changed]
    assert changed == [
        "async def adelay(*, ms: int) -> dict:",
        '"""See delay()."""',
        'return await clients.aget_json("delay", {"ms": ms})',
    ]


def test_a_decorated_view_names_its_own_file(client):
    """Vote's views are wrapped by require_POST, yet the page names views_demo's file, not Django's."""
    page = client.get(reverse("lab:pair", args=["vote"]))
    assert {view["source"].path for view in page.context["views"]} == {"views_demo/views/database.py"}


@pytest.mark.parametrize(
    ("upstream", "stats"),
    [("http://testserver/upstream", "/upstream/stats"), ("http://127.0.0.1:9/upstream", None)],
)
def test_leave_early_reads_only_a_same_origin_upstream(client, settings, upstream, stats):
    """The stream page offers Leave early; it polls the upstream's stats only on the page's own origin."""
    settings.UPSTREAM_URL = upstream
    response = client.get(reverse("lab:pair", args=["stream"]))
    config = response.context["config"]
    assert config["leaveEarly"] is True
    assert config.get("upstreamStatsUrl") == stats
    page = response.content.decode()
    assert 'id="leave-button"' in page
    assert ('id="left-early-no-upstream"' in page) is (stats is None)


def test_leave_early_is_offered_only_where_views_wait():
    """The pairs that wait on the upstream or stream offer Leave early; hello does not."""
    offered = {demo.slug for demo in DEMOS if demo.leave_early}
    assert {"upstream", "fanout", "stream", "events"} <= offered
    assert "hello" not in offered


@pytest.mark.parametrize("demo", [demo for demo in DEMOS if demo.since], ids=lambda demo: demo.slug)
def test_pair_page_says_which_django_each_api_needs(client, demo):
    """A pair page reads "Needs Django 5.0+: request.auser()" for each API, and the API is in its files."""
    response = client.get(pair_url(demo))
    text = text_of(response)
    shown = "".join((ROOT / path).read_text() for path in response.context["files"])
    for api, version in demo.since:
        assert f"Needs Django {version}+: {api.replace('`', '')}" in text
        assert re.fullmatch(r"\d\.\d", version) and tuple(map(int, version.split("."))) <= django.VERSION[:2]
        for name in re.findall(r"`([^`]+)`", api):
            assert name.removesuffix("()") in shown, name


@pytest.mark.parametrize("slug", ["upstream", "client-per-request"])
def test_one_client_per_loop_pages_show_the_client_accessor_and_the_lifespan(client, slug):
    """The pages whose lesson is one client per event loop show aget_client and with_lifespan's source."""
    page = client.get(reverse("lab:pair", args=[slug]))
    helpers = {helper["name"]: helper["source"] for group in page.context["helpers"] for helper in group}
    assert "_async_clients" in helpers["aget_client"].text
    assert "lifespan.startup" in helpers["with_lifespan"].text
    assert {"views_demo/clients.py", "views_demo/lifespan.py"} <= set(page.context["files"])
