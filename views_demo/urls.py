"""URLs made from the registry: every demo view at /demo/<view name>/, its page at /pairs/<slug>/."""

from django.urls import path
from django.views.decorators.http import require_http_methods, require_safe

from views_demo import lab
from views_demo.registry import DEMOS, view_name
from views_demo.views import tasks

app_name = "views_demo"

# A pitfall's right way may be a view another demo already shows: route each view once.
METHODS = {view: demo.method for demo in DEMOS for view in demo.views}


def route(view, method: str):
    """Serve a demo view at /demo/<view name>/, refusing other HTTP methods with 405."""
    if not hasattr(view, "view_class"):  # a View class answers OPTIONS and 405 itself
        only = require_safe if method == "GET" else require_http_methods([method])
        view = only(view)
    return path(f"demo/{view_name(view)}/", view, name=view_name(view))


urlpatterns = [
    path("", lab.index, name="index"),
    path("pairs/<slug:slug>/", lab.pair, name="pair"),
    path("lab/loop-lag/", lab.loop_lag, name="loop_lag"),
    path("lab/tasks/", lab.tasks, name="tasks"),
    path("lab/event-loop/", lab.event_loop, name="event_loop"),
    path("lab/async-under-wsgi/", lab.async_under_wsgi, name="async_under_wsgi"),
    path("lab/naive-choices/", lab.naive_choices, name="naive_choices"),
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
