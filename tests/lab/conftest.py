"""The browser fixtures the lab's page tests share (tests/browsers.py has the rest)."""

import pytest

from tests.browsers import CHROMIUM, LAUNCH_ARGS, Tab, missing


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        missing(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    # Imported here, not at the top: Playwright takes a second or two to import, which
    # `make test`, running no browser test, need not pay.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def tab(browser):
    """A 1280 px wide page that keeps its console errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield Tab(context)
    context.close()
