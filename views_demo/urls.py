"""URLs for every demo view, made from the registry: /demo/<view name>/."""

from django.urls import path
from django.views.decorators.http import require_http_methods, require_safe

from views_demo import lab
from views_demo.registry import DEMOS, Demo

app_name = "views_demo"


def route(demo: Demo, view):
    """Serve one view of a demo at /demo/<view name>/, refusing other HTTP methods with 405."""
    only = require_safe if demo.method == "GET" else require_http_methods([demo.method])
    return path(f"demo/{view.__name__}/", only(view), name=view.__name__)


urlpatterns = [
    path("", lab.index, name="index"),
    path("lab/loop-lag/", lab.loop_lag, name="loop_lag"),
    *(route(demo, view) for demo in DEMOS for view in demo.views),
]
