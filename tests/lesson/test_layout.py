"""The lesson app stands alone: views_demo imports nothing from the lab, the tuned layer or the simulator."""

import ast
import re
from pathlib import Path

import pytest

from tests.layout import imported_modules
from views_demo import conf
from views_demo.conf import DEFAULTS

LESSON = Path(__file__).resolve().parents[2] / "views_demo"
# The project's other parts; a reader copying views_demo into a stock project has none of them.
FORBIDDEN = ("lab", "tuned", "slow_upstream", "asyncdemo", "bench", "tests")


@pytest.mark.parametrize("path", sorted(LESSON.rglob("*.py")), ids=lambda path: str(path.relative_to(LESSON)))
def test_lesson_module_imports_only_django_libraries_and_itself(path):
    """No module of views_demo imports the lab, the tuned layer, the simulator or the project."""
    assert imported_modules(path).isdisjoint(FORBIDDEN)


def test_the_check_sees_a_forbidden_import(tmp_path):
    """A module importing the lab is caught."""
    module = tmp_path / "module.py"
    module.write_text("from lab.registry import DEMOS\nimport tuned.threads\n")
    assert imported_modules(module) & set(FORBIDDEN) == {"lab", "tuned"}


def settings_read(path: Path) -> set[str]:
    """Return the names a Python file reads as `settings.NAME`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "settings"
    }


@pytest.mark.parametrize("path", sorted(LESSON.rglob("*.py")), ids=lambda path: str(path.relative_to(LESSON)))
def test_lesson_reads_settings_only_through_conf(path):
    """Outside conf.py no module of views_demo reads settings.X: conf.py gives each a default."""
    if path.name != "conf.py":
        assert settings_read(path) == set()


def test_the_check_sees_a_settings_read(tmp_path):
    """A module reading settings.X directly is caught."""
    module = tmp_path / "module.py"
    module.write_text("from django.conf import settings\nurl = settings.UPSTREAM_URL\n")
    assert settings_read(module) == {"UPSTREAM_URL"}


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_a_conf_setting_comes_from_the_project_or_its_default(settings, name):
    """conf.NAME is the project's setting when it sets one, else the default in conf.py."""
    setattr(settings, name, "from the project")
    assert getattr(conf, name) == "from the project"
    delattr(settings, name)  # as in a project that never set it
    assert getattr(conf, name) == DEFAULTS[name]


TEMPLATES = LESSON / "templates"


@pytest.mark.parametrize("path", sorted(TEMPLATES.rglob("*.html")), ids=lambda path: path.name)
def test_lesson_templates_extend_only_the_apps_own(path):
    """A views_demo template extends only a template of views_demo itself."""
    for parent in re.findall(r'{%\s*extends\s+"([^"]+)"', path.read_text()):
        assert (TEMPLATES / parent).is_file(), f"{path.name} extends {parent}, which views_demo does not ship"
