"""
The errors a demo view may raise on purpose, and the middleware that answers them.

Views raise; DemoErrorMiddleware answers with the status and a JSON reason. Both twins of
a pair raise the same errors, so they fail the same way.
"""

import logging

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.exceptions import SynchronousOnlyOperation
from django.db import OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)


class DemoError(Exception):
    """An expected failure with an HTTP status and a reason to show the client."""

    status = 500

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class BadParameter(DemoError):
    status = 400


class NotFound(DemoError):
    """No such thing: an unknown question, a choice not the question's, an unknown task id."""

    status = 404


class SyncOrmInAsync(DemoError):
    """The sync ORM was called on the event loop, and Django refused (SynchronousOnlyOperation).

    Only a labelled pitfall does this on purpose. It is a server-side bug, but it gets its own
    status, 501, and a JSON reason, so the demo's deliberate failure reads as a lesson and is
    never mistaken for a crash: nothing in this project answers 500.
    """

    status = 501


class DatabaseUnavailable(DemoError):
    """The database could not serve in time: down, out of pooled connections, or locked too long."""

    status = 503


class UpstreamError(DemoError):
    """The upstream failed: refused, reset, answered an error status or garbage."""

    status = 502


class UpstreamTimeout(UpstreamError):
    status = 504


def explain_refused_method(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Give Django's empty 405 (from require_http_methods) a JSON reason."""
    if response.status_code != 405 or response.get("Content-Type", "").startswith("application/json"):
        return response
    allowed = response["Allow"]
    reason = f"{request.method} is not allowed here; use {allowed}"
    return JsonResponse({"error": reason, "status": 405}, status=405, headers={"Allow": allowed})


def bad_request(request: HttpRequest, exception: Exception) -> JsonResponse:
    """Answer Django's own 400s (an oversized body, a disallowed host) with a JSON reason."""
    return JsonResponse({"error": str(exception) or "bad request", "status": 400}, status=400)


class DemoErrorMiddleware:
    """Answer DemoError with its status and reason as JSON, and explain refused methods."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        # Declaring the mode Django chose lets it call this middleware without an adapter,
        # so neither mode pays a thread hop here (django-htmx's middleware does the same).
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if self.async_mode:
            return self.__acall__(request)
        return explain_refused_method(request, self.get_response(request))

    async def __acall__(self, request: HttpRequest):
        return explain_refused_method(request, await self.get_response(request))

    def process_exception(self, request: HttpRequest, exception: Exception):
        if isinstance(exception, Http404) and request.resolver_match.namespace == "views_demo":
            # get_object_or_404() and its twin raise Http404: a demo answers it as JSON too.
            exception = NotFound(str(exception))
        elif isinstance(exception, SynchronousOnlyOperation):
            exception = SyncOrmInAsync(f"SynchronousOnlyOperation: {exception}")
        elif isinstance(exception, OperationalError):
            # Overload or an outage, not a bug: SQLite's "database is locked" after the busy
            # timeout, the pool's timeout waiting for a connection, a server that is down.
            exception = DatabaseUnavailable(f"database unavailable: {exception}")
        if not isinstance(exception, DemoError):
            return None
        if isinstance(exception, UpstreamError):
            logger.warning("upstream fault on %s: %s", request.path, exception.reason)
        elif isinstance(exception, DatabaseUnavailable):
            logger.warning("database fault on %s: %s", request.path, exception.reason)
        elif isinstance(exception, SyncOrmInAsync):
            logger.error("sync ORM call on the event loop in %s: %s", request.path, exception.reason)
        return JsonResponse({"error": exception.reason, "status": exception.status}, status=exception.status)


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    """Answer a POST without a valid CSRF token with 403 and the reason as JSON."""
    return JsonResponse({"error": f"CSRF check failed: {reason}", "status": 403}, status=403)
