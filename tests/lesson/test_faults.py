"""Upstream faults become 502 or 504 with a reason, the same from both twins."""

import pytest

from lab.registry import BY_SLUG
from tests.demos import UPSTREAM_VIEWS, get
from tests.servers import free_port
from views_demo.models import Choice


@pytest.mark.parametrize("name", UPSTREAM_VIEWS)
def test_slow_upstream_gives_504(client, settings, name):
    """An upstream slower than UPSTREAM_TIMEOUT gives 504 with the timeout in the reason."""
    settings.UPSTREAM_TIMEOUT = 0.2
    response = get(client, name, delay=1000)
    assert response.status_code == 504
    assert response.json()["error"].startswith("upstream did not answer within 0.2 s")


@pytest.mark.parametrize("name", UPSTREAM_VIEWS)
def test_upstream_error_status_gives_502(client, settings, upstream_url, name):
    """An upstream 503 gives 502 naming the upstream's status."""
    settings.UPSTREAM_URL = f"{upstream_url}/status/503"
    response = get(client, name, delay=0)
    assert response.status_code == 502
    assert response.json()["error"] == "upstream answered 503"


@pytest.mark.parametrize("name", UPSTREAM_VIEWS)
def test_refused_connection_gives_502(client, settings, name):
    """A closed upstream port gives 502 saying the connection was refused."""
    settings.UPSTREAM_URL = f"http://127.0.0.1:{free_port()}"
    response = get(client, name, delay=0)
    assert response.status_code == 502
    assert response.json()["error"].startswith("upstream refused the connection")


@pytest.mark.parametrize("name", UPSTREAM_VIEWS)
def test_invalid_json_gives_502(client, settings, upstream_url, name):
    """An upstream answer that is not JSON gives 502."""
    settings.UPSTREAM_URL = f"{upstream_url}/invalid-json"
    response = get(client, name, delay=0)
    assert response.status_code == 502
    assert response.json()["error"] == "upstream answered with invalid JSON"


@pytest.mark.parametrize("name", UPSTREAM_VIEWS)
def test_connection_reset_mid_body_gives_502(client, settings, upstream_url, name):
    """An upstream that drops the connection halfway through its body gives 502."""
    settings.UPSTREAM_URL = f"{upstream_url}/reset"
    response = get(client, name, delay=0)
    assert response.status_code == 502
    assert response.json()["error"].startswith("upstream connection failed")


@pytest.mark.parametrize("name", UPSTREAM_VIEWS)
def test_oversized_answer_gives_502(client, settings, upstream_url, name):
    """An upstream answer over UPSTREAM_MAX_BODY is not read into memory: 502."""
    settings.UPSTREAM_MAX_BODY = 64 * 1024
    settings.UPSTREAM_URL = f"{upstream_url}/big"
    response = get(client, name, delay=0)
    assert response.status_code == 502
    assert response.json()["error"] == "upstream answer is larger than the 65536 bytes the views read"


@pytest.mark.parametrize("name", UPSTREAM_VIEWS)
def test_body_dripping_past_the_timeout_gives_504(client, settings, upstream_url, name):
    """A body whose every chunk comes in time but whose whole takes too long gives 504."""
    settings.UPSTREAM_TIMEOUT = 0.5  # the drip sends 5 chunks 200 ms apart: 1 s in all
    settings.UPSTREAM_URL = f"{upstream_url}/drip"
    response = get(client, name, delay=0)
    assert response.status_code == 504
    assert response.json()["error"] == "upstream body took longer than 0.5 s"


@pytest.mark.parametrize("name", BY_SLUG["checked_vote"].view_names)
def test_upstream_fault_counts_no_vote(client, settings, seeded, upstream_url, name):
    """When the upstream check fails, the vote that waited for it is not counted."""
    before = list(Choice.objects.order_by("id").values_list("votes", flat=True))
    settings.UPSTREAM_URL = f"{upstream_url}/status/503"
    assert get(client, name, delay=0).status_code == 502
    assert list(Choice.objects.order_by("id").values_list("votes", flat=True)) == before
