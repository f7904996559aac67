"""URLs for every demo view, made from the registry: /demo/<view name>/."""

from django.urls import path

from views_demo import lab
from views_demo.registry import DEMOS, view_name

app_name = "views_demo"

urlpatterns = [
    path("", lab.index, name="index"),
    path("lab/loop-lag/", lab.loop_lag, name="loop_lag"),
    path("lab/tasks/", lab.tasks, name="tasks"),
    path("lab/event-loop/", lab.event_loop, name="event_loop"),
    path("lab/async-under-wsgi/", lab.async_under_wsgi, name="async_under_wsgi"),
    *(path(f"demo/{view_name(view)}/", view, name=view_name(view)) for demo in DEMOS for view in demo.views),
]
