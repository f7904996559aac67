"""Every pair's views answer alike: one table-driven test over the registry."""

import pytest
from django.urls import reverse

from views_demo.registry import DEMOS

PAIRS = [demo for demo in DEMOS if not demo.pitfall]


@pytest.mark.parametrize("demo", PAIRS, ids=lambda demo: demo.slug)
def test_twins_give_the_same_result(client, demo):
    """Each view of a pair returns 200 with the same params and result for the same input."""
    answers = [client.get(reverse(f"views_demo:{name}"), demo.sample) for name in demo.view_names]

    assert [answer.status_code for answer in answers] == [200] * len(answers)
    bodies = [answer.json() for answer in answers]
    assert [body["view"] for body in bodies] == demo.view_names
    first = bodies[0]
    for body in bodies[1:]:
        assert (body["params"], body["result"]) == (first["params"], first["result"])
    assert first["params"] == {**{p.name: p.default for p in demo.params}, **demo.sample}


@pytest.mark.parametrize("demo", PAIRS, ids=lambda demo: demo.slug)
def test_twins_report_time_spent_in_the_view(client, demo):
    """elapsed_ms is at least the upstream delay the view waited for."""
    for name in demo.view_names:
        body = client.get(reverse(f"views_demo:{name}"), demo.sample).json()
        assert body["elapsed_ms"] >= demo.sample.get("delay", 0)
