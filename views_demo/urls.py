"""URLs for every demo view, made from the registry: /demo/<view name>/."""

from django.urls import path

from views_demo import lab
from views_demo.registry import DEMOS

app_name = "views_demo"

urlpatterns = [
    path("", lab.index, name="index"),
    path("lab/loop-lag/", lab.loop_lag, name="loop_lag"),
    *(path(f"demo/{view.__name__}/", view, name=view.__name__) for demo in DEMOS for view in demo.views),
]
