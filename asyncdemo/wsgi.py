"""
WSGI config for asyncdemo: Django's application.

    gunicorn asyncdemo.wsgi:application   (or python manage.py runserver)
"""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "asyncdemo.settings")

application = get_wsgi_application()
if settings.DEBUG:
    from asyncdemo import development

    application = development.wsgi(application)
