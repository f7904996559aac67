"""URLs for every demo view, made from the registry: /demo/<view name>/."""

from django.urls import path
from django.views.decorators.http import require_http_methods, require_safe

from views_demo import lab
from views_demo.registry import DEMOS
from views_demo.views import tasks

app_name = "views_demo"

# A pitfall's right way may be a view another demo already shows: route each view once.
METHODS = {view: demo.method for demo in DEMOS for view in demo.views}


def route(view, method: str):
    """Serve a demo view at /demo/<view name>/, refusing other HTTP methods with 405."""
    only = require_safe if method == "GET" else require_http_methods([method])
    return path(f"demo/{view.__name__}/", only(view), name=view.__name__)


urlpatterns = [
    path("", lab.index, name="index"),
    path("lab/loop-lag/", lab.loop_lag, name="loop_lag"),
    *(route(view, method) for view, method in METHODS.items()),
    path(
        "demo/sync_task_status/<str:result_id>/",
        require_safe(tasks.sync_task_status),
        name="sync_task_status",
    ),
    path(
        "demo/async_task_status/<str:result_id>/",
        require_safe(tasks.async_task_status),
        name="async_task_status",
    ),
]
