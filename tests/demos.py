"""The demo views as the tests call them, from the lab's registry of demos (lab/registry.py)."""

from django.urls import reverse

from lab.registry import DEMOS
from views_demo import params

UPSTREAM_VIEWS = [name for demo in DEMOS if params.DELAY in demo.params for name in demo.view_names]
DEMO_OF = {name: demo for demo in DEMOS for name in demo.view_names}


def get(client, name, **query):
    """Call a view as its demo does (POST for a vote), with the demo's sample and `query`."""
    demo = DEMO_OF[name]
    send = client.post if demo.method == "POST" else client.get
    return send(reverse(f"views_demo:{name}"), {**demo.sample, **query})


def views_for_test_client(demo) -> list[str]:
    """The demo's views the sync test client can run: not the driver's, which needs ASGI and
    PostgreSQL and answers 501 elsewhere (tests/lesson/test_driver.py runs it)."""
    return demo.view_names[:-1] if demo.driver else demo.view_names
