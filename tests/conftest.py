from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from django.core.cache import cache
from django.core.management import call_command
from django.db import connections
from django.test import override_settings

from tests import servers
from views_demo import clients


def pytest_report_header(config):
    from django.conf import settings

    database = settings.DATABASES["default"]
    return f"database: {database['ENGINE'].rsplit('.', 1)[-1]} {database['HOST']} {database['NAME']}".rstrip()


# Closed (nothing listens on port 1): a test that reaches the upstream without asking for it
# fails at once with this address in the reason, rather than calling a `make run` on port 8000.
NO_UPSTREAM = "http://127.0.0.1:1/upstream-not-started"


@pytest.fixture(scope="session")
def upstream_url():
    """The slow upstream, running as its own process from the first test that asks for it."""
    with servers.slow_upstream() as url:
        yield url
    clients.close_client()


@pytest.fixture(autouse=True)
def _no_upstream(settings):
    settings.UPSTREAM_URL = NO_UPSTREAM


@pytest.fixture
def live_upstream(_no_upstream, settings, upstream_url):
    """Point UPSTREAM_URL at the test upstream, for a test whose views may call it."""
    settings.UPSTREAM_URL = upstream_url
    return upstream_url


@pytest.fixture
def client(client, live_upstream):
    """pytest-django's client, with the upstream its views call running."""
    return client


@pytest.fixture
def async_client(async_client, live_upstream):
    """pytest-django's async client, with the upstream its views call running."""
    return async_client


@pytest.fixture(autouse=True)
def _run_tasks_immediately(settings):
    """Run enqueued tasks inline, so tests need neither a worker nor a database.

    tests/lesson/test_tasks.py puts the real, database-backed backend back where it tests it.
    """
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Hash test passwords with MD5: Django's default hasher spends ~0.3 s of CPU per password by design."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def _own_redis_database(worker_id):
    """Give each xdist worker its own Redis database: cache.clear() (below) flushes a whole
    database, and would empty another worker's cache between its miss and its hit."""
    from django.conf import settings

    default = settings.CACHES["default"]
    if worker_id == "master" or not default["BACKEND"].endswith("RedisCache"):
        yield
        return
    number = int(worker_id.removeprefix("gw")) + 1  # 0 stays the servers' and the tools' database
    location = urlsplit(default["LOCATION"])._replace(path=f"/{number}").geturl()
    with override_settings(CACHES={**settings.CACHES, "default": {**default, "LOCATION": location}}):
        yield


@pytest.fixture(autouse=True)
def _empty_cache(_own_redis_database):
    """Start every test with an empty cache: the cache pair's keys do not vary with the upstream."""
    cache.clear()


@pytest.fixture
def seeded(db):
    """The demo polls of `manage.py seed_demo` (question 1 has 4 choices), in the test database."""
    call_command("seed_demo", verbosity=0)


@pytest_asyncio.fixture
async def close_connections():
    """Close, when the test ends, the connections its async code opened in sync_to_async's thread.

    A request would close them when it finishes, but the test client leaves them open, and
    PostgreSQL cannot drop the test database while one is.
    """
    yield
    await sync_to_async(connections.close_all)()
