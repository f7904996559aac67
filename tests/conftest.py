import pytest

from tests import servers
from views_demo import upstream


@pytest.fixture(scope="session")
def upstream_url():
    """The slow upstream, running as its own process for the whole session."""
    with servers.slow_upstream() as url:
        yield url
    upstream.close_client()


@pytest.fixture(autouse=True)
def _use_test_upstream(settings, upstream_url):
    settings.UPSTREAM_URL = upstream_url


@pytest.fixture(autouse=True)
def _run_tasks_immediately(settings):
    """Run enqueued tasks inline, so tests need neither a worker nor a database.

    tests/test_tasks.py puts the real, database-backed backend back where it tests it.
    """
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
