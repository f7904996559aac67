"""
ASGI config for asyncdemo: Django's application, plus the lifespan that opens and closes the
async views' upstream client, the slow upstream at /upstream and the static files.

    uvicorn asyncdemo.asgi:application
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "asyncdemo.settings")

django_application = get_asgi_application()

import slow_upstream  # noqa: E402
from asyncdemo.lifespan import with_lifespan  # noqa: E402
from asyncdemo.static import SafeASGIStaticFilesHandler  # noqa: E402

application = with_lifespan(
    slow_upstream.mount("/upstream", slow_upstream.app, SafeASGIStaticFilesHandler(django_application)),
)
