"""
Django's static files handlers, answering a path that climbs out of the static folder with 404.

For /static/../x (or /static/..%2fx), the finders' safe_join() raises SuspiciousFileOperation,
which the handlers let through to the server as a 500: they catch only Http404.
"""

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler, StaticFilesHandler
from django.core.exceptions import SuspiciousFileOperation
from django.http import Http404


class SafeServeMixin:
    """Serve a static file, turning a path outside the static folder into Http404."""

    def serve(self, request):
        try:
            return super().serve(request)
        except SuspiciousFileOperation as error:
            raise Http404(f"{request.path!r} is outside the static files") from error


class SafeStaticFilesHandler(SafeServeMixin, StaticFilesHandler):
    """WSGI: StaticFilesHandler, with 404 for a path outside the static folder."""


class SafeASGIStaticFilesHandler(SafeServeMixin, ASGIStaticFilesHandler):
    """ASGI: ASGIStaticFilesHandler, with 404 for a path outside the static folder."""
