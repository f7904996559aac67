"""tuned.middleware behaves exactly like Django's own middleware, with fewer thread hops.

Each scenario runs over ASGI (Django's AsyncClient, so the middleware runs in async mode,
where the two differ) once with Django's classes and once with ours, and must record the
same transcript: statuses, headers, cookies and bodies.
"""

import json
import os
import subprocess
import sys

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.test import AsyncClient
from django.utils.module_loading import import_string

from tuned import middleware as middleware_fast

TIMING = "lab.middleware.ServerTimingMiddleware"
DJANGO = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
STOCK = [TIMING, *DJANGO]
FAST = [TIMING, *(f"tuned.middleware.{path.rsplit('.', 1)[1]}" for path in DJANGO)]

# Sessions and users are written from the middleware's thread, outside the test's
# transaction, so these tests need real commits.
pytestmark = pytest.mark.django_db(transaction=True)


def record(response) -> dict:
    """What a response shows a browser, leaving out random tokens and times."""
    # Server-Timing carries durations, which differ from run to run.
    varying = {"set-cookie", "server-timing"}
    headers = {name: value for name, value in response.headers.items() if name.lower() not in varying}
    cookies = {
        name: {key: str(value) for key, value in morsel.items() if value and key != "expires"}
        | {"empty": morsel.value == ""}
        for name, morsel in response.cookies.items()
    }
    body = response.json() if response.headers.get("Content-Type") == "application/json" else None
    if body and "token" in body:
        body["token"] = len(body["token"])
    return {"status": response.status_code, "headers": headers, "cookies": cookies, "body": body}


async def security_headers(client):
    return [record(await client.get("/whoami/"))]


async def append_slash(client):
    return [record(await client.get("/whoami"))]


async def session_persists(client):
    return [record(await client.get("/visits/")) for _ in range(3)]


async def csrf(client):
    steps = [record(await client.post("/submit/", {"name": "no token"}))]
    response = await client.get("/csrf/")
    steps.append(record(response))
    token = client.cookies["csrftoken"].value
    steps.append(record(await client.post("/submit/", {"name": "ok"}, headers={"X-CSRFToken": token})))
    steps.append(record(await client.post("/submit/", {"name": "bad"}, headers={"X-CSRFToken": "x" * 32})))
    elsewhere = {"X-CSRFToken": token, "Origin": "http://evil.test"}
    steps.append(record(await client.post("/submit/", {"name": "elsewhere"}, headers=elsewhere)))
    return steps


async def message_once(client):
    return [
        record(await client.get("/messages/add/", {"what": "draft"})),
        record(await client.get("/messages/")),
        record(await client.get("/messages/")),
    ]


async def authentication(client):
    steps = [record(await client.get("/whoami/"))]
    user, _ = await User.objects.aget_or_create(username="ada")
    await client.aforce_login(user)
    steps += [record(await client.get("/whoami/")), record(await client.get("/whoami-sync/"))]
    await client.alogout()
    steps.append(record(await client.get("/whoami/")))
    return steps


SCENARIOS = [security_headers, append_slash, session_persists, csrf, message_once, authentication]


async def transcript(settings, middleware: list[str], scenario) -> list[dict]:
    settings.MIDDLEWARE = middleware
    settings.ROOT_URLCONF = "tests.tuned.middleware_urls"
    await User.objects.filter(username="ada").adelete()
    return await scenario(AsyncClient(enforce_csrf_checks=True))


@pytest.mark.asyncio
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.__name__)
@pytest.mark.usefixtures("close_connections")
async def test_fast_middleware_answers_like_djangos(settings, scenario):
    """Each scenario gives the same statuses, headers, cookies and bodies with both stacks."""
    stock = await transcript(settings, STOCK, scenario)
    fast = await transcript(settings, FAST, scenario)
    assert fast == stock


@pytest.mark.asyncio
@pytest.mark.parametrize("middleware", [STOCK, FAST], ids=["stock", "fast"])
@pytest.mark.usefixtures("close_connections")
async def test_each_middleware_does_its_job(settings, middleware):
    """Security headers, APPEND_SLASH, sessions, CSRF, messages and auth all work."""
    [page] = await transcript(settings, middleware, security_headers)
    assert page["headers"]["X-Frame-Options"] == "DENY"
    assert page["headers"]["X-Content-Type-Options"] == "nosniff"
    assert page["headers"]["Referrer-Policy"] == "same-origin"
    assert page["headers"]["Cross-Origin-Opener-Policy"] == "same-origin"

    [redirect] = await transcript(settings, middleware, append_slash)
    assert (redirect["status"], redirect["headers"]["Location"]) == (301, "/whoami/")

    visits = await transcript(settings, middleware, session_persists)
    assert [step["body"]["visits"] for step in visits] == [1, 2, 3]
    assert "sessionid" in visits[0]["cookies"]

    missing, _, accepted, wrong, cross_origin = await transcript(settings, middleware, csrf)
    statuses = [step["status"] for step in (missing, accepted, wrong, cross_origin)]
    assert statuses == [403, 200, 403, 403]
    assert accepted["body"] == {"posted": "ok"}

    added, shown, gone = await transcript(settings, middleware, message_once)
    assert "messages" in added["cookies"]
    assert (shown["body"], gone["body"]) == ({"messages": ["saved draft"]}, {"messages": []})

    anonymous, logged_in, logged_in_sync, logged_out = await transcript(settings, middleware, authentication)
    assert anonymous["body"] == logged_out["body"] == {"username": "", "authenticated": False}
    assert logged_in["body"] == logged_in_sync["body"] == {"username": "ada", "authenticated": True}


@pytest.fixture
def hops(monkeypatch):
    """Record which hooks middleware_fast sends to a thread."""
    sent = []

    def counting_sync_to_async(func, **kwargs):
        sent.append(func.__qualname__)
        return sync_to_async(func, **kwargs)

    monkeypatch.setattr(middleware_fast, "sync_to_async", counting_sync_to_async)
    return sent


@pytest.mark.asyncio
@pytest.mark.usefixtures("close_connections")
async def test_hooks_without_io_stay_on_the_event_loop(settings, hops):
    """A GET that touches no session or message runs every hook inline: no thread hop."""
    steps = await transcript(settings, FAST, security_headers)
    assert steps[0]["status"] == 200
    assert hops == []


@pytest.mark.asyncio
@pytest.mark.usefixtures("close_connections")
async def test_only_hooks_doing_io_hop_to_a_thread(settings, hops):
    """Saving a session, checking a POST's token and storing messages go to a thread."""
    await transcript(settings, FAST, session_persists)
    assert hops == ["SessionMiddleware.process_response"] * 3

    hops.clear()
    client = AsyncClient(enforce_csrf_checks=True)
    await client.get("/csrf/")
    await client.post("/submit/", {"name": "x"}, headers={"X-CSRFToken": client.cookies["csrftoken"].value})
    assert hops == ["CsrfViewMiddleware.process_view"]

    hops.clear()
    await client.get("/messages/add/", {"what": "x"})
    assert hops == ["MessageMiddleware.process_response"]


def test_fast_classes_are_djangos_classes():
    """Each fast class subclasses the Django middleware it stands for, so checks still find it."""
    for stock_path, fast_path in zip(STOCK, FAST, strict=True):
        assert issubclass(import_string(fast_path), import_string(stock_path))


def settings_of(module: str, code: str) -> subprocess.CompletedProcess:
    """Run `code` with DJANGO_SETTINGS_MODULE=`module`."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": module}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)


@pytest.mark.server
@pytest.mark.parametrize(
    ("module", "expected", "tuned_app", "asgi_application"),
    [
        ("asyncdemo.settings", STOCK, False, "asyncdemo.asgi.application"),
        ("tuned.settings", FAST, True, "tuned.asgi.application"),
    ],
)
def test_the_settings_module_chooses_the_stack(module, expected, tuned_app, asgi_application):
    """Django's own middleware and thread per request in asyncdemo.settings; tuned.settings the tuned layer.

    tuned.asgi.application is the entry that lends threads to each request.
    """
    code = (
        "from django.conf import settings; import json; print(json.dumps("
        "[settings.MIDDLEWARE, 'tuned' in settings.INSTALLED_APPS, settings.ASGI_APPLICATION]))"
    )
    result = settings_of(module, code)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [expected, tuned_app, asgi_application]
