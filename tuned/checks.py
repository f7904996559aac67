"""
Django's deploy checks for the middleware, made to see tuned.middleware.

Django looks for its security, clickjacking, CSRF and session middleware by their dotted
paths in MIDDLEWARE. The fast subclasses do the same work under other paths, so Django would
warn that they are missing (security.W001, W002, W003, silenced in settings for the fast
stack) and then pass the checks that depend on them (HSTS, SSL redirect, nosniff,
X-Frame-Options: DENY, secure cookies, ...) without looking. This check runs those checks
again as if Django's own classes were listed.
"""

from django.conf import settings
from django.core.checks import Tags, register
from django.core.checks.security import base, csrf, sessions
from django.test.utils import override_settings
from django.utils.module_loading import import_string

MIDDLEWARE_CHECKS = [
    base.check_security_middleware,
    base.check_xframe_options_middleware,
    base.check_sts,
    base.check_sts_include_subdomains,
    base.check_sts_preload,
    base.check_content_type_nosniff,
    base.check_ssl_redirect,
    base.check_xframe_deny,
    base.check_referrer_policy,
    base.check_cross_origin_opener_policy,
    csrf.check_csrf_middleware,
    csrf.check_csrf_cookie_secure,
    sessions.check_session_cookie_secure,
    sessions.check_session_cookie_httponly,
]


def as_django_path(path: str) -> str:
    """Return the dotted path of the Django middleware a listed class subclasses, or the path."""
    for parent in import_string(path).__mro__[1:]:
        if parent.__module__.startswith("django.") and parent.__name__.endswith("Middleware"):
            return f"{parent.__module__}.{parent.__name__}"
    return path


@register(Tags.security, deploy=True)
def check_fast_middleware(app_configs, **kwargs):
    stock = [as_django_path(path) for path in settings.MIDDLEWARE]
    if stock == settings.MIDDLEWARE:
        return []  # Django's own classes: its checks already see them
    # override_settings is the public way to run a check against other settings; it is
    # undone before this returns.
    with override_settings(MIDDLEWARE=stock):
        return [message for check in MIDDLEWARE_CHECKS for message in check(app_configs)]
