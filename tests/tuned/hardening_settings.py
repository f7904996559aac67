"""The project's settings, with the URLconf of tests/tuned/test_hardening.py's server."""

from asyncdemo.settings import *  # noqa: F403

ROOT_URLCONF = "tests.tuned.hardening_urls"
