"""The docs show what the code reads: docs/running.md's Settings table names every environment
variable the settings read, and the README quotes the lines a reader adds to a stock project."""

import ast
import re
from pathlib import Path

import pytest

from tests.startproject import INSTALLED_APP, UPSTREAM_SETTING, URLS_IMPORT, URLS_ROUTE

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = [ROOT / "asyncdemo" / "settings.py", ROOT / "tuned" / "settings.py"]
ENVIRON = ("os.environ", "os.getenv", "environ", "getenv")


def variables_read(source: str) -> set[str]:
    """Names read as os.environ.get("X"), os.environ["X"], os.getenv("X") or env_bool("X", ...).
    Any other use of the environment (setdefault, a name that is not a literal, the whole mapping)
    raises, so that a new way of reading a variable cannot slip past the table."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "env_bool":
            read = node
        elif isinstance(node, ast.Attribute | ast.Name) and ast.unparse(node) in ENVIRON:
            read = parents[node]
            if isinstance(read, ast.Attribute) and read.attr == "get":  # os.environ.get(...)
                read = parents[read]
        else:
            continue
        if inside(parents, node, "env_bool"):
            continue  # env_bool's own os.environ.get(name): its callers are checked
        name = read.args[0] if isinstance(read, ast.Call) and read.args else getattr(read, "slice", None)
        if not isinstance(name, ast.Constant):
            raise ValueError(f"line {node.lineno}: {ast.unparse(read)} reads the environment another way")
        names.add(name.value)
    return names


def inside(parents: dict, node: ast.AST, function: str) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.FunctionDef) and node.name == function:
            return True
    return False


def documented() -> set[str]:
    text = (ROOT / "docs" / "running.md").read_text()
    table = text.split("## Settings", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z_]+)`", table, re.M))


def test_the_parser_finds_each_way_the_settings_read_a_variable():
    source = 'os.environ.get("GOT", "1"), os.environ["SUBSCRIPT"], env_bool("FLAG", False), os.getenv("ENV")'
    assert variables_read(source) == {"GOT", "SUBSCRIPT", "FLAG", "ENV"}


@pytest.mark.parametrize(
    "source",
    ['os.environ.setdefault("X", "1")', "os.environ.get(name)", "os.environ[name]", "dict(os.environ)"],
)
def test_the_parser_refuses_any_other_way(source):
    with pytest.raises(ValueError, match="reads the environment another way"):
        variables_read(source)


def test_every_variable_the_settings_read_is_in_the_settings_table():
    read = set().union(*(variables_read(path.read_text()) for path in SETTINGS))
    assert {"UPSTREAM_URL", "DEBUG", "DATABASE_URL", "SQLITE_CONN_MAX_AGE"} <= read
    assert sorted(read - documented()) == []


def test_the_readme_quotes_the_lines_a_reader_adds_to_a_stock_project():
    """The README's "Use the app in your own project" shows what the copy test adds."""
    section = (ROOT / "README.md").read_text().split("## Use the app in your own project", 1)[1]
    section = section.split("\n## ", 1)[0]
    lines = (INSTALLED_APP, URLS_IMPORT, URLS_ROUTE, UPSTREAM_SETTING.split("{port}")[0])
    assert [line for line in lines if line not in section] == []
