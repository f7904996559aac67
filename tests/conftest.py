import pytest
from django.core.cache import cache

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


@pytest.fixture(autouse=True)
def _empty_cache():
    """Start every test with an empty cache: the cache pair's keys do not vary with the upstream."""
    cache.clear()
