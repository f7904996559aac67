"""
The WSGI application: Django and the slow upstream at /upstream.

    gunicorn asyncdemo.wsgi:application   (or python manage.py runserver)
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "asyncdemo.settings")

django_application = get_wsgi_application()

from views_demo import slow_upstream  # noqa: E402

application = slow_upstream.wsgi_mount("/upstream", slow_upstream.wsgi_app, django_application)
