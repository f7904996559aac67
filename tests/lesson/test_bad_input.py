"""Bad parameters get a 400 with a message naming the parameter, from every view, GET or POST."""

import pytest
from django.conf import settings
from django.urls import reverse

from lab.registry import DEMOS
from views_demo.models import Choice

CASES = [(demo, name, param) for demo in DEMOS for name in demo.view_names for param in demo.params]

BAD_VALUES = {
    "empty": lambda p: [""],
    "blank": lambda p: ["  "],
    "not a number": lambda p: ["abc"],
    "negative": lambda p: [str(p.minimum - 1) if p.minimum <= 0 else "-1"],
    "fractional": lambda p: ["1.5"],
    "over the maximum": lambda p: [str(p.maximum + 1)],
    "huge": lambda p: ["9" * 400],
    "unicode digits": lambda p: ["\u0661\u0660"],  # Arabic-Indic "10", which int() accepts
    "exponent": lambda p: ["1e3"],
    "repeated": lambda p: [str(p.default or p.minimum)] * 2,
}


def send(client, demo, name, data):
    """Call a view as its demo does: a query string for GET, form fields for POST."""
    method = client.post if demo.method == "POST" else client.get
    return method(reverse(f"views_demo:{name}"), data)


def all_votes() -> list[tuple[int, int]]:
    return list(Choice.objects.order_by("id").values_list("id", "votes"))


@pytest.mark.parametrize("kind", BAD_VALUES)
@pytest.mark.parametrize(("demo", "name", "param"), CASES, ids=lambda x: getattr(x, "name", x))
def test_bad_parameter_gets_400_naming_it(client, seeded, demo, name, param, kind):
    """A bad value is refused with 400 and a JSON reason that names the parameter; nothing is written."""
    before = all_votes()
    response = send(client, demo, name, {**demo.sample, param.name: BAD_VALUES[kind](param)})

    assert response.status_code == 400
    assert response.json()["error"].startswith(f"{param.name}")
    assert all_votes() == before


REQUIRED = [(demo, name, param) for demo, name, param in CASES if param.default is None]


@pytest.mark.parametrize(("demo", "name", "param"), REQUIRED, ids=lambda x: getattr(x, "name", x))
def test_missing_required_parameter_gets_400(client, seeded, demo, name, param):
    """Leaving out a parameter without a default is refused with 400 saying it is required."""
    before = all_votes()
    data = {key: value for key, value in demo.sample.items() if key != param.name}
    response = send(client, demo, name, data)

    assert response.status_code == 400
    assert response.json()["error"].startswith(f"{param.name} is required")
    assert all_votes() == before


@pytest.mark.parametrize(("demo", "name", "param"), CASES, ids=lambda x: getattr(x, "name", x))
def test_bounds_are_accepted(client, seeded, demo, name, param):
    """The documented minimum is accepted (a labelled wrong way then fails its own way, not with 400)."""
    response = send(client, demo, name, {**demo.sample, param.name: param.minimum})
    if name.endswith("_badly") or name.endswith("_driver"):
        # The driver's views answer 501 where it is off (tests/lesson/test_driver.py).
        assert response.status_code != 400
    else:
        assert response.status_code == 200


POST_VIEWS = [name for demo in DEMOS if demo.method == "POST" for name in demo.view_names]


@pytest.mark.parametrize("name", POST_VIEWS)
def test_post_views_refuse_get_with_405(client, seeded, name):
    """A vote sent with GET is refused with 405 naming POST, and counts nothing."""
    before = all_votes()
    response = client.get(reverse(f"views_demo:{name}"), {"question": 1, "choice": 1})

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert all_votes() == before


@pytest.mark.parametrize(
    ("demo", "name"), [(d, n) for d in DEMOS for n in d.view_names], ids=lambda x: getattr(x, "slug", x)
)
def test_wrong_method_gets_405_with_a_reason(client, demo, name):
    """A method the view does not take gets 405, an Allow header and a JSON reason."""
    wrong = client.put if demo.method == "POST" else client.post
    response = wrong(reverse(f"views_demo:{name}"), demo.sample)

    assert response.status_code == 405
    assert (
        response.json()["error"]
        == f"{'PUT' if demo.method == 'POST' else 'POST'} is not allowed here; use {response['Allow']}"
    )
    assert demo.method in response["Allow"]


def test_unknown_host_gets_400_with_a_reason(client):
    """A Host header outside ALLOWED_HOSTS gets a JSON 400 naming the host, not an HTML page."""
    response = client.get(reverse("views_demo:sync_hello"), headers={"host": "evil.example"})
    assert response.status_code == 400
    assert "evil.example" in response.json()["error"]


@pytest.mark.parametrize("name", POST_VIEWS)
def test_oversized_body_gets_400_and_counts_nothing(client, seeded, name):
    """A form body over DATA_UPLOAD_MAX_MEMORY_SIZE gets a JSON 400 and counts no vote."""
    before = all_votes()
    padding = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = client.post(reverse(f"views_demo:{name}"), {"question": 1, "choice": 1, "padding": padding})

    assert response.status_code == 400
    assert "exceeded" in response.json()["error"]
    assert all_votes() == before


@pytest.mark.parametrize("name", POST_VIEWS)
def test_malformed_multipart_body_gets_400_and_counts_nothing(client, seeded, name):
    """A multipart body that does not parse gets a JSON 400 and counts no vote."""
    before = all_votes()
    response = client.generic(
        "POST",
        reverse(f"views_demo:{name}"),
        b"--broken\r\nnot a part",
        content_type="multipart/form-data; boundary=",
    )

    assert response.status_code == 400
    assert response.json()["error"]
    assert all_votes() == before
