"""
Every file, line and function the lab's texts name exists: a reader sent to read one finds it.

The texts are the registry's lessons and what to observe, the lab's templates, the naive
choices' fixes and docs/lab.md. A path is checked against the repository; `file.py:line`
against the file's length; a function named with its file ("Read vote and avote in
views_demo/queries.py", "the comment in async_question_badly, views_demo/...") or with its
module ("upstream.drip", "clients.aget_client") against the names the file defines.
"""

import ast
import functools
import re
from pathlib import Path

import pytest

from lab import views
from lab.registry import DEMOS

ROOT = Path(__file__).resolve().parents[2]

PATH = r"(?<![\w/.:-])(?:[\w.-]+/)+[\w.-]+\.(?:py|md|html|json|js|css|toml|txt)"
PATH_AND_LINE = re.compile(rf"({PATH})(?::(\d+))?")
# "Read vote and avote in views_demo/queries.py", "Compare x with y in path": the names end
# at the path; a sentence, or an earlier path, ends them on the left.
NAMES_IN_FILE = re.compile(rf"\b(?:[Rr]ead|[Cc]ompare)\s+((?:(?!\. ).)*?)\s+in\s+({PATH})")
NAME_COMMA_FILE = re.compile(rf"\bin\s+(\w+),\s+({PATH})")
SEPARATORS = re.compile(r",\s*|\s+(?:and|with|beside|or)\s+")
IDENTIFIER = re.compile(r"(?:\w+\.)?([A-Za-z_]\w*)(?:\(\))?")
# Top-level modules of the lesson and the lab, as the texts name them ("upstream.adelay").
MODULES = {
    path.stem: path
    for folder in ["views_demo", "lab"]
    for path in (ROOT / folder).glob("*.py")
    if path.stem not in {"__init__", "views", "apps", "urls", "admin", "models"}
}
MODULE_MEMBER = re.compile(rf"(?<![\w/.])({'|'.join(sorted(MODULES))})\.(\w+)((?:/\w+)*)")


def template_text(path: Path) -> str:
    """A template's words, its tags and variables left out."""
    return re.sub(r"{%.*?%}|{{.*?}}", " ", path.read_text(), flags=re.DOTALL)


def texts() -> dict[str, str]:
    found = {}
    for demo in DEMOS:
        found[f"registry {demo.slug}"] = f"{demo.lesson}\n{demo.observe}"
    for template in sorted((ROOT / "templates" / "lab").glob("*.html")):
        found[f"templates/lab/{template.name}"] = template_text(template)
    for choice in views.NAIVE_CHOICES:
        found[f"naive choice {choice.contestant} {choice.variant}".strip()] = f"{choice.fix} ({choice.read})"
    found["docs/lab.md"] = (ROOT / "docs" / "lab.md").read_text()
    return found


@functools.cache
def defined_names(path: Path) -> frozenset[str]:
    """The functions, classes and variables a module defines at its top level."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return frozenset(names)


def named_functions(text: str) -> list[tuple[str, str]]:
    """Return (name, path) for each function the text names together with its file."""
    named = []
    for words, path in NAMES_IN_FILE.findall(text):
        # "Read views_demo/views/cache.py and CACHES in asyncdemo/settings.py": only CACHES.
        words = re.sub(r"^\s*(?:and|with|beside|or)\s+", "", re.split(PATH, words)[-1])
        for part in SEPARATORS.split(words.strip()):
            match = IDENTIFIER.fullmatch(part.strip())
            if match:
                named.append((match.group(1), path))
    named += NAME_COMMA_FILE.findall(text)
    return named


def problems(text: str) -> list[str]:
    found = []
    for path, line in PATH_AND_LINE.findall(text):
        file = ROOT / path
        if not file.exists():
            found.append(f"{path} does not exist")
        elif line and int(line) > len(file.read_text().splitlines()):
            found.append(f"{path}:{line} is past the end of the file")
    for name, path in named_functions(text):
        file = ROOT / path
        if file.suffix == ".py" and file.exists() and name not in defined_names(file):
            found.append(f"{name} is not defined in {path}")
    for module, name, others in MODULE_MEMBER.findall(text):
        file = MODULES[module]
        for member in [name, *filter(None, others.split("/"))]:
            if member not in defined_names(file):
                found.append(f"{module}.{member}: {member} is not defined in {file.relative_to(ROOT)}")
    return found


@pytest.mark.parametrize(("source", "text"), texts().items(), ids=list(texts()))
def test_every_file_and_function_the_lab_names_exists(source, text):
    """Each path the text names exists, each line is in its file, each named function in its module."""
    assert problems(text) == []


def test_the_check_finds_a_wrong_file_a_wrong_function_and_a_line_past_the_end():
    """A missing file, a function named in the wrong file and a line past the end are each reported."""
    text = (
        "Read views_demo/nowhere.py. Compare adelay with aget_client in views_demo/upstream.py. "
        "See views_demo/upstream.py:100000 and clients.no_such_thing, in missing_view, views_demo/queries.py."
    )
    assert problems(text) == [
        "views_demo/nowhere.py does not exist",
        "views_demo/upstream.py:100000 is past the end of the file",
        "aget_client is not defined in views_demo/upstream.py",
        "missing_view is not defined in views_demo/queries.py",
        "clients.no_such_thing: no_such_thing is not defined in views_demo/clients.py",
    ]
