"""The lesson app stands alone: views_demo imports nothing from the lab, the tuned layer or the simulator."""

import ast
from pathlib import Path

import pytest

LESSON = Path(__file__).resolve().parents[2] / "views_demo"
# The project's other parts; a reader copying views_demo into a stock project has none of them.
FORBIDDEN = ("lab", "tuned", "slow_upstream", "asyncdemo", "bench", "tests")


def imported_modules(path: Path) -> set[str]:
    """Return the top-level names of the modules a Python file imports."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    return modules


@pytest.mark.parametrize("path", sorted(LESSON.rglob("*.py")), ids=lambda path: str(path.relative_to(LESSON)))
def test_lesson_module_imports_only_django_libraries_and_itself(path):
    """No module of views_demo imports the lab, the tuned layer, the simulator or the project."""
    assert imported_modules(path).isdisjoint(FORBIDDEN)


def test_the_check_sees_a_forbidden_import(tmp_path):
    """A module importing the lab is caught."""
    module = tmp_path / "module.py"
    module.write_text("from lab.registry import DEMOS\nimport tuned.threads\n")
    assert imported_modules(module) & set(FORBIDDEN) == {"lab", "tuned"}
