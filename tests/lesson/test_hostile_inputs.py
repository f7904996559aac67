"""No input gives a 5xx: hostile queries, form bodies and paths get an answer with a reason.

Every route is sent generated input: the demo views and the lab's pages through Django's test
client (a GET with a hostile query, a POST with hostile form fields), and the slow upstream
at /upstream/ and the static files at /static/ through the ASGI application (and the static
files through the WSGI one too). A 4xx must say why, as JSON {"error": ...} or an HTML page.

The ASGI requests are built by hand, not sent with httpx: httpx removes "." and ".." segments
from a URL's path, so it cannot send the traversals a raw client can.

Numbers that are valid are kept small (at most 12), and every request starts from small valid
values, so no example waits on a long delay; the slow upstream's /status endpoint answers any
valid 5xx code it is asked for by design, and no strategy here can ask it for one.
"""

import asyncio
import json
import re
import string
from dataclasses import dataclass
from urllib.parse import quote
from wsgiref.util import setup_testing_defaults

import httpx
import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client, override_settings
from django.utils.http import urlencode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lab.urls
import slow_upstream
import views_demo.urls
from asyncdemo.asgi import application as asgi_application
from asyncdemo.settings import TASKS as PROJECT_TASKS
from asyncdemo.wsgi import application as wsgi_application
from lab.registry import BY_SLUG, DEMOS
from lab.views import CONCURRENCY_FIELD as CONCURRENCY
from tests.readers import body_text

# Generated input

PARAM_NAMES = sorted({param.name for demo in DEMOS for param in demo.params})
FIELD_NAMES = [*PARAM_NAMES, CONCURRENCY]
UPSTREAM_NAMES = ["ms", "code", "chunks", "interval_ms", "kb"]
# Small valid values for every parameter, sent first so that no request waits on a default.
BASELINE = {"delay": 0, "n": 1, "fail": 0, "chunks": 1, "events": 1, "interval": 0, "question": 1}
BASELINE |= {"choice": 1, "page": 1, CONCURRENCY: 1}
UPSTREAM_BASELINE = [("ms", "0"), ("chunks", "1"), ("interval_ms", "0"), ("kb", "1")]
assert set(PARAM_NAMES) <= set(BASELINE), "give every demo parameter a small valid baseline value"

# Text with no ASCII digit, so it can never be a large valid number (a 100 s upstream wait),
# and no lone surrogate, which no client can encode.
NO_DIGITS = st.characters(codec="utf-8", exclude_characters=string.digits)

huge_digits = st.builds(
    lambda head, length: head + "9" * length,
    st.sampled_from(["", "1", "-", "-1", "+", " ", "0" * 5000]),
    st.integers(5000, 8000),
)
numbers = st.one_of(
    st.integers(-3, 12).map(str),  # small: valid for some parameters, out of range for others
    st.integers(-(10**12), -1).map(str),
    st.sampled_from(["120001", "2147483648", "4294967296", "9" * 19, "9" * 4300, "9" * 4301]),
    st.integers(1, 12).map(lambda n: "0" * 5000 + str(n)),  # valid, but 5001 digits long
)
odd_numbers = st.sampled_from(
    ["1.5", "1e3", "0x10", "+5", " 7 ", "7\t", "1_000", "٣", "12abc", "-0", "--5", "- 5", "000"]
)
unicode_digits = st.text(
    st.characters(categories=["Nd"], exclude_characters=string.digits), min_size=1, max_size=8
) | st.integers(5000, 6000).map(lambda n: "\u0661" * n)
nul_bytes = st.sampled_from(["\x00", "1\x00", "\x001", "\x00" * 100, "%00", "1%00"])
long_text = st.integers(1_000, 20_000).map(lambda n: "x" * n)
traversal = st.sampled_from(["../../etc/passwd", "..%2f..%2fsettings.py", "..\\..\\win.ini", "/etc/passwd"])
empty = st.sampled_from(["", " ", "\t", "\n"])
free_text = st.text(NO_DIGITS, max_size=30)

hostile_values = st.one_of(
    huge_digits, numbers, odd_numbers, unicode_digits, nul_bytes, long_text, traversal, empty, free_text
)
# One to three values a key: more than one repeats the key.
value_lists = st.lists(hostile_values, min_size=1, max_size=3)
# A query as a client may write it by hand: broken escapes, bare separators, invalid UTF-8.
raw_query = st.lists(
    st.sampled_from(["%", "%zz", "%ff%fe", "&", "=", ";", "+", "delay=", "n=%2D1", "question=%00", "%u0661"]),
    max_size=6,
).map("".join)
segments = st.one_of(
    st.sampled_from(["..", ".", "", "%2e%2e", "..\\..", "~", "\x00", "a/b", "lab", "lab.css"]),
    free_text,
    long_text,
    huge_digits,
)


def hostile_fields(names: list[str]) -> st.SearchStrategy[dict[str, list[str]]]:
    """Return small valid fields with one of `names` set to a hostile value, and up to four more keys."""
    baseline = {name: [str(value)] for name, value in BASELINE.items()}
    others = st.dictionaries(
        st.sampled_from(FIELD_NAMES) | st.text(NO_DIGITS, max_size=10), value_lists, max_size=4
    )
    return st.builds(
        lambda others, name, value: {**baseline, **others, name: [value]},
        others,
        st.sampled_from(names),
        hostile_values,
    )


# Checking an answer


def assert_answered(status: int, content_type: str, body: str, where: str) -> None:
    """Check that a request got no 5xx, and that a 4xx says why."""
    assert status < 500, f"{where} answered {status}: {body[:500]!r}"
    if 400 <= status < 500:
        if content_type.startswith("application/json"):
            assert json.loads(body)["error"], f"{where} answered {status} with an empty reason"
        else:
            assert content_type.startswith("text/html"), f"{where} answered {status} as {content_type}"
            assert body.strip(), f"{where} answered {status} with an empty page"


# A labelled pitfall whose wrong way fails on purpose, with its own 5xx and a JSON reason
# (views_demo/errors.py, SyncOrmInAsync): the one 5xx any route may answer.
DELIBERATE_5XX = {
    "/demo/async_question_badly/": (501, "SynchronousOnlyOperation: "),
    "/demo/async_atomic_badly/": (501, "SynchronousOnlyOperation: "),
    # The truly async driver is off here (SQLite, the WSGI test client): views_demo/driver.py.
    "/demo/async_question_driver/": (501, "the truly async driver "),
    "/demo/async_vote_driver/": (501, "the truly async driver "),
    "/demo/async_poll_driver/": (501, "the truly async driver "),
}


def check_django(response, where: str) -> None:
    """Check a test client response, reading a streamed body to its end."""
    body = body_text(response)
    path = response.request["PATH_INFO"]
    if path in DELIBERATE_5XX and response.status_code >= 500:
        status, reason = DELIBERATE_5XX[path]
        assert response.status_code == status, f"{where} answered {response.status_code}: {body[:500]!r}"
        assert json.loads(body)["error"].startswith(reason)
        return
    assert_answered(response.status_code, response.get("Content-Type", ""), body, where)


# The Django routes, from the URL confs themselves

ROUTES = [(ns.app_name, pattern) for ns in (views_demo.urls, lab.urls) for pattern in ns.urlpatterns]
LOGIN_VIEWS = {name for demo in DEMOS if demo.login for name in demo.view_names}
CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


def fill(route: str, segment: str) -> str:
    """Return the route's path with every converter replaced by `segment`, escaped."""
    return "/" + CONVERTER.sub(lambda _: quote(segment, safe=""), route)


# The parameters each route reads, to aim a hostile value at: a demo view's from the registry,
# and the lab's endpoints' by hand (a route left out still gets every name, less often each).
# A demo's lab page reads its demo's and the concurrency.
ROUTE_FIELDS = {
    f"views_demo:{name}": [p.name for p in demo.params] for demo in DEMOS for name in demo.view_names
}
ROUTE_FIELDS |= {"lab:event_loop": ["n", "delay"], "lab:forget_cached": ["delay"]}


def aimed_fields(route_name: str, segment: str) -> list[str]:
    """Return the parameters the route reads, or every name for a route that reads none."""
    if route_name == "lab:pair":
        demo = BY_SLUG.get(segment)
        return [CONCURRENCY, *(param.name for param in demo.params)] if demo else FIELD_NAMES
    return ROUTE_FIELDS.get(route_name) or FIELD_NAMES


def route_segments(route: str) -> st.SearchStrategy[str]:
    """Return what to put in a route's converters: real slugs as well as hostile text."""
    if "<slug:" in route:
        return st.sampled_from(sorted(BY_SLUG)) | segments
    return segments


def test_routes_cover_every_url():
    """Lists every demo view and every lab page for the hostile-input test."""
    names = {f"{namespace}:{pattern.name}" for namespace, pattern in ROUTES}
    assert len(names) == len(views_demo.urls.urlpatterns) + len(lab.urls.urlpatterns)
    assert {f"views_demo:{name}" for demo in DEMOS for name in demo.view_names} <= names
    assert {"lab:index", "lab:pair"} <= names


@pytest.mark.parametrize(
    ("namespace", "pattern"), ROUTES, ids=[f"{namespace}:{pattern.name}" for namespace, pattern in ROUTES]
)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), raw=raw_query, urlencoded=st.booleans())
def test_django_route_answers_hostile_input_without_5xx(
    seeded, live_upstream, namespace, pattern, data, raw, urlencoded
):
    """Returns no 5xx, and a reason with a 4xx, for a hostile GET query or POST form to any route."""
    route = str(pattern.pattern)
    segment = data.draw(route_segments(route), label="segment")
    path = fill(route, segment)
    names = aimed_fields(f"{namespace}:{pattern.name}", segment)
    query = data.draw(hostile_fields(names), label="query")
    form = data.draw(hostile_fields(names), label="form")
    client = Client()
    if pattern.name in LOGIN_VIEWS:
        client.force_login(User.objects.get_or_create(username="hostile")[0])
    # The database backend, the one the project runs: the inline one never finds an id.
    tasks = PROJECT_TASKS if "<" in route and namespace == "views_demo" else None
    with override_settings(**({"TASKS": tasks} if tasks else {})):
        check_django(client.get(path, query), f"GET {path}")
        check_django(client.get(f"{path}?{urlencode(BASELINE)}&{raw}"), f"GET {path}?...&{raw}")
        if urlencoded:
            body = urlencode(form, doseq=True)
            response = client.post(path, body, content_type="application/x-www-form-urlencoded")
        else:
            response = client.post(path, form)
        check_django(response, f"POST {path}")


# The ASGI and WSGI applications, called directly


@pytest.fixture
def keep_connections():
    """Stop each request closing stale database connections, as Django's test client does.

    Called directly, Django's handlers check the shared test connection at every request's
    start and end, which pytest-django refuses to a test that does not use the database.
    """
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


@dataclass
class Reply:
    """What an application answered to one request."""

    status: int
    content_type: str
    body: str
    dropped: bool = False  # the application raised after its response had started


async def asgi_get(app, path: str, query_string: bytes = b"") -> Reply:
    """Send a GET with this (decoded) path to an ASGI app, as uvicorn would, and collect the reply."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": quote(path, safe="/").encode(),
        "root_path": "",
        "query_string": query_string,
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    messages = []
    finished = asyncio.Event()
    requested = False

    async def receive():
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            finished.set()

    dropped = False
    try:
        await app(scope, receive, send)
    except Exception:
        if not messages:  # an exception before any answer is what a server turns into a 500
            raise
        dropped = True
    finally:
        finished.set()
    start = messages[0]
    headers = {name.lower(): value for name, value in start["headers"]}
    body = b"".join(message.get("body", b"") for message in messages[1:])
    return Reply(
        start["status"], headers.get(b"content-type", b"").decode(), body.decode(errors="replace"), dropped
    )


def wsgi_get(app, path: str) -> Reply:
    """Send a GET with this (decoded) path to a WSGI app and collect the reply."""
    environ = {}
    setup_testing_defaults(environ)
    environ["PATH_INFO"] = path.encode().decode("latin-1")
    started = {}

    def start_response(status, headers, exc_info=None):
        started["status"] = int(status.split()[0])
        started["headers"] = dict(headers)

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    content_type = started["headers"].get("Content-Type", "")
    return Reply(started["status"], content_type, body.decode(errors="replace"))


# The slow upstream at /upstream/

# Each endpoint with the parameters it reads, to aim a hostile value at ("code" is also the
# segment after /status/).
ENDPOINTS = {
    "delay": ["ms"],
    "status": ["code", "ms"],
    "drip": ["chunks", "interval_ms"],
    "big": ["kb"],
    "reset": ["ms"],
    "stats": UPSTREAM_NAMES,
    "invalid-json": UPSTREAM_NAMES,
    "nope": UPSTREAM_NAMES,
    "": UPSTREAM_NAMES,
}
other_pairs = st.lists(
    st.tuples(st.sampled_from(UPSTREAM_NAMES) | st.text(NO_DIGITS, max_size=10), hostile_values), max_size=3
)


@st.composite
def upstream_requests(draw) -> tuple[str, str]:
    """Return a path under /upstream/ and its query, aiming one hostile value at what it reads."""
    endpoint = draw(st.sampled_from(sorted(ENDPOINTS)))
    rest = draw(st.lists(hostile_values | segments, max_size=2))
    path = "/upstream/" + "/".join([endpoint, *rest])
    # The upstream takes the last of repeated values: the hostile ones come after the baseline.
    aimed = (draw(st.sampled_from(ENDPOINTS[endpoint])), draw(hostile_values))
    pairs = [*UPSTREAM_BASELINE, *draw(other_pairs), aimed]
    raw = draw(raw_query | st.binary(max_size=50).map(bytes.hex))
    return path, f"{urlencode(pairs)}&{raw}"


@settings(max_examples=80, deadline=None)
@given(request=upstream_requests())
def test_upstream_answers_hostile_input_without_5xx(request):
    """Returns no 5xx, and a JSON reason with a 4xx, for a hostile path or query to the slow upstream."""
    path, query = request
    reply = async_to_sync(asgi_get)(asgi_application, path, query.encode())
    assert_answered(reply.status, reply.content_type, reply.body, f"GET {path}?{query[:200]!r}")
    if 400 <= reply.status < 500:
        assert reply.content_type == "application/json"
    # /reset drops the connection after half a body on purpose; nothing else may.
    assert reply.dropped == (path.split("/")[2] == "reset" and reply.status == 200)


# Static files at /static/

static_paths = st.lists(segments | traversal, min_size=1, max_size=6).map(
    lambda parts: "/static/" + "/".join(parts)
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=static_paths)
def test_static_files_answer_hostile_paths_without_5xx(keep_connections, path):
    """Returns a file or a 4xx page, never a 5xx, for a hostile /static/ path under ASGI and WSGI."""
    for server, reply in [
        ("ASGI", async_to_sync(asgi_get)(asgi_application, path)),
        ("WSGI", wsgi_get(wsgi_application, path)),
    ]:
        assert_answered(reply.status, reply.content_type, reply.body, f"{server} GET {path!r}")
        assert not reply.dropped


# The known 500s, one plain test each


@pytest.mark.parametrize(("name", "field"), [("sync_upstream", "delay"), ("async_vote", "question")])
def test_huge_integer_parameter_gets_400_naming_it(client, seeded, name, field):
    """Returns 400 naming the parameter for a 5000-digit value, GET query or POST form."""
    view = f"/demo/{name}/"
    data = {**BASELINE, field: "9" * 5000}
    response = client.post(view, data) if name.endswith("vote") else client.get(view, data)
    assert response.status_code == 400
    assert response.json()["error"].startswith(f"{field} has too many digits; {field} must be a whole number")


def test_huge_concurrency_is_reported_on_the_lab_page(client):
    """Returns the lab's page with an error for a 5000-digit concurrency, and keeps the default."""
    response = client.get("/pairs/upstream/", {"concurrency": "9" * 5000})
    assert response.status_code == 200
    assert "concurrency must be a whole number from 1 to 20" in response.text


@pytest.mark.parametrize(
    "path", ["/upstream/delay?ms=" + "9" * 5000, "/upstream/status/" + "9" * 5000, "/upstream/drip?chunks=-1"]
)
def test_upstream_bad_number_gets_400_with_a_reason(path):
    """Returns 400 with a JSON reason for a 5000-digit or negative number in the upstream's query or path."""
    path, _, query = path.partition("?")
    reply = async_to_sync(asgi_get)(asgi_application, path, query.encode())
    assert reply.status == 400
    assert "must be a whole number" in json.loads(reply.body)["error"]
    assert slow_upstream.plan(path.removeprefix("/upstream"), query).status == 400


STATIC_TRAVERSALS = ["/static/../../asyncdemo/settings.py", "/static/../x", "/static/lab/../../../etc/passwd"]


@pytest.mark.asyncio
async def test_static_escaped_traversal_gets_404(keep_connections):
    """Returns 404 for /static/..%2f..%2fsettings.py sent by an HTTP client to the ASGI application."""
    transport = httpx.ASGITransport(app=asgi_application)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as browser:
        response = await browser.get("/static/..%2f..%2fasyncdemo%2fsettings.py")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("path", STATIC_TRAVERSALS)
def test_static_traversal_gets_404(keep_connections, path):
    """Returns 404 for a /static/ path that climbs out of the static folder, under ASGI and WSGI."""
    asgi = async_to_sync(asgi_get)(asgi_application, path)
    wsgi = wsgi_get(wsgi_application, path)
    assert (asgi.status, wsgi.status) == (404, 404)
    assert asgi.content_type.startswith("text/html")
    assert wsgi.content_type.startswith("text/html")
