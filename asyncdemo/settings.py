"""
Settings for asyncdemo, from environment variables with safe defaults for a laptop.
Production sets DEBUG=0, SECRET_KEY, ALLOWED_HOSTS and, for PostgreSQL, DATABASE_URL.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


def database_from_url(url: str) -> dict:
    """Return the DATABASES entry for postgres://user:password@host:port/name?option=value."""
    if urlsplit(url).scheme not in {"postgres", "postgresql"}:
        raise ImproperlyConfigured(f"DATABASE_URL must start with postgres://, not {urlsplit(url).scheme}://")
    # Under ASGI each request's sync code runs in a thread of its own and Django keeps a
    # connection per thread: persistent ones would pile up. Django's docs say to pool instead
    # (its pool refuses CONN_MAX_AGE). Options after `?` (sslmode=...) go to psycopg as is.
    entry = dj_database_url.parse(url, conn_max_age=0)
    # psycopg_pool's connections, shared by all threads; a request waits `timeout` s for one.
    size = int(os.environ.get("DATABASE_POOL_SIZE", "10"))
    timeout = float(os.environ.get("DATABASE_POOL_TIMEOUT", "20"))
    pool = {"min_size": min(2, size), "max_size": size, "timeout": timeout}
    entry["OPTIONS"] = {**entry.get("OPTIONS", {}), "pool": pool}
    return entry


# Dangerous: DEBUG shows tracebacks to anyone; it is on by default only for a laptop.
DEBUG = env_bool("DEBUG", True)

# Dangerous: a key everyone can read, used only with DEBUG on a laptop.
SECRET_KEY = os.environ.get("SECRET_KEY") or ("django-insecure-asyncdemo-development-key" if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("DEBUG=0 needs a SECRET_KEY environment variable.")

ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")

# HTTPS-only protections, on whenever DEBUG is off; HTTPS=0 only for plain HTTP on loopback.
HTTPS = env_bool("HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_PRELOAD = HTTPS
if env_bool("BEHIND_TLS_PROXY", False):
    # Trust X-Forwarded-Proto only when a proxy that sets it (and strips the client's) is in front.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# The truly async driver (django-async-backend, docs/lesson.md "Is the async ORM fake?"): off
# unless ASYNC_ORM_DRIVER=1 and DATABASE_URL is PostgreSQL; served only over ASGI. Off, its
# views answer 501 saying why, and nothing of the package is loaded.
ASYNC_ORM_DRIVER = env_bool("ASYNC_ORM_DRIVER", False) and bool(os.environ.get("DATABASE_URL"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks_db",
    *(["django_async_backend"] if ASYNC_ORM_DRIVER else []),
    "views_demo",
    # The lab: this line, its middleware, context processor and URL include; without them, the lesson alone.
    "lab",
]

MIDDLEWARE = [
    "lab.middleware.ServerTimingMiddleware",  # first, so its time covers every other middleware
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

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
                "lab.context_processors.server",
            ],
        },
    },
]

WSGI_APPLICATION = "asyncdemo.wsgi.application"
ASGI_APPLICATION = "asyncdemo.asgi.application"

if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": database_from_url(os.environ["DATABASE_URL"])}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", BASE_DIR / "db.sqlite3"),
            # Many requests write at once (the vote views), each from a thread of its own.
            "OPTIONS": {
                # WAL: readers go on while one writer writes; NORMAL: no fsync per commit (safe
                # in WAL mode: a power cut may lose the last commits, never the file).
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
                # BEGIN IMMEDIATE takes the write lock first; with DEFERRED, two transactions
                # that both read and then both write fail one at once with "database is locked".
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,  # seconds a writer waits for the lock (default 5)
            },
            # 0: Django as it ships starts a thread per ASGI request, which would strand it.
            "CONN_MAX_AGE": int(os.environ.get("SQLITE_CONN_MAX_AGE", "0")),
        }
    }

if ASYNC_ORM_DRIVER:
    # The driver's engine is Django's PostgreSQL backend (the sync ORM is unchanged) plus an asyncio one.
    DATABASES["default"]["ENGINE"] = "django_async_backend.db.backends.postgresql"
    # Its request receivers, under WSGI, leave context variables that make every later sync
    # request slower; the driver's views close their own connections (views_demo/driver.py).
    ASYNC_BACKEND_DISABLE_REQUEST_SIGNALS = True
    # It warns on each sync connection under a pool (an error under pytest's -W error): its pool
    # lives on one event loop, which WSGI cannot give. The driver's views refuse WSGI instead.
    ASYNC_BACKEND_DISABLE_POOL_WARNING = True
    # OPTIONS["pool"] sizes two pools, Django's for the sync ORM and the driver's for asyncio:
    # a process may hold 2 x DATABASE_POOL_SIZE connections.

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

# A POST without a valid CSRF token gets 403 with the reason as JSON, like every demo error.
CSRF_FAILURE_VIEW = "views_demo.errors.csrf_failure"

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

# login_required sends anonymous users to LOGIN_URL (Django's LoginView, asyncdemo/urls.py).
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = LOGOUT_REDIRECT_URL = "/"

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}  # one per process
if REDIS_URL := os.environ.get("REDIS_URL"):  # one cache for every worker on every machine
    CACHES["default"] = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The views' faults and the lab's line per request (lab.requests), on the console.
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {app: {"handlers": ["console"], "level": LOG_LEVEL} for app in ("views_demo", "lab")},
}

# Background work (views_demo/tasks.py): a row in the database until `manage.py db_worker` runs it.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# The lesson's settings, defaults in views_demo/conf.py; under DEBUG asgi.py mounts the upstream at /upstream.
UPSTREAM_URL = os.environ.get("UPSTREAM_URL", "http://127.0.0.1:8000/upstream")
UPSTREAM_TRANSPORT = os.environ.get("UPSTREAM_TRANSPORT", "aiohttp")
UPSTREAM_TIMEOUT = float(os.environ.get("UPSTREAM_TIMEOUT", "15"))
UPSTREAM_MAX_CONNECTIONS = int(os.environ.get("UPSTREAM_MAX_CONNECTIONS", "200"))
UPSTREAM_KEEPALIVE = float(os.environ.get("UPSTREAM_KEEPALIVE", "2"))
FANOUT_CONCURRENCY = int(os.environ.get("FANOUT_CONCURRENCY", "10"))
UPSTREAM_MAX_BODY = int(os.environ.get("UPSTREAM_MAX_BODY", str(1024 * 1024)))
UPSTREAM_TRANSPORT_WRAPPER = "lab.upstream_wait.timed"  # the lab's count of upstream calls
BENCHMARK_RESULTS = BASE_DIR / "docs" / "benchmark" / "results.json"  # the run the lab shows
