"""Every pair's views answer alike: one table-driven test over the registry."""

import pytest
from django.urls import reverse

from views_demo.registry import DEMOS

PAIRS = [demo for demo in DEMOS if not demo.pitfall]


def call(client, demo, name):
    send = client.post if demo.method == "POST" else client.get
    return send(reverse(f"views_demo:{name}"), demo.sample)


@pytest.mark.parametrize("demo", PAIRS, ids=lambda demo: demo.slug)
def test_twins_give_the_same_result(client, seeded, demo):
    """Each view of a pair returns 200 and the same answer for the same input."""
    responses = [call(client, demo, name) for name in demo.view_names]

    assert [response.status_code for response in responses] == [200] * len(responses)
    answers = [demo.answer(response) for response in responses]
    assert answers == [answers[0]] * len(answers)


@pytest.mark.parametrize(
    "demo", [d for d in PAIRS if d.params and d.renders == "json"], ids=lambda demo: demo.slug
)
def test_twins_echo_their_parameters_and_time(client, seeded, demo):
    """A JSON pair echoes its parameters (defaults filled in) and at least the upstream delay."""
    expected = {**{param.name: param.default for param in demo.params}, **demo.sample}
    for name in demo.view_names:
        body = call(client, demo, name).json()
        assert body["view"] == name
        assert body["params"] == expected
        assert body["elapsed_ms"] >= demo.sample.get("delay", 0)
