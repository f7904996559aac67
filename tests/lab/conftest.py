"""The browser the lab's page tests share: Debian's chromium, driven by Playwright.

Playwright never downloads a browser here: it launches the system's chromium through
`executable_path`. Without one the browser tests are skipped with a reason that `make test`
prints, except under CI (the CI variable is set), where a missing browser fails them.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = ["--no-sandbox", "--disable-background-networking"]


def missing(what: str) -> None:
    """Skip the test for want of `what`, or fail it under CI, where nothing may be missing."""
    reason = f"browser tests did not run: {what}"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run them", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        missing(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()
