"""
Auth pairs: who is asking, read with request.user or `await request.auser()`.

request.user is lazy: the first access loads the session and the user from the database,
which is sync I/O, so an async view must not touch it: once the request has a session,
Django raises SynchronousOnlyOperation (tests/test_auth.py shows it). AuthenticationMiddleware
gives every request an auser() coroutine that does the same loading with the async ORM.

login_required works on both: on an async view it awaits request.auser() before the view
runs, then hands its sync is_authenticated test to sync_to_async, one thread hop a request.
Log in at /accounts/login/ (create a user with `python manage.py createsuperuser`).
"""

import time

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, JsonResponse

from views_demo.responses import respond


def identity(user: AbstractBaseUser | AnonymousUser) -> dict:
    """Describe the user making the request."""
    return {"authenticated": user.is_authenticated, "username": user.get_username() or None}


# Auth: who is asking


def sync_whoami(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    return respond(request, started, result=identity(request.user))


async def async_whoami(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    return respond(request, started, result=identity(await request.auser()))


# Auth: a page for logged-in users only; others are sent to settings.LOGIN_URL


@login_required
def sync_profile(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    return respond(request, started, result=identity(request.user))


@login_required
async def async_profile(request: HttpRequest) -> JsonResponse:
    started = time.perf_counter()
    return respond(request, started, result=identity(await request.auser()))
