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
