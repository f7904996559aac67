"""docs/running.md's Settings table names every environment variable the project's settings read."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = [ROOT / "asyncdemo" / "settings.py", ROOT / "tuned" / "settings.py"]


def variables_read(path: Path) -> set[str]:
    """Names passed as a literal to os.environ.get(), os.environ[...] or env_bool()."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and node.args:
            reader, name = ast.unparse(node.func), node.args[0]
        elif isinstance(node, ast.Subscript):
            reader, name = ast.unparse(node.value), node.slice
        else:
            continue
        if reader in ("os.environ.get", "env_bool", "os.environ") and isinstance(name, ast.Constant):
            names.add(name.value)
    return names


def documented() -> set[str]:
    text = (ROOT / "docs" / "running.md").read_text()
    table = text.split("## Settings", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z_]+)`", table, re.M))


def test_the_settings_read_variables_and_the_parser_finds_them():
    """The parser is not vacuous: it finds variables read each way (get, env_bool, a subscript)."""
    found = variables_read(SETTINGS[0])
    assert {"UPSTREAM_URL", "DEBUG", "DATABASE_URL", "DATABASE_POOL_TIMEOUT"} <= found


def test_every_variable_the_settings_read_is_in_the_settings_table():
    read = set().union(*map(variables_read, SETTINGS))
    assert sorted(read - documented()) == []
