"""URLs made from the registry: every demo view at /demo/<view name>/, its page at /pairs/<slug>/."""

from django.urls import path

from views_demo import lab
from views_demo.registry import DEMOS

app_name = "views_demo"

urlpatterns = [
    path("", lab.index, name="index"),
    path("pairs/<slug:slug>/", lab.pair, name="pair"),
    path("lab/loop-lag/", lab.loop_lag, name="loop_lag"),
    *(path(f"demo/{view.__name__}/", view, name=view.__name__) for demo in DEMOS for view in demo.views),
]
