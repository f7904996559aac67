"""Production settings are safe, and the server refuses to start without them."""

import os
import secrets
import subprocess
import sys

import pytest
from django.urls import reverse

from lab.registry import DEMOS
from tests.servers import ROOT
from views_demo.params import IntParam

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "asyncdemo.example.com",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "HTTPS"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**environ, "DJANGO_SETTINGS_MODULE": "asyncdemo.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.server
def test_deploy_check_is_clean_with_production_settings():
    """`manage.py check --deploy` reports nothing with DEBUG=0, a real key and hosts."""
    result = manage("check", "--deploy", "--fail-level", "DEBUG", env=PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.server
def test_refuses_to_start_with_debug_off_and_no_secret_key():
    """DEBUG=0 without SECRET_KEY stops at start with a one-line reason."""
    result = manage("check", env={"DEBUG": "0", "ALLOWED_HOSTS": "asyncdemo.example.com"})
    assert result.returncode != 0
    assert "DEBUG=0 needs a SECRET_KEY environment variable." in result.stderr


def test_no_demo_takes_text_that_could_name_a_host():
    """Every demo parameter is a bounded whole number, so no request can choose where views call."""
    assert all(isinstance(param, IntParam) for demo in DEMOS for param in demo.params)


@pytest.mark.server
def test_slow_upstream_listens_on_loopback_unless_told():
    """`python -m slow_upstream` binds 127.0.0.1 by default."""
    result = subprocess.run(
        [sys.executable, "-m", "slow_upstream", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "default 127.0.0.1" in result.stdout


def test_responses_carry_security_headers(client):
    """Every answer says nosniff, same-origin referrers, and forbids framing."""
    response = client.get(reverse("views_demo:sync_hello"))
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.server
def test_deploy_check_sees_through_the_fast_middleware():
    """With the fast middleware, check --deploy still catches a missing HSTS or frame setting."""
    result = manage("check", "--deploy", env={**PRODUCTION, "HTTPS": "0"})
    assert result.returncode == 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr
    assert "security.W001" not in result.stderr
