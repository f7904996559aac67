"""
Auth pairs: who is asking, read with request.user or `await request.auser()`.

An async view must not touch the lazy request.user; docs/lesson.md says why.
"""

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from views_demo.errors import json_errors
from views_demo.responses import respond


def identity(user: AbstractBaseUser | AnonymousUser) -> dict:
    """Describe the user making the request."""
    return {"authenticated": user.is_authenticated, "username": user.get_username() or None}


# Auth: who is asking


@json_errors
@require_safe
def sync_whoami(request: HttpRequest) -> JsonResponse:
    return respond(request, result=identity(request.user))


@json_errors
@require_safe
async def async_whoami(request: HttpRequest) -> JsonResponse:
    return respond(request, result=identity(await request.auser()))


# Auth: a page for logged-in users only; others are sent to settings.LOGIN_URL


@json_errors
@require_safe
@login_required
def sync_profile(request: HttpRequest) -> JsonResponse:
    return respond(request, result=identity(request.user))


@json_errors
@require_safe
@login_required
async def async_profile(request: HttpRequest) -> JsonResponse:
    return respond(request, result=identity(await request.auser()))
