"""The Redis the serving tests share a cache through.

Without one they are skipped with a reason that `make test` prints, except under CI (the CI
variable is set), where a missing Redis fails them: .ci/run installs redis-server.
"""

import os
import shutil
from collections.abc import Iterator

import pytest

from tests import servers


def missing(what: str) -> None:
    """Skip the test for want of `what`, or fail it under CI, where nothing may be missing."""
    reason = f"Redis tests did not run: {what}"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run them", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The Redis that REDIS_URL names, or else a redis-server of the test's own on a free port."""
    if url := os.environ.get("REDIS_URL"):
        if not servers.redis_answers(url):
            missing(f"nothing answers at REDIS_URL={url}")
        yield url
        return
    if shutil.which("redis-server") is None:
        missing("REDIS_URL is not set and there is no redis-server to start (apt-get install redis-server)")
    with servers.redis_server() as url:
        yield url
