"""
Django's default middleware, without a thread hop per hook under ASGI.

Each class subclasses Django's own and runs its hooks inline on the event loop unless they
may do I/O; under WSGI nothing changes. docs/tuned.md lists which hooks hop and why.
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
