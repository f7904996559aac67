"""Every pair's views answer alike: one table-driven test over the registry."""

import pytest
from django.urls import reverse

from lab.registry import DEMOS
from tests.demos import views_for_test_client
from tests.readers import answer_of, app_ms, json_result

PAIRS = [demo for demo in DEMOS if not demo.pitfall]


def call(client, demo, name):
    send = client.post if demo.method == "POST" else client.get
    return send(reverse(f"views_demo:{name}"), demo.sample)


@pytest.mark.parametrize("demo", PAIRS, ids=lambda demo: demo.slug)
def test_twins_give_the_same_result(client, seeded, django_user_model, demo):
    """Each view of a pair returns 200 and the same answer for the same input."""
    if demo.login:
        client.force_login(django_user_model.objects.create_user("reader"))
    responses = [call(client, demo, name) for name in views_for_test_client(demo)]

    assert [response.status_code for response in responses] == [200] * len(responses)
    answers = [answer_of(demo)(response) for response in responses]
    assert answers == [answers[0]] * len(answers)


JSON_PAIRS = [
    demo for demo in PAIRS if demo.params and demo.renders == "json" and answer_of(demo) is json_result
]


@pytest.mark.parametrize("demo", JSON_PAIRS, ids=lambda demo: demo.slug)
def test_twins_echo_their_parameters_and_time(client, seeded, demo):
    """A JSON pair echoes its parameters and takes at least the upstream delay, unless cached."""
    expected = {**{param.name: param.default for param in demo.params}, **demo.sample}
    for name in views_for_test_client(demo):
        response = call(client, demo, name)
        body = response.json()
        assert body["view"] == name
        assert body["params"] == expected
        if response.get("X-Cache") != "hit":
            assert app_ms(response) >= demo.sample.get("delay", 0)
