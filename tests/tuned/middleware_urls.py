"""Views that exercise each default middleware, for tests/tuned/test_middleware.py only."""

from django.contrib import messages
from django.http import HttpRequest, JsonResponse
from django.middleware.csrf import get_token
from django.urls import path


async def count_visits(request: HttpRequest) -> JsonResponse:
    visits = await request.session.aget("visits", 0) + 1
    await request.session.aset("visits", visits)
    return JsonResponse({"visits": visits})


async def csrf_token(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"token": get_token(request)})


async def submit(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"posted": request.POST.get("name", "")})


async def add_message(request: HttpRequest) -> JsonResponse:
    messages.success(request, f"saved {request.GET.get('what', '')}")
    return JsonResponse({"added": True})


async def read_messages(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"messages": [str(message) for message in messages.get_messages(request)]})


async def whoami(request: HttpRequest) -> JsonResponse:
    user = await request.auser()
    return JsonResponse({"username": user.get_username(), "authenticated": user.is_authenticated})


def whoami_sync(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {"username": request.user.get_username(), "authenticated": request.user.is_authenticated}
    )


urlpatterns = [
    path("visits/", count_visits),
    path("csrf/", csrf_token),
    path("submit/", submit),
    path("messages/add/", add_message),
    path("messages/", read_messages),
    path("whoami/", whoami),
    path("whoami-sync/", whoami_sync),
]
