"""Test modules share their helpers through tests/*.py (servers, browsers, ...), never through each other."""

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
MODULES = sorted(TESTS.rglob("test_*.py"))


def imported_names(path: Path) -> set[str]:
    """Return the full dotted names a Python file imports from (`from a.b import c` gives a.b)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(TESTS)))
def test_a_test_module_imports_no_other_test_module(path):
    """imports nothing whose last part starts with test_: a helper two test files need lives in tests/*.py."""
    imported = {name for name in imported_names(path) if name.startswith("tests.")}
    assert not [name for name in imported if name.rsplit(".", 1)[-1].startswith("test_")]
