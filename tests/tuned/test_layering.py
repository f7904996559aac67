"""The tuned layer sits on the project: asyncdemo/ imports nothing from it.

tuned/settings.py starts `from asyncdemo.settings import *` and tuned/asgi.py wraps
asyncdemo.asgi's application, never the other way round; the lab is reached only through the
project's URLconf.
"""

from pathlib import Path

import pytest

from tests.layout import imported_modules

PROJECT = Path(__file__).resolve().parents[2] / "asyncdemo"
MODULES = sorted(PROJECT.rglob("*.py"))


def module_id(path: Path) -> str:
    return str(path.relative_to(PROJECT))


@pytest.mark.parametrize("path", MODULES, ids=module_id)
def test_the_project_imports_nothing_from_the_tuned_layer(path):
    """No module of asyncdemo/ imports tuned: the base configuration runs without it."""
    assert "tuned" not in imported_modules(path)


@pytest.mark.parametrize("path", [path for path in MODULES if path.name != "urls.py"], ids=module_id)
def test_the_project_imports_the_lab_only_in_its_urlconf(path):
    """Outside asyncdemo/urls.py, no module of asyncdemo/ imports lab."""
    assert "lab" not in imported_modules(path)
