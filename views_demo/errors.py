"""
The errors a demo view may raise on purpose, and the middleware that answers them.

Views raise; DemoErrorMiddleware answers with the status and a JSON reason. Both twins of
a pair raise the same errors, so they fail the same way.
"""

import logging

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)


class DemoError(Exception):
    """An expected failure with an HTTP status and a reason to show the client."""

    status = 500

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class BadParameter(DemoError):
    status = 400


class TaskNotFound(DemoError):
    """No background task with that id can be looked up."""

    status = 404


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
        if not isinstance(exception, DemoError):
            return None
        if isinstance(exception, UpstreamError):
            logger.warning("upstream fault on %s: %s", request.path, exception.reason)
        return JsonResponse({"error": exception.reason, "status": exception.status}, status=exception.status)
