"""
The lesson app copied into a stock Django project, as a reader would: `startproject mysite`,
copy `views_demo/` in, add it to INSTALLED_APPS and urls.py, migrate, seed, serve with plain
uvicorn beside the slow upstream running alone, and call every view the copied app routes.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests import servers
from tests.startproject import INSTALLED_APP, UPSTREAM_SETTING, URLS_IMPORT, URLS_ROUTE

pytestmark = pytest.mark.server

# Only what any program needs from the environment: none of this project's variables
# (DJANGO_SETTINGS_MODULE, DATABASE_URL, UPSTREAM_URL, SQLITE_PATH...) nor
# PYTHONPATH reach the stock project, so it runs on its own settings and its own SQLite file.
KEPT_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ")

# Small values of every parameter a GET view takes, so the whole tour takes seconds.
QUERY = {"delay": 10, "n": 3, "chunks": 2, "interval": 10, "events": 2}
TIMEOUT = 15  # seconds for any one call
COMMAND_TIMEOUT = 120  # seconds for startproject, migrate, seed_demo

# The one view allowed a 5xx: the labelled pitfall that calls the sync ORM from a coroutine.
SYNC_ORM_PITFALL = "async_question_badly"
# The views on the optional truly async driver (views_demo/driver.py): a stock project on SQLite
# has it off, so they answer 501 saying why and stay out of the twin and vote comparisons.
DRIVER_VIEWS = {"async_question_driver", "async_poll_driver", "async_vote_driver"}

# Result fields that legitimately differ from one call to the next; everything else in a
# result must be equal between twins. Votes are checked apart: each counts exactly one.
PER_CALL_FIELDS = {
    "enqueue": {"id", "enqueued_at", "started_at", "finished_at", "status_url"},
    "task_status": {"id", "enqueued_at", "started_at", "finished_at", "status_url"},
    "vote": {"votes"},
    "locked_vote": {"votes"},
    "checked_vote": {"votes"},
}

# Prints {url name: path} for every view the copied app routes; a path argument shows as
# __<name>__ for the test to fill in.
LIST_ROUTES = """
import json
from pathlib import Path
from django.urls import URLPattern, reverse
import views_demo
from views_demo.urls import app_name, urlpatterns
assert Path(views_demo.__file__).parent == Path.cwd() / "views_demo", "not the copied app"
routes = {}
for pattern in urlpatterns:
    assert isinstance(pattern, URLPattern), f"not a view: {pattern!r}"
    placeholders = {name: f"__{name}__" for name in pattern.pattern.converters}
    routes[pattern.name] = reverse(f"{app_name}:{pattern.name}", kwargs=placeholders)
print(json.dumps(routes))
"""


@dataclass
class Call:
    name: str
    method: str
    path: str
    response: httpx.Response | None  # None: no answer at all
    error: str = ""  # how the connection broke, before or during the body
    path_args: dict[str, str] = field(default_factory=dict)
    log: str = ""  # what the server wrote from this call until the next one

    @property
    def status(self) -> int | None:
        return self.response.status_code if self.response is not None else None

    @property
    def kind(self) -> str:
        return self.response.headers.get("content-type", "").split(";")[0] if self.response else ""

    @property
    def ok(self) -> bool:
        return not self.error and self.status == 200


@dataclass
class Tour:
    calls: dict[str, Call]
    choice: int | None  # the choice of question 1 every vote goes to (None: unreadable)
    votes_before: int | None  # its count before the first vote


def stock_env() -> dict[str, str]:
    return {name: os.environ[name] for name in KEPT_VARIABLES if name in os.environ}


def run(args: list[str], cwd: Path) -> str:
    """Run a command of the reader's to completion; return its output."""
    done = subprocess.run(
        args, cwd=cwd, env=stock_env(), capture_output=True, text=True, timeout=COMMAND_TIMEOUT
    )
    assert done.returncode == 0, f"{' '.join(args)} exited with {done.returncode}:\n{done.stderr}"
    return done.stdout


def insert_before_closing(text: str, opener: str, line: str) -> str:
    """Add `line` as the last item of the list that starts with `opener`."""
    start = text.index(opener)
    end = text.index("\n]", start)
    return f"{text[:end]}\n    {line}{text[end:]}"


def make_project(root: Path, upstream_port: int) -> Path:
    """Do what a reader does to a new project; return its directory."""
    run([sys.executable, "-m", "django", "startproject", "mysite"], cwd=root)
    project = root / "mysite"
    shutil.copytree(
        servers.ROOT / "views_demo", project / "views_demo", ignore=shutil.ignore_patterns("__pycache__")
    )
    settings = project / "mysite" / "settings.py"
    text = insert_before_closing(settings.read_text(), "INSTALLED_APPS = [", INSTALLED_APP)
    settings.write_text(f"{text}\n{UPSTREAM_SETTING.format(port=upstream_port)}\n")
    urls = project / "mysite" / "urls.py"
    text = urls.read_text()
    assert "from django.urls import path\n" in text, "startproject's urls.py changed shape"
    text = text.replace("from django.urls import path\n", f"from django.urls import path\n{URLS_IMPORT}\n")
    urls.write_text(insert_before_closing(text, "urlpatterns = [", URLS_ROUTE))
    return project


def group_of(name: str, paired: set[str]) -> str | None:
    """Return the pair a view belongs to: the longest stem with both a sync_ and an async_ view
    that its own stem is, or starts (async_question_native is a twin of sync_question)."""
    stem = name.partition("_")[2]
    matches = [s for s in paired if stem == s or stem.startswith(f"{s}_")]
    return max(matches, key=len, default=None)


def twin_groups(names: list[str]) -> dict[str, list[str]]:
    """Group the views into twins; the `_badly` pitfalls differ on purpose and stay out."""
    sync = {n.removeprefix("sync_") for n in names if n.startswith("sync_")}
    paired = {n.removeprefix("async_") for n in names if n.startswith("async_")} & sync
    groups: dict[str, list[str]] = {}
    for name in names:
        if not name.endswith("_badly") and name not in DRIVER_VIEWS and (group := group_of(name, paired)):
            groups.setdefault(group, []).append(name)
    return groups


def is_vote(name: str) -> bool:
    return "vote" in name.split("_")


def starts_work(name: str) -> bool:
    """The views that start background work take a POST, as the votes do: enqueue, the lost task."""
    return "enqueue" in name.split("_") or name == "async_task_badly"


def tour(project: Path, upstream_port: int) -> Tour:
    """Serve the project and call every view it routes; return the answers."""
    routes = json.loads(
        run([sys.executable, "manage.py", "shell", "-v", "0", "-c", LIST_ROUTES], cwd=project).splitlines()[
            -1
        ]
    )
    port = servers.free_port()
    url = f"http://127.0.0.1:{port}"
    server = [sys.executable, "-m", "uvicorn", "mysite.asgi:application", "--port", str(port)]
    calls: dict[str, Call] = {}
    starts: list[int] = []  # where each call's part of the server's log begins
    with (
        servers.running_in(project, server, env=stock_env(), probe=f"{url}/") as process,
        httpx.Client(base_url=url, timeout=TIMEOUT, trust_env=False) as client,
    ):

        def call(name: str, method: str = "GET", path_args: dict[str, str] | None = None, **kwargs) -> Call:
            path = routes[name]
            for arg, value in (path_args or {}).items():
                path = path.replace(f"__{arg}__", value)
            starts.append(len(process.log()))
            made = calls[name] = Call(name, method, path, None, path_args=path_args or {})
            try:
                with client.stream(method, path, **kwargs) as response:
                    made.response = response
                    response.read()  # a streaming body to its end
            except httpx.TransportError as exc:
                made.error = f"{type(exc).__name__}: {exc}"
            return made

        # Reads first, so both twins of a read see the same votes.
        simple = [n for n in routes if "__" not in routes[n] and not is_vote(n) and not starts_work(n)]
        for name in simple:
            call(name, params=QUERY)
        # The voting form set the CSRF cookie, which the client's jar sends back with each POST;
        # the header carries the same token.
        token = calls["sync_poll"].response.cookies.get("csrftoken", "") if calls["sync_poll"].ok else ""
        for name in filter(starts_work, routes):
            call(name, "POST", data=QUERY, headers={"X-CSRFToken": token})
        for name in routes:
            if "__result_id__" in routes[name]:
                enqueued = calls[name.replace("task_status", "enqueue")]
                result_id = enqueued.response.json()["result"]["id"] if enqueued.ok else "none"
                call(name, path_args={"result_id": result_id})
        read = calls["sync_question"]
        choice = read.response.json()["result"]["choices"][0] if read.ok else {"id": None, "votes": None}
        for name in filter(is_vote, routes):
            data = {"question": 1, "choice": choice["id"] or "", "delay": QUERY["delay"]}
            call(name, "POST", data=data, headers={"X-CSRFToken": token})
    missing = set(routes) - set(calls)
    assert not missing, f"the tour does not know how to call {sorted(missing)}"
    # Read once the server has stopped, when everything it wrote is in the file.
    log = process.log()
    for made, start, end in zip(calls.values(), starts, [*starts[1:], len(log)], strict=True):
        made.log = log[start:end]
    return Tour(calls, choice["id"], choice["votes"])


@pytest.fixture(scope="module")
def answers(tmp_path_factory) -> Tour:
    root = tmp_path_factory.mktemp("reader")
    upstream_dir = root / "upstream"
    upstream_dir.mkdir()
    shutil.copy(servers.ROOT / "slow_upstream.py", upstream_dir)
    upstream_port = servers.free_port()
    project = make_project(root, upstream_port)
    run([sys.executable, "manage.py", "migrate", "--no-input"], cwd=project)
    run([sys.executable, "manage.py", "seed_demo"], cwd=project)
    simulator = [sys.executable, "-m", "slow_upstream", "--port", str(upstream_port)]
    probe = f"http://127.0.0.1:{upstream_port}/delay?ms=0"
    with servers.running_in(upstream_dir, simulator, env=stock_env(), probe=probe):
        return tour(project, upstream_port)


# A line naming an exception, as a traceback ends: "AttributeError: ...", "django.x.Y: ...".
RAISED = re.compile(r"^(?!(?:INFO|WARNING|ERROR|DEBUG|CRITICAL):)[A-Za-z_][\w.]*: ", re.MULTILINE)


def cause(call: Call) -> str:
    """Say why a view failed: its JSON reason, or the last exception its traceback names."""
    if not call.error and call.kind == "application/json":
        return str(call.response.json().get("error"))
    raised = [
        match.group(0) + call.log[match.end() :].partition("\n")[0] for match in RAISED.finditer(call.log)
    ]
    # Else the first thing the server said that is not the access log ("Forbidden (CSRF ...").
    said = [line for line in call.log.splitlines() if line and not line.startswith("INFO:")]
    found = raised[-1] if raised else said[0] if said else "nothing in the log"
    return "; ".join(filter(None, [call.error, found]))


def test_no_view_answers_a_server_error(answers):
    """Every view answers without a 5xx; only the sync-ORM pitfall answers 501, by design."""
    failures = [
        f"{call.method} {call.path} -> {call.status}: {cause(call)}"
        for name, call in answers.calls.items()
        if (call.error or call.status is None or call.status >= 500)
        and name != SYNC_ORM_PITFALL
        and name not in DRIVER_VIEWS
    ]
    assert not failures, "\n".join(failures)


def test_driver_views_answer_501_saying_the_driver_is_off(answers):
    """Without django-async-backend the driver's views answer 501 with JSON saying what they need."""
    for name in DRIVER_VIEWS:
        call = answers.calls[name]
        assert (call.error, call.status, call.kind) == ("", 501, "application/json"), cause(call)
        assert call.response.json()["error"].startswith("the truly async driver is off")


def test_sync_orm_pitfall_answers_501_with_its_reason(answers):
    """async_question_badly answers 501 with JSON naming SynchronousOnlyOperation."""
    call = answers.calls[SYNC_ORM_PITFALL]
    assert (call.error, call.status, call.kind) == ("", 501, "application/json"), cause(call)
    assert "SynchronousOnlyOperation" in call.response.json()["error"]


def test_the_views_that_start_work_answer_a_post_with_its_token(answers):
    """Enqueue twins and the lost-task pitfall take a POST with the form's CSRF token, as the votes do."""
    started = {name: call for name, call in answers.calls.items() if starts_work(name)}
    assert sorted(started) == ["async_enqueue", "async_task_badly", "sync_enqueue"]
    for call in started.values():
        assert (call.method, call.status) == ("POST", 200), cause(call)


def test_login_only_views_redirect_to_the_login_url(answers):
    """The *_profile views send an anonymous reader to the stock LOGIN_URL."""
    profiles = [call for name, call in answers.calls.items() if name.endswith("_profile")]
    assert profiles
    for call in profiles:
        assert call.status == 302, f"{call.path} -> {call.status}: {cause(call)}"
        assert call.response.headers["Location"].split("?")[0] == "/accounts/login/"


def test_json_answers_name_their_view(answers):
    """A JSON answer carries the name of the view that made it."""
    for name, call in answers.calls.items():
        if call.ok and call.kind == "application/json":
            assert call.response.json()["view"] == name


def comparable(call: Call, group: str) -> object:
    """Return what must be equal between twins: status, then the answer minus per-call values."""
    if call.error or call.status is None or call.status >= 500:
        return call.status, bool(call.error)  # the first test names the cause
    if 300 <= call.status < 400:
        return call.status, call.response.headers["Location"].split("?")[0]
    text = call.response.text
    for value in call.path_args.values():
        text = text.replace(value, "<arg>")
    if call.kind == "application/json":
        body = json.loads(text)
        if "result" not in body:
            return call.status, body
        result = body["result"]
        if isinstance(result, dict):
            result = {k: v for k, v in result.items() if k not in PER_CALL_FIELDS.get(group, ())}
        return call.status, body["params"], result
    if call.kind == "text/html":
        # A page names its own view and the vote view of its own mode; its form carries a
        # token masked afresh on every render.
        text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', 'name="csrfmiddlewaretoken"', text)
        return call.status, call.kind, text.replace("async_", "sync_")
    return call.status, call.kind, text


def test_twins_answer_alike(answers):
    """Each sync_x, async_x and async_x_<variant> answer with the same status and the same result."""
    disagreements = []
    for group, names in twin_groups(list(answers.calls)).items():
        seen = {name: comparable(answers.calls[name], group) for name in names}
        first, *others = names
        disagreements += [
            f"{group}: {first} -> {seen[first]!r}\n    but {other} -> {seen[other]!r}"
            for other in others
            if seen[other] != seen[first]
        ]
    assert not disagreements, "\n".join(disagreements)


def test_each_vote_counts_exactly_one(answers):
    """Every vote view answers 200 with a count one more than the count before it."""
    assert answers.choice is not None, "sync_question did not answer, so no choice to vote for"
    expected = answers.votes_before
    for name, call in answers.calls.items():
        if not is_vote(name) or name in DRIVER_VIEWS:
            continue
        assert call.ok, f"{call.path} -> {call.status}: {cause(call)}"
        result = call.response.json()["result"]
        expected += 1
        assert (result["choice"], result["votes"]) == (answers.choice, expected), name
