import pytest
from django.core.management import call_command

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


@pytest.fixture
def seeded(db):
    """The demo polls of `manage.py seed_demo` (question 1 has 4 choices), in the test database."""
    call_command("seed_demo", verbosity=0)
