"""
The WSGI application: Django, its static files and the slow upstream at /upstream.

Static files are served as in asgi.py (see there why), by Django's StaticFilesHandler.

    gunicorn asyncdemo.wsgi:application   (or python manage.py runserver)
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "asyncdemo.settings")

django_application = get_wsgi_application()

import slow_upstream  # noqa: E402
from asyncdemo.static import SafeStaticFilesHandler  # noqa: E402

application = slow_upstream.wsgi_mount(
    "/upstream", slow_upstream.wsgi_app, SafeStaticFilesHandler(django_application)
)
