"""What a reader adds to a project fresh from `startproject mysite`, and nothing more: the lines
the README's "Use the app in your own project" quotes, and tests/serving/test_copy_into_project.py
adds. UPSTREAM_URL's default is the simulator's default port, 8001; the copy test runs the
simulator on a free port, so it names it.
"""

INSTALLED_APP = '"views_demo",'
UPSTREAM_SETTING = 'UPSTREAM_URL = "http://127.0.0.1:{port}"'
URLS_IMPORT = "from django.urls import include"
URLS_ROUTE = 'path("", include("views_demo.urls")),'
