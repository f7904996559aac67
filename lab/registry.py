"""
The one list of demos: the lab's pages, the twin tests and the benchmark all read it.

Adding a pair means writing its two views, routing them in views_demo/urls.py and adding
one Demo here.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from views_demo import clients, driver, lifespan, params, queries, tasks, upstream
from views_demo.params import IntParam
from views_demo.views import auth, background, cache, classes, database, http, pitfalls, streaming


def view_name(view: Callable) -> str:
    """Name a view for its URL: a function's name, or a view class's name in snake_case.

    as_view() returns a function called `view` that keeps its class in `view_class`, so
    SyncUpstreamView.as_view() is named sync_upstream_view.
    """
    view_class = getattr(view, "view_class", None)
    if view_class is None:
        return view.__name__
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", view_class.__name__).lower()


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
    # The helpers the views call, each group shown side by side below them like the views, so
    # the whole path is on the page: the TaskGroup against the thread pool, say.
    helpers: tuple[tuple[Callable, ...], ...] = ()
    # The views need a logged-in user; anonymous requests are sent to the login page.
    login: bool = False
    # What the views answer: "json" (responses.respond) or "html" (a page to open).
    renders: str = "json"
    # The lab endpoint (a URL name) that puts the views' shared state back where it started,
    # POSTed with the form before each measured batch, so no twin runs on the other's state.
    reset: str = ""
    # A view leaves errors nobody retrieves: after a run the page shows what the loop reported.
    unhandled: bool = False
    # The views wait on the upstream or stream: the page offers "Leave early", which aborts a
    # batch mid-way and shows what the server still does for each view after the client left.
    leave_early: bool = False
    # What the lab's verdict compares (static/lab/verdict.js): "wall" time per batch,
    # "first_byte" for a stream, "loop_lag" for a view that blocks the loop, or "none" where
    # the lesson is not speed.
    measure: str = "wall"
    # The Django release that added each API the async views rely on, ("`request.auser()`", "5.0"),
    # shown on the page as "Needs Django 5.0+: request.auser()" for readers on an older release
    # (4.2 and 5.2 are LTS). From Django's release notes; tests/lab/test_lab.py checks each
    # backticked name is in the files the page shows.
    since: tuple[tuple[str, str], ...] = ()
    # The last view runs on the truly async driver (views_demo/driver.py), which is optional:
    # where it is off it answers 501 saying why, and the other views still make the pair.
    driver: bool = False

    @property
    def view_names(self) -> list[str]:
        return [view_name(view) for view in self.views]


DEMOS: list[Demo] = [
    # HTTP: calling a slow upstream
    Demo(
        slug="hello",
        since=(("`async def` views", "3.1"),),
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
        # The helper, then the clients it calls through, then what opens and closes the async one.
        helpers=(
            (upstream.delay, upstream.adelay),
            (clients.get_client, clients.aget_client),
            (lifespan.with_lifespan,),
        ),
        params=(params.DELAY,),
        sample={"delay": 50},
        observe="Both take about `delay` ms. The difference is what the server does meanwhile: the sync "
        "view holds a thread, the async one gives the event loop to other requests. Leave early with a "
        "long delay: the async view's upstream call closes as the client leaves, the sync view's thread "
        "waits it out. Read adelay in views_demo/upstream.py, then the clients it calls through: "
        "aget_client and get_client in views_demo/clients.py.",
        leave_early=True,
    ),
    Demo(
        slug="fanout",
        topic="HTTP",
        title="Fan-out",
        lesson="K calls take K·D one after another, but about D at once on the event loop or a thread pool.",
        views=(http.sync_fanout, http.async_fanout, http.sync_fanout_threaded),
        helpers=((upstream.fanout, upstream.afanout, upstream.fanout_threaded),),
        params=(params.N, params.DELAY),
        sample={"n": 5, "delay": 50},
        observe="sync_fanout takes n·delay; async_fanout and sync_fanout_threaded take about one delay. "
        "Compare upstream.fanout, fanout_threaded and afanout in views_demo/upstream.py.",
        leave_early=True,
    ),
    # Database: the ORM from sync views, through sync_to_async, and with the async ORM
    Demo(
        slug="question",
        since=(("`aget_object_or_404()`", "5.0"), ("`async for` over a queryset", "4.1")),
        topic="Database",
        title="Read one question",
        lesson="An async view reaches the ORM through one sync_to_async around the whole unit, "
        "or through the async ORM.",
        views=(database.sync_question, database.async_question, database.async_question_native),
        helpers=((queries.question_detail, queries.aquestion_detail),),
        params=(params.QUESTION,),
        sample={"question": 1},
        observe="All three give the same JSON. Compare question_detail and aquestion_detail in "
        "views_demo/queries.py, and how views_demo/views/database.py calls them.",
    ),
    Demo(
        slug="questions",
        since=(("`acount()`", "4.1"), ("`async for` over a queryset", "4.1")),
        topic="Database",
        title="List the questions",
        lesson="A queryset is built the same way in both modes; only evaluating it (count or acount, "
        "for or async for) differs.",
        views=(database.sync_questions, database.async_questions, database.async_questions_native),
        helpers=((queries.question_list, queries.aquestion_list),),
        observe="The same count and list from all three. Read question_list and aquestion_list in "
        "views_demo/queries.py.",
    ),
    Demo(
        slug="questions_page",
        since=(("`AsyncPaginator`", "6.0"),),
        topic="Database",
        title="Paginate the questions",
        lesson="Paginator has an async twin, AsyncPaginator: its count, pages and page objects are awaited.",
        views=(database.sync_questions_page, database.async_questions_page),
        helpers=((queries.question_page, queries.aquestion_page),),
        params=(params.PAGE,),
        sample={"page": 2},
        observe="Both give the same page; a page past the last is 404. Read question_page and "
        "aquestion_page in views_demo/queries.py.",
    ),
    Demo(
        slug="poll",
        topic="Database",
        title="Voting form",
        lesson="A page rendered after an ORM read: template and CSRF cookie work the same in an async view.",
        views=(database.sync_poll, database.async_poll),
        helpers=((queries.question_detail, queries.aquestion_detail),),
        params=(params.QUESTION,),
        sample={"question": 1},
        observe="Open either, vote, and get the new count as JSON from sync_vote or async_vote. Read "
        "views_demo/templates/views_demo/poll.html and views_demo/views/database.py.",
        renders="html",
    ),
    Demo(
        slug="vote",
        since=(("`aupdate()`", "4.1"),),
        topic="Database",
        title="Vote",
        lesson="Count with F() in the database, never in Python, and concurrent votes are never lost.",
        views=(database.sync_vote, database.async_vote, database.async_vote_native),
        helpers=((queries.vote, queries.avote),),
        params=(params.QUESTION, params.CHOICE),
        sample={"question": 1, "choice": 1},
        observe="POST question and choice with the CSRF token (the voting form does); each answers the new "
        "count. tests/serving/test_votes.py sends 1,000 at once over HTTP and loses none. async_vote_native "
        "makes two a-calls, aupdate then aget, and each is its own transaction (there is no async atomic()): "
        "once the UPDATE has committed the vote counts, so if reading the count back fails it still answers "
        "200, with votes null, and a client is never told a counted vote failed. "
        "tests/serving/test_database_faults.py ends the database's sessions mid-vote to check it. Read vote "
        "and avote in views_demo/queries.py.",
        method="POST",
    ),
    Demo(
        slug="locked_vote",
        topic="Database",
        title="A contended write: lock the row",
        lesson="When you must read, decide in Python and write back, lock the row with select_for_update() "
        "inside atomic(). Concurrent writers queue on the lock, so async cannot help under contention: the "
        "wait is inside the database, and each request holds a thread and a connection while it waits. "
        "There is no async atomic(), so the async twin hands the whole unit to sync_to_async.",
        views=(database.sync_locked_vote, database.async_locked_vote),
        helpers=((queries.locked_vote,),),
        params=(params.QUESTION, params.CHOICE),
        sample={"question": 1, "choice": 3},
        observe="Each answers the new count; tests/serving/test_votes.py sends 1,000 at once and loses none. "
        "Run both: the async twin is no faster, as every vote waits its turn for the row's lock inside the "
        "database. Read locked_vote beside vote in views_demo/queries.py: vote needs no lock held across "
        "Python, because the database adds 1 itself.",
        method="POST",
    ),
    Demo(
        slug="checked_vote",
        topic="Database",
        title="Call the upstream, then vote",
        lesson="The usual shape of an async view: await the slow call on the event loop, then write in "
        "one short unit of work.",
        views=(database.sync_checked_vote, database.async_checked_vote),
        helpers=((upstream.delay, upstream.adelay), (queries.vote, queries.avote)),
        params=(params.QUESTION, params.CHOICE, params.DELAY),
        sample={"question": 1, "choice": 2, "delay": 50},
        observe="Both take about `delay` ms and count one vote; an upstream fault answers 502 or 504 and "
        "counts none. Read views_demo/views/database.py.",
        method="POST",
    ),
    Demo(
        slug="async_orm",
        topic="Database",
        title="Is the async ORM fake?",
        lesson="Django's async ORM is the sync one in a thread: each a-call is sync_to_async. A truly "
        "async driver (django-async-backend, PostgreSQL only) runs the same queries on the event loop.",
        views=(database.sync_question, database.async_question_native, database.async_question_driver),
        helpers=((queries.question_detail, queries.aquestion_detail, driver.aquestion_detail),),
        params=(params.QUESTION,),
        sample={"question": 1},
        driver=True,
        observe="All three give the same JSON; what differs is where the queries run. question_detail "
        "holds the request's thread, aquestion_detail hops to a thread for each a-call (aget_object_or_404, "
        "then the async for), and the driver's aquestion_detail runs in the request's own task with no "
        "thread. The driver is on only with DATABASE_URL=postgres://..., ASYNC_ORM_DRIVER=1 and an ASGI "
        "server; elsewhere async_question_driver answers 501 saying why. Its pitfalls, each with its test in "
        "tests/lesson/test_driver.py: under WSGI it would hang or leak a connection (it refuses); its "
        "request receivers slow every sync request (ASYNC_BACKEND_DISABLE_REQUEST_SIGNALS); "
        "OPTIONS['pool'] sizes two pools; gather needs async_new_connection; a test's own transaction is "
        "invisible to it; and a related manager (question.choice_set) falls back to the thread. Read "
        "views_demo/driver.py.",
    ),
    Demo(
        slug="async_atomic",
        topic="Database",
        title="Transactions from async code",
        lesson="Django has no async atomic(): hand the whole atomic unit to sync_to_async once, or use the "
        "driver's async_atomic() (with an async on_commit).",
        views=(database.sync_vote, database.async_vote, database.async_vote_driver),
        helpers=((queries.vote, driver.avote),),
        params=(params.QUESTION, params.CHOICE),
        sample={"question": 1, "choice": 4},
        method="POST",
        driver=True,
        observe="Each answers the new count, made in one transaction: the UPDATE with F(), then the count "
        "read back under the row's lock. async_vote runs queries.vote, atomic() and all, in one thread; "
        "async_vote_driver runs the same unit under async_atomic() on the event loop, and its on_commit "
        "callback runs only once the vote has committed. tests/lesson/test_driver.py sends 1,000 "
        "votes at once through each on PostgreSQL and counts every one. Read vote in views_demo/queries.py "
        "and avote in views_demo/driver.py.",
    ),
    # Streaming: responses sent while they are produced
    Demo(
        slug="stream",
        since=(("`StreamingHttpResponse` over an async iterator", "4.2"),),
        topic="Streaming",
        title="Relaying a slow stream",
        lesson="Under ASGI only the async twin streams; a client leaving cancels it and `finally` cleans up.",
        views=(streaming.sync_stream, streaming.async_stream),
        helpers=((upstream.drip, upstream.adrip),),
        params=(params.CHUNKS, params.INTERVAL),
        sample={"chunks": 3, "interval": 20},
        observe="Run `curl -N` on each under uvicorn: async_stream prints a chunk every interval, "
        "sync_stream prints nothing until the end (Django reads a sync iterator whole, in a thread, and "
        "warns). Press Ctrl-C mid-stream, or Leave early below: the async view is cancelled and closes "
        "the upstream response at once (the server logs it; /upstream/stats shows no open drip), while "
        "the sync twin's thread reads on to the end. Under WSGI it is the other way round. Read "
        "views_demo/views/streaming.py and upstream.drip/adrip.",
        leave_early=True,
        measure="first_byte",
    ),
    Demo(
        slug="events",
        since=(("`StreamingHttpResponse` over an async iterator", "4.2"),),
        topic="Streaming",
        title="Server-sent events",
        lesson="An open event stream costs the async twin a suspended coroutine and the sync twin a thread.",
        views=(streaming.sync_events, streaming.async_events),
        helpers=((streaming.ticks, streaming.aticks),),
        params=(params.EVENTS, params.INTERVAL),
        sample={"events": 3, "interval": 20},
        observe="Open async_events in a browser or with `curl -N`: one `tick` event arrives every interval. "
        "Under ASGI sync_events sends them all at once at the end; under WSGI it streams but holds a "
        "worker thread per listener. Read views_demo/views/streaming.py.",
        leave_early=True,
        measure="first_byte",
    ),
    # Class-based views
    Demo(
        slug="class-view",
        since=(("`async def` handlers on a `View` class", "4.1"),),
        topic="Class-based views",
        title="A View class",
        lesson="A class is async when all its handlers are `async def`; mixing the two modes is an error.",
        views=(classes.SyncUpstreamView.as_view(), classes.AsyncUpstreamView.as_view()),
        helpers=((upstream.delay, upstream.adelay),),
        params=(params.DELAY,),
        sample={"delay": 50},
        observe="Both answer like the upstream pair. Send OPTIONS or POST: Django's own options() and 405 "
        "follow the class's mode. The query is read in setup(), shared by a mixin. Read "
        "views_demo/views/classes.py.",
    ),
    Demo(
        slug="generic-view",
        since=(("`async def` handlers on a `View` class", "4.1"),),
        topic="Class-based views",
        title="A generic TemplateView",
        lesson="A generic view turns async by overriding its handler with `async def`; the rest stays sync.",
        views=(classes.SyncFanoutPage.as_view(), classes.AsyncFanoutPage.as_view()),
        helpers=((upstream.fanout, upstream.afanout),),
        params=(params.N, params.DELAY),
        sample={"n": 3, "delay": 50},
        observe="Both render the same page; the footer shows the time: about n·delay for the sync class, "
        "one delay for the async one. Read views_demo/views/classes.py.",
    ),
    # Auth
    Demo(
        slug="whoami",
        since=(("`request.auser()`", "5.0"),),
        topic="Auth",
        title="Who is asking",
        lesson="An async view reads the user with `await request.auser()`, never the lazy request.user.",
        views=(auth.sync_whoami, auth.async_whoami),
        observe="Anonymous, both say so; log in at /accounts/login/ and both name you. Read "
        "views_demo/views/auth.py.",
    ),
    Demo(
        slug="profile",
        since=(("`request.auser()`", "5.0"), ("`login_required` on an async view", "5.1")),
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
        since=(("`cache.aget()`", "4.0"), ("`cache.aset()`", "4.0")),
        topic="Cache",
        title="Memoising a slow answer",
        lesson="cache.aget/aset memoise like get/set; the twins share the cache and its keys. The a-methods "
        "still run the sync backend in a thread.",
        views=(cache.sync_cached, cache.async_cached),
        helpers=((cache.cached_delay, cache.acached_delay),),
        params=(params.DELAY,),
        sample={"delay": 50},
        reset="lab:forget_cached",
        observe="Call one twin twice: the first takes about `delay` ms (X-Cache: miss), the second answers "
        "at once (X-Cache: hit, Server-Timing: 0 calls); then the other twin hits too. So that neither twin "
        "rides on the other's hits, Run both forgets the answer before every batch: both start cold and take "
        "about `delay`. Both twins hold a thread while they touch the cache: Django's aget and aset are "
        "sync_to_async around get and set, RedisCache's too (redis-py's sync client). LocMemCache, the "
        "default, is one per process: under `uvicorn --workers 2` each worker keeps its own, so a key misses "
        "once in each; with REDIS_URL set, every worker on every machine shares one Redis "
        "(tests/serving/test_workers.py shows both). Read views_demo/views/cache.py and CACHES in "
        "asyncdemo/settings.py.",
    ),
    # Background work: the Tasks framework
    Demo(
        slug="tasks",
        since=(("`django.tasks`", "6.0"),),
        topic="Background work",
        title="Enqueue a task",
        lesson="Hand slow work to a task queue: the view answers at once, a worker process runs the work "
        "and keeps its result or its error. Enqueueing creates work, so it is a POST.",
        views=(background.sync_enqueue, background.async_enqueue),
        helpers=((tasks.fetch_upstream.func, tasks.afetch_upstream),),
        params=(params.TASK_DELAY, params.FAIL),
        sample={"delay": 20},
        method="POST",
        observe="The view answers in milliseconds with status READY and a status_url. Open it: READY until "
        "the worker (python manage.py db_worker; make run starts one) claims the task, then SUCCESSFUL with "
        "the upstream's answer, or FAILED with the error when fail=1. Read views_demo/tasks.py and "
        "views_demo/views/background.py.",
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
        measure="loop_lag",
    ),
    Demo(
        slug="client-per-request",
        topic="Pitfalls",
        title="A new AsyncClient per request",
        lesson="Building an httpx client costs milliseconds of CPU and a new connection; share one per loop.",
        views=(pitfalls.async_client_per_request_badly, http.async_upstream),
        helpers=(
            (upstream.adelay_with_new_client_badly, upstream.adelay),
            (clients.aget_client,),
            (lifespan.with_lifespan,),
        ),
        params=(params.DELAY,),
        sample={"delay": 0},
        pitfall=True,
        observe="Both answer the same, but the bad one spends about 20 ms more CPU per request building an "
        "SSL context, a pool and a connection, which caps throughput under load. Compare "
        "upstream.adelay_with_new_client_badly with adelay in views_demo/upstream.py, then read "
        "aget_client in views_demo/clients.py (one client per event loop) and with_lifespan in "
        "views_demo/lifespan.py (which opens it at startup and closes it at shutdown).",
    ),
    Demo(
        slug="lost-task",
        since=(("`django.tasks`", "6.0"),),
        topic="Pitfalls",
        title="Fire-and-forget create_task",
        lesson="A task nobody keeps loses its errors (and, under WSGI, its work); enqueue the work instead.",
        views=(pitfalls.async_task_badly, background.async_enqueue),
        helpers=((tasks.afetch_upstream, tasks.fetch_upstream.func),),
        params=(params.TASK_DELAY, params.FAIL),
        sample={"delay": 20, "fail": 1},
        method="POST",
        pitfall=True,
        unhandled=True,
        measure="none",
        observe="With fail=1 both answer 200 at once. The bad one's error shows only as \"Task exception was "
        "never retrieved\" in the server's console (after a run this page asks the server's event "
        "loop for it); the right one's status_url says FAILED and why. "
        "Read async_task_badly in views_demo/views/pitfalls.py and views_demo/tasks.py.",
    ),
    Demo(
        slug="atomic_badly",
        topic="Pitfalls",
        title="atomic() around awaits",
        lesson="Django's atomic() cannot be opened in a coroutine: it raises SynchronousOnlyOperation.",
        views=(database.async_atomic_badly, database.async_vote),
        helpers=((queries.avote, queries.vote),),
        params=(params.QUESTION, params.CHOICE),
        sample={"question": 1, "choice": 4},
        method="POST",
        pitfall=True,
        observe="async_atomic_badly answers 501 naming SynchronousOnlyOperation and counts nothing; "
        "async_vote counts the vote in one transaction, handing queries.vote (atomic() inside) to "
        "sync_to_async once. Read the comment in async_atomic_badly, views_demo/views/database.py.",
    ),
    Demo(
        slug="question_badly",
        topic="Pitfalls",
        title="Sync ORM in an async view",
        lesson="Calling the sync ORM from a coroutine fails with SynchronousOnlyOperation: bridge it.",
        views=(database.async_question_badly, database.async_question),
        params=(params.QUESTION,),
        sample={"question": 1},
        pitfall=True,
        observe="async_question_badly answers 501 naming SynchronousOnlyOperation; async_question answers "
        "the question. Read the comment in async_question_badly, views_demo/views/database.py.",
    ),
]

BY_SLUG: dict[str, Demo] = {demo.slug: demo for demo in DEMOS}
