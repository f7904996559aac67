"""
The errors a view raises on purpose, and the decorator that answers them.

Each view is wrapped in @json_errors: a DemoError becomes its status with a JSON reason, so a
view answers its own failures in any project, with no middleware. Both twins of a pair raise
the same errors, so they fail the same way.
"""

import contextlib
import functools
import logging

import httpx
from asgiref.sync import iscoroutinefunction
from django.core.exceptions import SynchronousOnlyOperation
from django.db import OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse

from views_demo import conf

try:
    from psycopg_pool import PoolTimeout
except ImportError:  # SQLite only: no pool, so no wait for a pooled connection
    PoolTimeout = None

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
    never mistaken for a crash.
    """

    status = 501


class DatabaseUnavailable(DemoError):
    """The database could not serve in time: down, out of pooled connections, or locked too long.

    The reason a client sees is short and fixed per kind of fault; the driver's own text, which
    may name hosts, users or SQL, is the `detail` and goes to the log only.
    """

    status = 503

    def __init__(self, reason: str, *, detail: str = ""):
        super().__init__(reason)
        self.detail = detail


class UpstreamError(DemoError):
    """The upstream failed: refused, reset, answered an error status or garbage."""

    status = 502


class UpstreamTimeout(UpstreamError):
    status = 504


# The upstream's failures, as the errors above


@contextlib.contextmanager
def translate_errors():
    """Turn httpx's exceptions into the 502/504 errors the views answer with."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise UpstreamTimeout(
            f"upstream did not answer within {conf.UPSTREAM_TIMEOUT:g} s ({type(exc).__name__})"
        ) from exc
    except httpx.ConnectError as exc:
        raise UpstreamError(
            f"upstream refused the connection ({exc}); is settings.UPSTREAM_URL={conf.UPSTREAM_URL} right?"
        ) from exc
    except httpx.HTTPError as exc:
        raise UpstreamError(f"upstream connection failed ({type(exc).__name__}: {exc})") from exc


def check_status(response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise UpstreamError(f"upstream answered {response.status_code}")


# The database's faults, as a short reason: chosen from what the driver raised (the pool's
# class, PostgreSQL's SQLSTATE, SQLite's result code), never from its text.

SQLSTATE_REASONS = {
    "57P01": "the server closed the connection",  # admin_shutdown: pg_terminate_backend(), a fast stop
    "57P02": "the server closed the connection",  # crash_shutdown: another backend crashed
    "57P03": "the server is starting up or shutting down",  # cannot_connect_now
    "53300": "the server has no free connection slots",  # too_many_connections
    "57014": "a statement was cancelled or timed out",  # query_canceled: statement_timeout
    "55P03": "the database is locked",  # lock_not_available: lock_timeout
    "40P01": "a deadlock was broken",  # deadlock_detected
}
SQLITE_REASONS = {
    "SQLITE_BUSY": "the database is locked",  # another connection held the write lock past the timeout
    "SQLITE_LOCKED": "the database is locked",
}


def database_fault(exception: OperationalError) -> str:
    """Return a short, fixed reason for a database fault, from the driver's exception behind it."""
    driver = exception.__cause__ or exception
    if PoolTimeout is not None and isinstance(driver, PoolTimeout):
        return "timed out waiting for a pooled connection"
    sqlstate = getattr(driver, "sqlstate", "")
    if sqlstate in SQLSTATE_REASONS:
        return SQLSTATE_REASONS[sqlstate]
    if sqlstate is None or sqlstate.startswith("08"):
        # psycopg gives no SQLSTATE when libpq itself found the connection broken or refused
        # ("server closed the connection unexpectedly", "the connection is closed").
        return "no connection to the server"
    if reason := SQLITE_REASONS.get(getattr(driver, "sqlite_errorname", "")):
        return reason
    return f"the database failed ({type(driver).__name__})"


# Answering them


def as_demo_error(exception: Exception) -> DemoError | None:
    """Return the DemoError an exception stands for, or None for a bug that should stay a 500."""
    if isinstance(exception, DemoError):
        return exception
    if isinstance(exception, Http404):
        # get_object_or_404() and its twin raise Http404: a demo answers it as JSON too.
        return NotFound(str(exception))
    if isinstance(exception, SynchronousOnlyOperation):
        return SyncOrmInAsync(f"SynchronousOnlyOperation: {exception}")
    if isinstance(exception, OperationalError):
        # Overload or an outage, not a bug: SQLite's "database is locked" after the busy
        # timeout, the pool's timeout waiting for a connection, a server that is down.
        reason = f"database unavailable: {database_fault(exception)}"
        return DatabaseUnavailable(
            reason, detail=f"{type(exception.__cause__ or exception).__name__}: {exception}"
        )
    return None


def error_response(request: HttpRequest, error: DemoError) -> JsonResponse:
    """Answer a DemoError with its status and reason as JSON, and log the faults."""
    if isinstance(error, UpstreamError):
        logger.warning("upstream fault on %s: %s", request.path, error.reason)
    elif isinstance(error, DatabaseUnavailable):
        logger.warning("database fault on %s: %s (%s)", request.path, error.reason, error.detail)
    elif isinstance(error, SyncOrmInAsync):
        logger.error("sync ORM call on the event loop in %s: %s", request.path, error.reason)
    return JsonResponse({"error": error.reason, "status": error.status}, status=error.status)


def explain_refused_method(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Give Django's empty 405 (from require_http_methods) a JSON reason."""
    if response.status_code != 405 or response.get("Content-Type", "").startswith("application/json"):
        return response
    allowed = response["Allow"]
    reason = f"{request.method} is not allowed here; use {allowed}"
    return JsonResponse({"error": reason, "status": 405}, status=405, headers={"Allow": allowed})


def json_errors(view):
    """Answer the view's DemoErrors and refused methods as JSON; works on sync and async views."""
    if iscoroutinefunction(view):

        @functools.wraps(view)
        async def async_view(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            try:
                return explain_refused_method(request, await view(request, *args, **kwargs))
            except Exception as exc:
                if (error := as_demo_error(exc)) is None:
                    raise
                return error_response(request, error)

        return async_view

    @functools.wraps(view)
    def sync_view(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return explain_refused_method(request, view(request, *args, **kwargs))
        except Exception as exc:
            if (error := as_demo_error(exc)) is None:
                raise
            return error_response(request, error)

    return sync_view


# The project's own 400 and CSRF failures, answered like the views' errors (asyncdemo/urls.py,
# CSRF_FAILURE_VIEW in asyncdemo/settings.py). A project that copies the app may skip them.


def bad_request(request: HttpRequest, exception: Exception) -> JsonResponse:
    """Answer Django's own 400s (an oversized body, a disallowed host) with a JSON reason."""
    return JsonResponse({"error": str(exception) or "bad request", "status": 400}, status=400)


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    """Answer a POST without a valid CSRF token with 403 and the reason as JSON."""
    return JsonResponse({"error": f"CSRF check failed: {reason}", "status": 403}, status=403)
