"""
What a development server serves besides Django, in the same process: the static files and
the slow upstream at /upstream, so a fresh clone needs one command and no second process.

asgi.py and wsgi.py wrap Django in these only while DEBUG is on; in production a web server
serves the static files (collectstatic) and UPSTREAM_URL names a real upstream.
"""

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler, StaticFilesHandler
from django.core.exceptions import SuspiciousFileOperation
from django.http import Http404

import slow_upstream


class SafeServeMixin:
    """Serve a static file, turning a path outside the static folder into Http404.

    For /static/../x (or /static/..%2fx), the finders' safe_join() raises
    SuspiciousFileOperation, which Django's handlers let through as a 500: they catch only Http404.
    """

    def serve(self, request):
        try:
            return super().serve(request)
        except SuspiciousFileOperation as error:
            raise Http404(f"{request.path!r} is outside the static files") from error


class SafeStaticFilesHandler(SafeServeMixin, StaticFilesHandler):
    """WSGI: StaticFilesHandler, with 404 for a path outside the static folder."""


class SafeASGIStaticFilesHandler(SafeServeMixin, ASGIStaticFilesHandler):
    """ASGI: ASGIStaticFilesHandler, with 404 for a path outside the static folder."""


def asgi(application):
    """Return the ASGI application with the static files and the slow upstream at /upstream."""
    return slow_upstream.mount("/upstream", slow_upstream.app, SafeASGIStaticFilesHandler(application))


def wsgi(application):
    """Return the WSGI application with the static files and the slow upstream at /upstream."""
    return slow_upstream.wsgi_mount("/upstream", slow_upstream.wsgi_app, SafeStaticFilesHandler(application))
