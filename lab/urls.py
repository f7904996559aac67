"""The lab's pages and the small endpoints they read."""

from django.urls import path

from lab import views

app_name = "lab"

urlpatterns = [
    path("", views.index, name="index"),
    path("pairs/<slug:slug>/", views.pair, name="pair"),
    path("lab/loop-lag/", views.loop_lag, name="loop_lag"),
    path("lab/tasks/", views.tasks, name="tasks"),
    path("lab/threads/", views.threads, name="threads"),
    path("lab/unhandled/", views.unhandled, name="unhandled"),
    path("lab/forget-cached/", views.forget_cached, name="forget_cached"),
    path("lab/load-run/", views.load_run, name="load_run"),
    path("lab/event-loop/", views.event_loop, name="event_loop"),
    path("lab/async-under-wsgi/", views.async_under_wsgi, name="async_under_wsgi"),
    path("lab/naive-choices/", views.naive_choices, name="naive_choices"),
    path("lab/concepts/", views.concepts, name="concepts"),
    path("lab/connections/", views.connections, name="connections"),
]
