"""Django as it ships (asyncdemo.settings), with the URLconf of tests/tuned/hardening_urls.py."""

from asyncdemo.settings import *  # noqa: F403

ROOT_URLCONF = "tests.tuned.hardening_urls"
