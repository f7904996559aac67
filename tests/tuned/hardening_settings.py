"""The tuned profile's settings, with the URLconf of tests/tuned/test_hardening.py's server."""

from tuned.settings import *  # noqa: F403

ROOT_URLCONF = "tests.tuned.hardening_urls"
