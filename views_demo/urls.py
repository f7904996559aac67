"""URLs for every demo view, made from the registry: /demo/<view name>/."""

from django.urls import path

from views_demo import lab
from views_demo.registry import DEMOS
from views_demo.views import tasks

app_name = "views_demo"

VIEWS = dict.fromkeys(view for demo in DEMOS for view in demo.views)

urlpatterns = [
    path("", lab.index, name="index"),
    path("lab/loop-lag/", lab.loop_lag, name="loop_lag"),
    # A pitfall's right way may be a view another demo already shows: route each view once.
    *(path(f"demo/{view.__name__}/", view, name=view.__name__) for view in VIEWS),
    path("demo/sync_task_status/<str:result_id>/", tasks.sync_task_status, name="sync_task_status"),
    path("demo/async_task_status/<str:result_id>/", tasks.async_task_status, name="async_task_status"),
]
