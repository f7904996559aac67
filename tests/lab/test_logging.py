"""One structured log line per request, in both modes; upstream faults logged with their cause."""

import json
import logging

import pytest
from django.urls import reverse


def request_lines(caplog) -> list[dict]:
    return [json.loads(record.getMessage()) for record in caplog.records if record.name == "lab.requests"]


@pytest.mark.parametrize("name", ["sync_upstream", "async_upstream"])
def test_each_request_logs_one_json_line(client, caplog, name):
    """A request logs its view, status and upstream time once, without the query string."""
    with caplog.at_level(logging.INFO, logger="lab.requests"):
        client.get(reverse(f"views_demo:{name}"), {"delay": 30})

    [line] = request_lines(caplog)
    assert line["view"] == f"views_demo:{name}"
    assert line["status"] == 200
    assert line["path"] == reverse(f"views_demo:{name}")
    assert line["upstream_calls"] == 1
    assert line["upstream_ms"] >= 30
    assert line["ms"] >= line["upstream_ms"]


@pytest.mark.asyncio
async def test_async_mode_logs_the_same_line(async_client, caplog):
    """Under the async handler the middleware logs the same fields."""
    with caplog.at_level(logging.INFO, logger="lab.requests"):
        await async_client.get(reverse("views_demo:async_fanout"), {"n": 3, "delay": 20})

    [line] = request_lines(caplog)
    assert (line["view"], line["status"], line["upstream_calls"]) == ("views_demo:async_fanout", 200, 3)


def test_rejected_input_is_logged_with_its_status(client, caplog):
    """A 400 is logged with status 400 and no upstream call."""
    with caplog.at_level(logging.INFO, logger="lab.requests"):
        client.get(reverse("views_demo:sync_upstream"), {"delay": "secret-looking-text"})

    [line] = request_lines(caplog)
    assert (line["status"], line["upstream_calls"]) == (400, 0)
    assert "secret-looking-text" not in caplog.text


def test_upstream_fault_is_logged_with_its_cause(client, settings, upstream_url, caplog):
    """A 502 logs a warning naming the path and the upstream's answer."""
    settings.UPSTREAM_URL = f"{upstream_url}/status/503"
    with caplog.at_level(logging.INFO):
        client.get(reverse("views_demo:async_upstream"), {"delay": 0})

    assert "upstream fault on /demo/async_upstream/: upstream answered 503" in caplog.text
    [line] = request_lines(caplog)
    assert line["status"] == 502
