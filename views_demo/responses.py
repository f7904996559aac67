"""Shaping the answer of a demo view, written once for both twins."""

from django.http import HttpRequest, JsonResponse


def respond(
    request: HttpRequest, *, result: object, args: dict | None = None, status: int = 200
) -> JsonResponse:
    """Answer a demo call with the view's name, the parameters it used and its result."""
    return JsonResponse(
        {"view": request.resolver_match.url_name, "params": args or {}, "result": result}, status=status
    )
