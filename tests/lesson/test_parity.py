"""Twins stay twins: a sync function and its async twin differ only where async differs.

In the spirit of httpcore's unasync check. The pairs are found by the naming convention in every
module of views_demo (`sync_x`/`async_x`, `x`/`ax`, `_x`/`_ax`, `SyncX`/`AsyncX`, `SYNC_X`/`ASYNC_X`).
Each pair is parsed (docstrings and comments aside), the async one is turned back into sync code
(`async`/`await` dropped, `async with`/`async for` made plain, `sync_to_async(f)(...)` made
`f(...)`), and the two are compared token by token, indentation included. The only tokens that
may still differ are names renamed by the convention, `asyncio.sleep` for `time.sleep`, and a
literal naming a view of the pair's own mode. A variant names the lines it may change, and why.
"""

import ast
import copy
import difflib
import importlib
import inspect
import io
import keyword
import pkgutil
import re
import textwrap
import tokenize
import types
from dataclasses import dataclass

import pytest
from django.tasks import Task

PACKAGE = "views_demo"

# Names an async twin uses in place of the sync one's, besides the prefixes below: the pairs
# httpx, Django and the standard library document as each other's twin.
RENAMED = {
    ("Client", "AsyncClient"),
    ("Iterator", "AsyncIterator"),
    ("Iterable", "AsyncIterable"),
    ("contextmanager", "asynccontextmanager"),
    ("Paginator", "AsyncPaginator"),
}
# How a sync name starts, and how its async twin's starts instead (besides Django's `a` prefix).
PREFIXES = (("sync_", "async_"), ("Sync", "Async"), ("SYNC_", "ASYNC_"))
# A literal naming a view (or its URL) of the twin's own mode: "sync_vote" / "async_vote".
VIEW_NAME = re.compile(r"(?P<namespace>views_demo:)?sync_(?P<name>\w+)")


@dataclass(frozen=True)
class Variant:
    """A pair that differs on purpose: the lines (as written in each twin) that may differ."""

    reason: str
    sync: tuple[str, ...] = ()
    async_: tuple[str, ...] = ()


REQUEST_USER = Variant(
    "request.user is a lazy sync read; async code must await request.auser() instead",
    sync=("return respond(request, result=identity(request.user))",),
    async_=("return respond(request, result=identity(await request.auser()))",),
)
# Pairs that differ on purpose, by (sync name, async name). Every other line must match.
VARIANTS = {
    ("fanout_threaded", "afanout"): Variant(
        "the concurrency primitive is the lesson: a thread pool against a semaphore and a TaskGroup",
        sync=(
            "with ThreadPoolExecutor("
            'max_workers=min(n, conf.FANOUT_CONCURRENCY), thread_name_prefix="fanout") as pool:',
            "calls = [pool.submit(delay, ms=ms) for _ in range(n)]",
            "return [call.result() for call in calls]",
        ),
        async_=(
            "slots = asyncio.Semaphore(conf.FANOUT_CONCURRENCY)",
            "async def call() -> dict:",
            "async with slots:",
            "return await adelay(ms=ms)",
            "try:",
            "async with asyncio.TaskGroup() as group:",
            "tasks = [group.create_task(call()) for _ in range(n)]",
            "except ExceptionGroup as failures:",
            "raise failures.exceptions[0] from None",
            "return [task.result() for task in tasks]",
        ),
    ),
    ("question_page", "aquestion_page"): Variant(
        "Paginator's count and num_pages are attributes; AsyncPaginator's are coroutines, awaited once",
        sync=(
            "raise _empty_page(number, paginator.num_pages) from None",
            "return _page("
            "number=number, count=paginator.count, num_pages=paginator.num_pages, questions=questions)",
        ),
        async_=(
            "raise _empty_page(number, await paginator.anum_pages()) from None",
            "count, num_pages = await paginator.acount(), await paginator.anum_pages()",
            "return _page(number=number, count=count, num_pages=num_pages, questions=questions)",
        ),
    ),
    ("drip", "adrip"): Variant(
        "there is no `async yield from`, and a cancelled async stream also sees CancelledError",
        sync=("yield from response.iter_bytes()", "except GeneratorExit:"),
        async_=(
            "async for chunk in response.aiter_bytes():",
            "yield chunk",
            "except (asyncio.CancelledError, GeneratorExit):",
        ),
    ),
    ("vote", "avote"): Variant(
        "Django has no async atomic(): the async unit is two statements, each its own transaction, so a "
        "read that fails after the UPDATE committed answers the vote counted, its count unknown",
        sync=("with transaction.atomic():",),
        async_=("try:", "except OperationalError:", "votes = None"),
    ),
    ("fetch_upstream", "afetch_upstream"): Variant(
        "the worker runs the sync function as a Task; the async twin is awaited directly",
        sync=("@task",),
    ),
    ("close_client", "aclose_client"): Variant(
        "one process-wide sync client behind a lock, against one AsyncClient per event loop",
        sync=(
            "global _sync_client",
            "with _sync_lock:",
            "if _sync_client is not None:",
            "_sync_client.close()",
            "_sync_client = None",
        ),
        async_=(
            "client = _async_clients.pop(asyncio.get_running_loop(), None)",
            "if client is not None:",
            "await client.aclose()",
        ),
    ),
    ("sync_question", "async_question_driver"): Variant(
        "the truly async driver is optional: its unit lives in views_demo/driver.py, and the view refuses "
        "with 501 where the driver is off",
        sync=('question = queries.question_detail(question_id=args["question"])',),
        async_=(
            "@driver.required(params.QUESTION)",
            'question = await driver.aquestion_detail(question_id=args["question"])',
        ),
    ),
    ("sync_poll", "async_poll_driver"): Variant(
        "the truly async driver is optional: its unit lives in views_demo/driver.py, the view refuses "
        "with 501 where the driver is off, and its form posts to the driver's vote",
        sync=(
            'question = queries.question_detail(question_id=args["question"])',
            'return render(request, "views_demo/poll.html", poll_context(question, vote_view="sync_vote"))',
        ),
        async_=(
            "@driver.required(params.QUESTION)",
            'question = await driver.aquestion_detail(question_id=args["question"])',
            'return render(request, "views_demo/poll.html", poll_context(question, vote_view="async_vote_driver"))',  # noqa: E501
        ),
    ),
    ("sync_vote", "async_vote_driver"): Variant(
        "the truly async driver is optional: its unit lives in views_demo/driver.py, and the view refuses "
        "with 501 where the driver is off",
        sync=('counted = queries.vote(question_id=args["question"], choice_id=args["choice"])',),
        async_=(
            "@driver.required(params.QUESTION, params.CHOICE)",
            'counted = await driver.avote(question_id=args["question"], choice_id=args["choice"])',
        ),
    ),
    ("sync_whoami", "async_whoami"): REQUEST_USER,
    ("sync_profile", "async_profile"): REQUEST_USER,
}
# An async function whose twin the naming convention would not find, and why.
TWIN_OF = {
    # fanout() makes its calls one after another; the threaded one makes them at once, like afanout.
    "afanout": "fanout_threaded",
}
# Functions and classes named like a twin that have none, and why. Pitfalls (`*_badly`) are
# not twins of anything and need no entry.
ASYNC_ONLY = {
    "async_sleep": "the right way beside async_sleep_badly; a sync view has no event loop to free",
    "aopen_client": "only the ASGI lifespan opens a pooled AsyncClient; get_client() opens the sync one",
    # views_demo/driver.py: the truly async driver's units, kept apart so the package stays optional.
    "aquestion_detail": "the driver's, in views_demo/driver.py; its sync twin is queries.question_detail",
    "avote": "the driver's, in views_demo/driver.py; its sync twin is queries.vote",
    "_committed": "the driver's on_commit callback: only an async transaction takes an async callback",
}
SYNC_ONLY = {
    "sync_fanout_threaded": "the threaded alternative to async_fanout; its helper is checked against afanout",
}
# Functions with an `a` name that are not coroutines, and why they are no twin of the sync name.
NOT_ASYNC = {
    "aget_client": "returns the running loop's client without awaiting; one per loop, not per process",
}


# Parsing a twin into lines


@dataclass
class Line:
    """A statement (or a compound statement's header) as ast.unparse writes it."""

    text: str  # as written in the twin
    plain: str  # with the async allowances undone
    children: list["Line"] | None = None  # the block a header opens


class Unasync(ast.NodeTransformer):
    """Undo what an async twin may add: async/await, and sync_to_async(f) around a called f."""

    def plain(self, node, kind):
        node = self.generic_visit(node)
        return ast.copy_location(kind(**{field: getattr(node, field) for field in node._fields}), node)

    def visit_AsyncFunctionDef(self, node):
        return self.plain(node, ast.FunctionDef)

    def visit_AsyncWith(self, node):
        return self.plain(node, ast.With)

    def visit_AsyncFor(self, node):
        return self.plain(node, ast.For)

    def visit_Await(self, node):
        return self.visit(node.value)

    def visit_comprehension(self, node):
        node.is_async = 0
        return self.generic_visit(node)

    def visit_Call(self, node):
        # sync_to_async(f)(...) -> f(...), only when f is a callable's name: not a call, not
        # an expression, so the only parentheses it may add are sync_to_async's own.
        wrapped = node.func
        if (
            isinstance(wrapped, ast.Call)
            and isinstance(wrapped.func, ast.Name)
            and wrapped.func.id == "sync_to_async"
            and len(wrapped.args) == 1
            and not wrapped.keywords
            and isinstance(wrapped.args[0], ast.Name | ast.Attribute)
        ):
            node.func = wrapped.args[0]
        return self.generic_visit(node)


def header(node: ast.AST) -> str:
    """Return the first line of a compound statement, without its decorators or its blocks."""
    node = copy.copy(node)
    for field in ("body", "orelse", "handlers", "finalbody", "cases", "decorator_list"):
        if hasattr(node, field):
            setattr(node, field, [ast.Pass()] if field == "body" else [])
    if isinstance(node, ast.Match):
        node.cases = [ast.match_case(pattern=ast.MatchAs(), body=[ast.Pass()])]
    return ast.unparse(node).strip().splitlines()[0]


def without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    first = body[0] if body else None
    expression = first.value if isinstance(first, ast.Expr) else None
    if isinstance(expression, ast.Constant) and isinstance(expression.value, str):
        return body[1:] or [ast.Pass()]
    return body


def block(statements: list[ast.stmt]) -> list[Line]:
    return [line for statement in statements for line in statement_lines(statement)]


def statement_lines(node: ast.stmt) -> list[Line]:
    """Return a statement's lines: decorators, then the header with its block, or the statement."""

    def line(text, children=None):
        return Line(text, text, children)

    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        decorators = [line(f"@{ast.unparse(decorator)}") for decorator in node.decorator_list]
        return [*decorators, line(header(node), block(without_docstring(node.body)))]
    if isinstance(node, ast.Try | ast.TryStar):
        lines = [line("try:", block(node.body))]
        lines += [line(header(handler), block(handler.body)) for handler in node.handlers]
    elif isinstance(node, ast.Match):
        return [line(header(node), [line(header(case), block(case.body)) for case in node.cases])]
    elif isinstance(node, ast.For | ast.AsyncFor | ast.While | ast.If | ast.With | ast.AsyncWith):
        lines = [line(header(node), block(node.body))]
    else:
        return [line(ast.unparse(node))]
    if getattr(node, "orelse", None):
        lines.append(line("else:", block(node.orelse)))
    if getattr(node, "finalbody", None):
        lines.append(line("finally:", block(node.finalbody)))
    return lines


def merge(written: list[Line] | None, plain: list[Line] | None) -> list[Line] | None:
    """Pair each written line with the same line once its async allowances are undone."""
    if written is None:
        return None
    return [
        Line(ours.text, theirs.text, merge(ours.children, theirs.children))
        for ours, theirs in zip(written, plain, strict=True)
    ]


def code_lines(unit, *, asynchronous: bool) -> list[Line]:
    """Return the lines of a function or class (or its source), its own name left out."""
    source = unit if isinstance(unit, str) else inspect.getsource(inspect.unwrap(unit))
    node = ast.parse(textwrap.dedent(source)).body[0]
    # The pair was matched by name; a variant view (async_question_native) keeps a suffix.
    node.name = "twin"
    written = statement_lines(node)
    if not asynchronous:
        return written
    return merge(written, statement_lines(Unasync().visit(copy.deepcopy(node))))


def canonical(text: str) -> str:
    """Return a declared line as statement_lines() writes it."""
    text = text.strip()
    if text.startswith("@"):
        return f"@{ast.unparse(ast.parse(text[1:], mode='eval'))}"
    if text in {"try:", "else:", "finally:"}:
        return text
    if text.endswith(":"):
        if text.startswith("except"):
            return header(ast.parse(f"try:\n    pass\n{text}\n    pass").body[0].handlers[0])
        return header(ast.parse(f"{text}\n    pass").body[0])
    (statement,) = ast.parse(text).body
    return ast.unparse(statement)


# Comparing two twins


@dataclass(frozen=True)
class Token:
    kind: int
    string: str
    line: str  # the line it sits on, for the report


STRUCTURE = -1  # the kind of the newline, indent and dedent tokens
# tokenize's own layout tokens: each line is lexed alone, and flatten() marks the layout itself.
SKIPPED = {tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}


def lex(text: str) -> list[Token]:
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return [Token(token.type, token.string, text) for token in tokens if token.type not in SKIPPED]


def flatten(lines: list[Line], free: set[str], used: set[str]) -> list[Token]:
    """Return the tokens of the lines not declared free; a free header's block is still compared."""
    tokens = []
    for line in lines:
        children = flatten(line.children, free, used) if line.children is not None else None
        if line.text in free:
            used.add(line.text)
            tokens += children or []
            continue
        tokens += [*lex(line.plain), Token(STRUCTURE, "<newline>", line.text)]
        if children is not None:
            indent, dedent = Token(STRUCTURE, "<indent>", line.text), Token(STRUCTURE, "<dedent>", line.text)
            tokens += [indent, *children, dedent]
    return tokens


def is_async_name(ours: str, theirs: str) -> bool:
    """Whether `theirs` is the async twin's name for `ours`, by the naming convention."""
    if keyword.iskeyword(ours) or keyword.iskeyword(theirs):
        return False
    if (ours, theirs) in RENAMED or theirs == f"a{ours}":
        return True
    if ours.startswith("_") and theirs == f"_a{ours[1:]}":
        return True
    return any(ours.startswith(old) and theirs == f"{new}{ours.removeprefix(old)}" for old, new in PREFIXES)


def is_async_view_name(ours: str, theirs: str) -> bool:
    """Whether two literals name the same view (or URL name) in each mode: "sync_x" and "async_x"."""
    ours, theirs = ast.literal_eval(ours), ast.literal_eval(theirs)
    match = VIEW_NAME.fullmatch(ours) if isinstance(ours, str) else None
    return match is not None and theirs == f"{match['namespace'] or ''}async_{match['name']}"


def may_differ(ours: list[Token], i: int, theirs: list[Token], j: int) -> bool:
    """Whether the token at ours[i] may be replaced by theirs[j] in an async twin."""
    sync, asynchronous = ours[i], theirs[j]
    if sync.kind == asynchronous.kind == tokenize.NAME:
        if is_async_name(sync.string, asynchronous.string):
            return True
        after = [t.string for t in ours[i + 1 : i + 3]], [t.string for t in theirs[j + 1 : j + 3]]
        sleeps = after == ([".", "sleep"], [".", "sleep"])
        return (sync.string, asynchronous.string) == ("time", "asyncio") and sleeps
    if sync.kind == asynchronous.kind == tokenize.STRING:
        return is_async_view_name(sync.string, asynchronous.string)
    return False


def drift(sync_unit, async_unit, variant: Variant | None = None) -> list[str]:
    """Return the differences between two twins that neither async nor the variant explains."""
    variant = variant or Variant("")
    free_sync = {canonical(text) for text in variant.sync}
    free_async = {canonical(text) for text in variant.async_}
    used_sync, used_async = set(), set()
    ours = flatten(code_lines(sync_unit, asynchronous=False), free_sync, used_sync)
    theirs = flatten(code_lines(async_unit, asynchronous=True), free_async, used_async)
    # A declared line the twin no longer has is stale: the declaration must follow the code.
    problems = [f"declared sync line not found: {text!r}" for text in sorted(free_sync - used_sync)]
    problems += [f"declared async line not found: {text!r}" for text in sorted(free_async - used_async)]
    strings = [token.string for token in ours], [token.string for token in theirs]
    matcher = difflib.SequenceMatcher(None, *strings, autojunk=False)
    for tag, start, end, other_start, other_end in matcher.get_opcodes():
        if tag == "equal":
            continue
        if end - start == other_end - other_start and all(
            may_differ(ours, start + k, theirs, other_start + k) for k in range(end - start)
        ):
            continue
        where = ours[start].line if start < len(ours) else theirs[other_start].line
        removed = " ".join(token.string for token in ours[start:end])
        added = " ".join(token.string for token in theirs[other_start:other_end])
        problems.append(f"in {where!r}: {removed!r} -> {added!r}")
    return problems


# Finding the twins


@dataclass(frozen=True)
class Pair:
    module: str
    sync: str
    async_: str
    sync_unit: object
    async_unit: object

    @property
    def id(self) -> str:
        return f"{self.module.removeprefix(PACKAGE + '.')}:{self.sync}-{self.async_}"


def lesson_modules() -> list:
    """Import every module of the lesson app, whatever modules it has today."""
    package = importlib.import_module(PACKAGE)
    found = pkgutil.walk_packages(package.__path__, f"{PACKAGE}.")
    return [package, *(importlib.import_module(info.name) for info in found)]


def members(module) -> dict[str, object]:
    """Return the functions (a Task's function included) and classes the module defines."""
    defined = {}
    for name, value in vars(module).items():
        value = value.func if isinstance(value, Task) else value
        if (inspect.isfunction(value) or inspect.isclass(value)) and value.__module__ == module.__name__:
            defined[name] = value
    return defined


def is_async(unit) -> bool:
    function = inspect.unwrap(unit)
    return inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function)


def sync_name_of(name: str, sync_names: set[str]) -> str | None:
    """Return the name of the sync twin a function or class with this name would have."""
    if name in TWIN_OF:
        return TWIN_OF[name]
    if name.startswith("async_"):
        # async_question_native is a variant of sync_question: the longest sync view it extends.
        rest = name.removeprefix("async_")
        candidates = [rest] + [rest[:cut] for cut in range(len(rest) - 1, 0, -1) if rest[cut] == "_"]
        return next((f"sync_{c}" for c in candidates if f"sync_{c}" in sync_names), f"sync_{rest}")
    if name.startswith("Async"):
        return f"Sync{name.removeprefix('Async')}"
    if name.startswith("_a"):
        return f"_{name.removeprefix('_a')}"
    if name.startswith("a"):
        return name.removeprefix("a")
    return None


def is_pitfall(name: str) -> bool:
    return name.endswith("_badly")


def twin_candidates(module) -> tuple[list[Pair], list[str]]:
    """Return a module's pairs, and its async functions and classes that found no sync twin."""
    defined = members(module)
    sync_names = {
        name
        for name, unit in defined.items()
        if not (name.startswith("Async") if inspect.isclass(unit) else is_async(unit))
    }
    pairs, alone = [], []
    for name, unit in defined.items():
        asynchronous = is_async(unit) if inspect.isfunction(unit) else name.startswith("Async")
        if not asynchronous or is_pitfall(name):
            continue
        twin = sync_name_of(name, sync_names)
        if twin in sync_names:
            pairs.append(Pair(module.__name__, twin, name, defined[twin], unit))
        else:
            alone.append(name)
    return pairs, alone


def constant_pairs(module) -> list[Pair]:
    names = vars(module)
    return [
        Pair(module.__name__, name, f"A{name}", value, names[f"A{name}"])
        for name, value in names.items()
        if name.startswith("SYNC_") and f"A{name}" in names
    ]


MODULES = lesson_modules()
FOUND = [twin_candidates(module) for module in MODULES]
PAIRS = [pair for pairs, _ in FOUND for pair in pairs]
ALONE = [name for _, alone in FOUND for name in alone]
CONSTANTS = [pair for module in MODULES for pair in constant_pairs(module)]


def url_views() -> list[tuple[str, object]]:
    """Return each URL name of the lesson with the function or class it runs."""
    urls = importlib.import_module(f"{PACKAGE}.urls")
    return [
        (pattern.name, getattr(pattern.callback, "view_class", None) or inspect.unwrap(pattern.callback))
        for pattern in urls.urlpatterns
    ]


# The pairs


@pytest.mark.parametrize("pair", PAIRS, ids=lambda pair: pair.id)
def test_twins_differ_only_where_async_differs(pair):
    """An async twin differs from its sync twin only in async tokens, or in its declared lines."""
    assert drift(pair.sync_unit, pair.async_unit, VARIANTS.get((pair.sync, pair.async_))) == []


@pytest.mark.parametrize("pair", CONSTANTS, ids=lambda pair: pair.id)
def test_twin_constants_name_the_same_view(pair):
    """A SYNC_X constant and its ASYNC_X twin name the same view, each in its own mode."""
    assert is_async_view_name(repr(pair.sync_unit), repr(pair.async_unit))


@pytest.mark.parametrize("names", list(VARIANTS), ids="-".join)
def test_declared_variants_differ_without_their_declaration(names):
    """A declared variant really differs, or it should be compared as a plain twin."""
    (pair,) = [pair for pair in PAIRS if (pair.sync, pair.async_) == names]
    assert drift(pair.sync_unit, pair.async_unit) != []


# Nothing drops out of the check


def test_the_check_finds_the_pairs_of_every_kind():
    """The discovery finds views, class-based views, helpers, private helpers and constants."""
    found = {(pair.sync, pair.async_) for pair in PAIRS + CONSTANTS}
    expected = {
        ("sync_hello", "async_hello"),
        ("sync_question", "async_question_native"),
        ("SyncUpstreamView", "AsyncUpstreamView"),
        ("delay", "adelay"),
        ("get_result", "aget_result"),
        ("fetch_upstream", "afetch_upstream"),
        ("SYNC_STATUS", "ASYNC_STATUS"),
    }
    assert expected <= found
    assert len({pair.module for pair in PAIRS}) >= 5


def test_every_async_function_or_class_has_a_twin_or_a_reason():
    """Each async function and Async class has a sync twin, is a pitfall, or is declared async-only."""
    assert sorted(set(ALONE) - set(ASYNC_ONLY)) == []


def test_a_names_that_are_not_coroutines_are_declared():
    """A sync function named like an `a` twin of another function is declared, not silently skipped."""
    named_like_twins = set()
    for module in MODULES:
        defined = members(module)
        for name, unit in defined.items():
            twin = sync_name_of(name, set(defined))
            if inspect.isfunction(unit) and not is_async(unit) and name.startswith("a") and twin in defined:
                named_like_twins.add(name)
    assert named_like_twins == set(NOT_ASYNC)


def test_a_twin_renamed_off_the_convention_is_reported_unpaired():
    """An async function whose name no longer leads to its sync twin is listed as unpaired."""
    module = types.ModuleType(f"{PACKAGE}.renamed")
    source = "def delay(): pass\nasync def delay_async(): pass\nasync def astatus(): pass\n"
    exec(source, vars(module))
    assert twin_candidates(module) == ([], ["delay_async", "astatus"])


@pytest.mark.parametrize("mode", ["async_", "sync_"])
def test_every_url_view_is_in_a_pair(mode):
    """Each sync_/async_ view in views_demo.urls is a member of a checked pair, a pitfall, or declared."""
    checked = {id(inspect.unwrap(unit)) for pair in PAIRS for unit in (pair.sync_unit, pair.async_unit)}
    declared = ASYNC_ONLY if mode == "async_" else SYNC_ONLY
    unchecked = [
        name
        for name, view in url_views()
        if name.startswith(mode) and not is_pitfall(name) and name not in declared and id(view) not in checked
    ]
    assert unchecked == []


def test_declarations_name_what_exists():
    """Every declared variant is a discovered pair, and every declared name is defined in views_demo."""
    pairs = {(pair.sync, pair.async_) for pair in PAIRS}
    defined = {name for module in MODULES for name in members(module)}
    assert set(VARIANTS) - pairs == set()
    assert {*ASYNC_ONLY, *SYNC_ONLY, *NOT_ASYNC, *TWIN_OF.values()} - defined == set()
    assert set(ASYNC_ONLY) <= set(ALONE)


# The comparison itself


def test_drift_reports_a_string_literal_renamed_with_the_a_prefix():
    """A literal "delay" in the sync twin and "adelay" in the async one is a drift."""
    sync = 'def get(*, ms):\n    return clients.get_json("delay", {"ms": ms})'
    asynchronous = 'async def aget(*, ms):\n    return await clients.aget_json("adelay", {"ms": ms})'
    assert drift(sync, asynchronous) != []


def test_drift_reports_parentheses_that_regroup_an_expression():
    """`(a + b) * c` against `a + b * c` is a drift: only sync_to_async may add parentheses."""
    sync = "def total(a, b, c):\n    return (a + b) * c"
    asynchronous = "async def atotal(a, b, c):\n    return a + b * c"
    assert drift(sync, asynchronous) != []
    assert drift(asynchronous, sync) != []


def test_drift_reports_asyncio_in_place_of_time_for_anything_but_sleep():
    """`time.monotonic()` becoming `asyncio.monotonic()` is a drift; only sleep has an asyncio twin."""
    sync = "def clock():\n    return time.monotonic()"
    asynchronous = "async def aclock():\n    return asyncio.monotonic()"
    assert drift(sync, asynchronous) != []


def test_drift_reports_sync_to_async_around_a_call():
    """sync_to_async(f(x))() is not sync_to_async(f)(x): only a callable's name may be wrapped."""
    sync = "def get():\n    return f(1)"
    asynchronous = "async def aget():\n    return await sync_to_async(f(1))()"
    assert drift(sync, asynchronous) != []


def test_drift_reports_a_statement_moved_out_of_its_block():
    """The same tokens at another indentation are a drift."""
    sync = """
        def get(response):
            with translate_errors():
                check_status(response)
            return response
    """
    asynchronous = """
        async def aget(response):
            with translate_errors():
                check_status(response)
                return response
    """
    assert drift(sync, asynchronous) != []


def test_drift_reports_a_decorator_of_one_twin_only():
    """A decorator the other twin lacks (or has in another mode) is a drift."""
    sync = "@require_safe\ndef sync_view(request):\n    return respond(request)"
    asynchronous = "@require_POST\nasync def async_view(request):\n    return respond(request)"
    assert drift(sync, asynchronous) != []


def test_drift_reports_a_view_literal_naming_another_view():
    """A literal may swap "sync_x" for "async_x" only, never for another view's name."""
    sync = 'def view():\n    return poll_context(question, vote_view="sync_vote")'
    asynchronous = 'async def aview():\n    return poll_context(question, vote_view="async_poll")'
    assert drift(sync, asynchronous) != []


def test_twins_that_differ_only_where_async_differs_pass():
    """The async allowances pass: keywords, async with/for, sync_to_async, renames, asyncio.sleep."""
    sync = """
        @contextlib.contextmanager
        def get(client: httpx.Client, *, delay) -> Iterator[dict]:
            \"\"\"Only the sync twin has a docstring.\"\"\"
            time.sleep(delay)
            with stream(client, "views_demo:sync_task_status") as response:
                for chunk in response.iter_bytes():
                    yield [chunk for chunk in _chunks(response)]
            response.close()
            return queries.vote(question_id=1, choice_id=2)
    """
    asynchronous = """
        @contextlib.asynccontextmanager
        async def aget(client: httpx.AsyncClient, *, delay) -> AsyncIterator[dict]:
            await asyncio.sleep(delay)  # a comment, on one twin only
            async with astream(client, "views_demo:async_task_status") as response:
                async for chunk in response.aiter_bytes():
                    yield [chunk async for chunk in _achunks(response)]
            await response.aclose()
            return await sync_to_async(queries.vote)(
                question_id=1, choice_id=2
            )
    """
    assert drift(sync, asynchronous) == []


def test_sync_to_async_may_wrap_a_called_function():
    """`sync_to_async(f)(x=1)` is the twin of `f(x=1)`."""
    sync = "def get():\n    return f(x=1)"
    asynchronous = "async def aget():\n    return await sync_to_async(f)(x=1)"
    assert drift(sync, asynchronous) == []


def test_a_declared_variant_still_fails_when_an_undeclared_line_drifts():
    """drip/adrip may differ in their declared lines only: a changed log message is still reported."""
    variant = VARIANTS[("drip", "adrip")]
    (pair,) = [pair for pair in PAIRS if (pair.sync, pair.async_) == ("drip", "adrip")]
    source = inspect.getsource(pair.async_unit)
    drifted = source.replace('"stream closed before its end', '"async stream closed before its end')
    assert drifted != source
    assert drift(pair.sync_unit, source, variant) == []
    assert drift(pair.sync_unit, drifted, variant) != []


def test_a_declared_line_the_twin_no_longer_has_is_reported():
    """A variant's declaration that matches no line of the twin is stale and reported."""
    sync, asynchronous = "def get():\n    return 1", "async def aget():\n    return 1"
    assert drift(sync, asynchronous, Variant("stale", sync=("return 2",))) == [
        "declared sync line not found: 'return 2'"
    ]
