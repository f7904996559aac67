"""
Settings for asyncdemo, read from environment variables with safe defaults for a laptop.

Production sets DEBUG=0, SECRET_KEY, ALLOWED_HOSTS and, for PostgreSQL, DATABASE_URL.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


# Dangerous: DEBUG shows tracebacks to anyone; it is on by default only for a laptop.
DEBUG = env_bool("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DEBUG=0 needs a SECRET_KEY environment variable.")
    # Dangerous: a key everyone can read; fine only with DEBUG on a laptop.
    SECRET_KEY = "django-insecure-asyncdemo-development-key-do-not-use-in-production"

ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "views_demo",
]

# Django's default middleware. Under ASGI each of their hooks costs a hop to a thread and
# back; views_demo/middleware_fast.py has the same classes with the hooks that do no I/O
# run inline, and that is what this project serves unless ASYNCDEMO_MIDDLEWARE says
# otherwise: `stock` for Django's own classes (to compare), `none` for no middleware at
# all (only to measure what the middleware costs: errors then answer 500).
DJANGO_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
MIDDLEWARE_MODE = os.environ.get("ASYNCDEMO_MIDDLEWARE", "fast")
if MIDDLEWARE_MODE == "fast":
    MIDDLEWARE = [
        "views_demo.middleware_fast.SecurityMiddleware",
        "views_demo.middleware_fast.SessionMiddleware",
        "views_demo.middleware_fast.CommonMiddleware",
        "views_demo.middleware_fast.CsrfViewMiddleware",
        "views_demo.middleware_fast.AuthenticationMiddleware",
        "views_demo.middleware_fast.MessageMiddleware",
        "views_demo.middleware_fast.XFrameOptionsMiddleware",
        "views_demo.errors.DemoErrorMiddleware",
    ]
elif MIDDLEWARE_MODE == "stock":
    MIDDLEWARE = [*DJANGO_MIDDLEWARE, "views_demo.errors.DemoErrorMiddleware"]
elif MIDDLEWARE_MODE == "none":
    MIDDLEWARE = []
else:
    raise ImproperlyConfigured("ASYNCDEMO_MIDDLEWARE must be 'fast', 'stock' or 'none'.")

# 0: Django's own thread per request under ASGI. N: every request's sync code runs on one
# of N shared threads (asgi.py), for many concurrent async requests; sync views then take
# turns on those threads.
ASYNCDEMO_SYNC_THREADS = int(os.environ.get("ASYNCDEMO_SYNC_THREADS", "0"))

ROOT_URLCONF = "asyncdemo.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "asyncdemo.wsgi.application"
ASGI_APPLICATION = "asyncdemo.asgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SQLITE_PATH", BASE_DIR / "db.sqlite3"),
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"views_demo": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")}},
}

# The slow upstream the demo views call. The default is the simulator this same server
# mounts at /upstream (asgi.py, wsgi.py); the benchmark points it at a separate process.
# Views never take an outbound URL from the request: this setting is the only one.
UPSTREAM_URL = os.environ.get("UPSTREAM_URL", "http://127.0.0.1:8000/upstream")
# Seconds before an upstream call gives up with 504; above the largest delay a demo accepts.
UPSTREAM_TIMEOUT = float(os.environ.get("UPSTREAM_TIMEOUT", "15"))
# Connections each client may open to the upstream at once; more calls wait their turn.
UPSTREAM_MAX_CONNECTIONS = int(os.environ.get("UPSTREAM_MAX_CONNECTIONS", "200"))
