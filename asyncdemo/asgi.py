"""
ASGI config for asyncdemo: Django's application, with the lifespan that opens and closes the
async views' shared upstream client (views_demo/lifespan.py).

    uvicorn asyncdemo.asgi:application
"""

import os

from django.conf import settings
from django.core.asgi import get_asgi_application

from views_demo.lifespan import with_lifespan

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "asyncdemo.settings")

application = get_asgi_application()
if settings.DEBUG:
    from asyncdemo import development

    application = development.asgi(application)
application = with_lifespan(application)
