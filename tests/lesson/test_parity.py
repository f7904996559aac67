"""Twins stay twins: the tokens that differ between a sync function and its async twin are async ones.

In the spirit of httpcore's unasync check: each pair's code is compared token by token (docstrings
and comments aside), and drift (a fix made to one twin only) fails the build. Variants that
differ on purpose are declared below, with the reason.
"""

import ast
import difflib
import inspect
import io
import textwrap
import tokenize

import pytest

from lab.registry import DEMOS
from views_demo import clients, queries, tasks, upstream
from views_demo.views import cache, streaming

# Tokens an async twin may add: the keywords, the bridge to sync code, and its call parentheses.
ADDED = {"async", "await", "sync_to_async", "(", ")"}
# Names an async twin may use in place of the sync one's, besides the `a` and `async_` prefixes.
RENAMED = {
    ("Client", "AsyncClient"),
    ("Iterator", "AsyncIterator"),
    ("Iterable", "AsyncIterable"),
    ("contextmanager", "asynccontextmanager"),
    ("close", "aclose"),
    ("time", "asyncio"),  # time.sleep / asyncio.sleep
}

# How a sync name starts, and how its async twin's starts instead.
PREFIXES = [("sync_", "async_"), ("SYNC_", "ASYNC_"), ("Sync", "Async")]

# Helper pairs the views call: (sync, async).
HELPERS = [
    (upstream.delay, upstream.adelay),
    (upstream.status, upstream.astatus),
    (clients.get_json, clients.aget_json),
    (clients.stream, clients.astream),
    (queries.question_detail, queries.aquestion_detail),
    (queries.question_list, queries.aquestion_list),
    (tasks.fetch_upstream.func, tasks.afetch_upstream),
    (tasks.get_result, tasks.aget_result),
    (cache.cached_delay, cache.acached_delay),
    (streaming.ticks, streaming.aticks),
]
# Pairs that differ on purpose, and why; they are not checked token by token.
VARIANTS = {
    # The concurrency primitive is the lesson: a thread pool against a TaskGroup and a semaphore.
    (upstream.fanout_threaded, upstream.afanout): "thread pool against TaskGroup",
    # The async paginator awaits its count and pages separately; the sync one reads attributes.
    (
        queries.question_page,
        queries.aquestion_page,
    ): "Paginator's attributes against AsyncPaginator's coroutines",
    # There is no `async yield from`, and a cancelled async stream also sees CancelledError.
    (upstream.drip, upstream.adrip): "yield from against async for, and the cancellation",
    # Django has no async atomic(): the async unit is three statements, each in its own hop.
    (queries.vote, queries.avote): "no async transaction.atomic()",
}


def code_tokens(function) -> list[str]:
    """Return the tokens of a function's code, without its docstring, comments or decorators."""
    function = getattr(function, "view_class", function)
    tree = ast.parse(textwrap.dedent(inspect.getsource(inspect.unwrap(function))))
    node = tree.body[0]
    node.decorator_list = []
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        node.body = body[1:] or [ast.Pass()]
    source = ast.unparse(node)
    skip = {tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
    return [t.string for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type not in skip]


def renamed(ours: str, theirs: str) -> bool:
    """Whether `theirs` is the async name of `ours` (a view's name in a string literal included)."""
    if ours[:1] == theirs[:1] and ours[:1] in {"'", '"'}:
        ours, theirs = ours[1:-1], theirs[1:-1]
    if (ours, theirs) in RENAMED:
        return True
    private = ours.startswith("_") and theirs == f"_a{ours[1:]}"
    if private or theirs in {f"a{ours}", *(ours.replace(s, a, 1) for s, a in PREFIXES if ours.startswith(s))}:
        return True
    # A variant of an async view keeps its twin's name plus a suffix (async_question_native).
    return ours.startswith("sync_") and theirs.startswith(ours.replace("sync_", "async_", 1) + "_")


def drift(sync_function, async_function) -> list[str]:
    """Return the differences between two twins that are not async-specific."""
    ours, theirs = code_tokens(sync_function), code_tokens(async_function)
    problems = []
    matcher = difflib.SequenceMatcher(None, ours, theirs, autojunk=False)
    for tag, start, end, other_start, other_end in matcher.get_opcodes():
        if tag == "equal":
            continue
        removed = ours[start:end]
        added = [token for token in theirs[other_start:other_end] if token not in ADDED]
        if len(removed) != len(added) or not all(renamed(a, b) for a, b in zip(removed, added, strict=True)):
            problems.append(f"{' '.join(removed)!r} -> {' '.join(theirs[other_start:other_end])!r}")
    return problems


def view_pairs():
    """Every sync view of a pair with each async view beside it in the registry."""
    for demo in DEMOS:
        if demo.pitfall:
            continue
        sync_views = [
            view for view in demo.views if demo.view_names[demo.views.index(view)].startswith("sync_")
        ]
        async_views = [view for view in demo.views if view not in sync_views]
        for async_view in async_views:
            yield pytest.param(sync_views[0], async_view, id=f"{demo.slug}:{async_view.__name__}")


@pytest.mark.parametrize(("sync_function", "async_function"), list(view_pairs()))
def test_view_twins_differ_only_where_async_differs(sync_function, async_function):
    """A pair's async view differs from its sync view only in async tokens."""
    assert drift(sync_function, async_function) == []


@pytest.mark.parametrize(
    ("sync_function", "async_function"),
    HELPERS,
    ids=[f"{s.__name__}-{a.__name__}" for s, a in HELPERS],
)
def test_helper_twins_differ_only_where_async_differs(sync_function, async_function):
    """A helper's async twin differs from it only in async tokens."""
    assert drift(sync_function, async_function) == []


@pytest.mark.parametrize(("sync_function", "async_function"), list(VARIANTS))
def test_declared_variants_really_differ(sync_function, async_function):
    """A declared variant differs in more than async tokens, or it should be checked as a twin."""
    assert drift(sync_function, async_function) != []


def test_drift_is_caught():
    """A change made to one twin only is reported."""

    def get(*, ms):
        return clients.get_json("delay", {"ms": ms})

    async def aget(*, ms):
        return await clients.aget_json("delay", {"ms": ms + 1})

    assert drift(get, aget) != []
