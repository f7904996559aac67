"""The lab's context processor: every page's header says which server and profile rendered it."""

from django.apps import apps
from django.http import HttpRequest

from lab.views import server_mode


def server(request: HttpRequest) -> dict[str, str]:
    """Return the kind of server (ASGI or WSGI) and the profile (stock or tuned) of this request."""
    return {"server": server_mode(request), "profile": "tuned" if apps.is_installed("tuned") else "stock"}
