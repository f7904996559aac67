"""Auth pairs: request.user and request.auser() agree; login_required guards both modes alike."""

import pytest
from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.exceptions import SynchronousOnlyOperation
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

WHOAMI = ["sync_whoami", "async_whoami"]
PROFILE = ["sync_profile", "async_profile"]


@pytest.mark.parametrize("name", WHOAMI)
def test_anonymous_user_is_reported(client, name):
    """Nobody logged in: both twins say so."""
    result = client.get(reverse(f"views_demo:{name}")).json()["result"]
    assert result == {"authenticated": False, "username": None}


@pytest.mark.django_db
@pytest.mark.parametrize("name", WHOAMI)
def test_logging_in_through_the_login_page_names_the_user(client, django_user_model, name):
    """After logging in at /accounts/login/, both twins name the user."""
    django_user_model.objects.create_user("ada", password="correct horse battery")
    login = client.post(reverse("login"), {"username": "ada", "password": "correct horse battery"})
    assert login.status_code == 302
    result = client.get(reverse(f"views_demo:{name}")).json()["result"]
    assert result == {"authenticated": True, "username": "ada"}


@pytest.mark.parametrize("name", PROFILE)
def test_anonymous_user_is_sent_to_log_in(client, name):
    """login_required redirects an anonymous request to the login page, with the way back."""
    response = client.get(reverse(f"views_demo:{name}"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={reverse(f'views_demo:{name}')}"


@pytest.mark.django_db
@pytest.mark.parametrize("name", PROFILE)
def test_logged_in_user_gets_the_page(client, django_user_model, name):
    """A logged-in user gets 200 and their username from both twins."""
    client.force_login(django_user_model.objects.create_user("grace"))
    response = client.get(reverse(f"views_demo:{name}"))
    assert response.status_code == 200
    assert response.json()["result"] == {"authenticated": True, "username": "grace"}


# aforce_login writes a session from async code, on another connection than the test's:
# only a committed database (transaction=True) lets both see the user and the session.
@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_async_profile_under_asgi(async_client, django_user_model):
    """Under the ASGI handler, login_required lets a logged-in user through to the async view."""
    url = reverse("views_demo:async_profile")
    assert (await async_client.get(url)).status_code == 302
    await async_client.aforce_login(await django_user_model.objects.acreate(username="linus"))
    response = await async_client.get(url)
    assert response.status_code == 200
    assert response.json()["result"]["username"] == "linus"


# As above: the session is written by async code, on another connection than the test's.
@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_request_user_in_async_code_is_refused(async_client, django_user_model):
    """With a session to load, reading request.user on the event loop raises; auser() works."""
    await async_client.aforce_login(await django_user_model.objects.acreate(username="barbara"))
    request = RequestFactory().get("/")
    request.COOKIES[settings.SESSION_COOKIE_NAME] = async_client.cookies[settings.SESSION_COOKIE_NAME].value
    SessionMiddleware(HttpResponse).process_request(request)
    AuthenticationMiddleware(HttpResponse).process_request(request)

    with pytest.raises(SynchronousOnlyOperation):
        request.user.is_authenticated  # noqa: B018 - the lazy load is what raises
    assert (await request.auser()).get_username() == "barbara"


def test_login_page_renders(client):
    """The login page shows a form to log in."""
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="username"' in response.content
