"""
Django's default middleware, without a thread hop per hook under ASGI.

Under ASGI, Django's MiddlewareMixin runs every process_request and process_response
through sync_to_async, and the handler does the same for every sync process_view: a hop
to a thread and back for each, on every request, though almost all of them only read
headers and set cookies. That is most of a hello view's CPU under ASGI
(docs/performance.md).

Each class here is Django's own middleware, subclassed (so `isinstance` and the admin's
checks still see it) with one change: in async mode its hooks run inline on the event
loop, and in a thread only when they may do I/O. The hooks themselves are Django's,
unchanged, and under WSGI nothing changes at all. The hooks that may do I/O, and when:

- SessionMiddleware.process_response saves the session (a database write by default)
  when it was modified or SESSION_SAVE_EVERY_REQUEST is on.
- CsrfViewMiddleware reads and writes the CSRF secret in the session when
  CSRF_USE_SESSIONS is on (every hook then), and process_view reads the request body and
  may render the failure page from a template file for unsafe methods (POST, ...).
- MessageMiddleware.process_response stores messages, which may load and write the
  session, once messages were added or read.

Every other hook does no I/O: SecurityMiddleware, CommonMiddleware, XFrameOptionsMiddleware
and AuthenticationMiddleware (request.user is lazy; nothing is read until a view asks,
and an async view asks with `await request.auser()`). If one of these hooks did reach
the database inline, Django would raise SynchronousOnlyOperation rather than block the loop.

Use these paths in MIDDLEWARE in place of Django's (settings.py does, unless
ASYNCDEMO_MIDDLEWARE=stock).
"""

from collections.abc import Callable

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import get_messages
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.http import HttpRequest, HttpResponse
from django.middleware import clickjacking, common, csrf, security

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


async def _run(hook: Callable, in_thread: bool, *args):
    if in_thread:
        return await sync_to_async(hook, thread_sensitive=True)(*args)
    return hook(*args)


class InlineHooks:
    """Run a MiddlewareMixin's hooks inline in async mode; in a thread only for I/O.

    Mix in before the middleware class; override the *_may_do_io methods for the hooks
    that can block.
    """

    def __init__(self, get_response):
        super().__init__(get_response)
        if self.async_mode and hasattr(self, "process_view"):
            # Django wraps a sync process_view in sync_to_async under ASGI but calls an async
            # one as it is, so give this instance an async one.
            sync_process_view = self.process_view

            async def process_view(request, view_func, view_args, view_kwargs):
                in_thread = self.view_may_do_io(request)
                return await _run(sync_process_view, in_thread, request, view_func, view_args, view_kwargs)

            self.process_view = process_view

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        # MiddlewareMixin.__acall__, with _run() in place of sync_to_async().
        response = None
        if hasattr(self, "process_request"):
            response = await _run(self.process_request, self.request_may_do_io(request), request)
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            in_thread = self.response_may_do_io(request, response)
            response = await _run(self.process_response, in_thread, request, response)
        return response

    def request_may_do_io(self, request: HttpRequest) -> bool:
        return False

    def view_may_do_io(self, request: HttpRequest) -> bool:
        return False

    def response_may_do_io(self, request: HttpRequest, response: HttpResponse) -> bool:
        return False


class SecurityMiddleware(InlineHooks, security.SecurityMiddleware):
    """Django's SecurityMiddleware: headers and the HTTPS redirect, no I/O."""


class SessionMiddleware(InlineHooks, sessions.SessionMiddleware):
    """Django's SessionMiddleware: the session loads lazily, and is saved in a thread."""

    def response_may_do_io(self, request, response):
        session = getattr(request, "session", None)
        return session is not None and (session.modified or settings.SESSION_SAVE_EVERY_REQUEST)


class CommonMiddleware(InlineHooks, common.CommonMiddleware):
    """Django's CommonMiddleware: URL checks and Content-Length, no I/O."""


class CsrfViewMiddleware(InlineHooks, csrf.CsrfViewMiddleware):
    """Django's CsrfViewMiddleware: a cookie check inline; sessions and POST bodies in a thread."""

    def request_may_do_io(self, request):
        return settings.CSRF_USE_SESSIONS

    def view_may_do_io(self, request):
        return settings.CSRF_USE_SESSIONS or request.method not in SAFE_METHODS

    def response_may_do_io(self, request, response):
        return settings.CSRF_USE_SESSIONS


class AuthenticationMiddleware(InlineHooks, auth.AuthenticationMiddleware):
    """Django's AuthenticationMiddleware: sets the lazy request.user and request.auser."""


class MessageMiddleware(InlineHooks, messages.MessageMiddleware):
    """Django's MessageMiddleware: messages are stored in a thread once added or read."""

    def response_may_do_io(self, request, response):
        storage = get_messages(request)
        return bool(getattr(storage, "used", False) or getattr(storage, "added_new", False))


class XFrameOptionsMiddleware(InlineHooks, clickjacking.XFrameOptionsMiddleware):
    """Django's XFrameOptionsMiddleware: one header, no I/O."""
