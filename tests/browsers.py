"""The browser the lab's page tests share: Debian's chromium, driven by Playwright.

Playwright never downloads a browser here: it launches the system's chromium through
`executable_path`. Without one the browser tests are skipped with a reason that pytest
prints, except under CI (the CI variable is set), where a missing browser fails them.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = ["--no-sandbox", "--disable-background-networking"]
ROOT = Path(__file__).resolve().parent.parent
# axe-core from the npm registry (.ci/run installs it into .cache/axe).
AXE = Path(os.environ.get("AXE_CORE", ROOT / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"))
# What a reader cannot get past; axe's "moderate" and "minor" findings are advice.
BLOCKING = {"serious", "critical"}


def missing(what: str) -> None:
    """Skip the test for want of `what`, or fail it under CI, where nothing may be missing."""
    reason = f"browser tests did not run: {what}"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run them", pytrace=False)
    pytest.skip(reason)


class Tab:
    """A browser page that keeps every console error and uncaught exception it sees.

    Chromium also logs each 4xx/5xx answer a fetch() got as a console error; for the demo
    endpoints those are results the page reports (a pitfall's wrong way may fail on purpose),
    and the tests check the statuses themselves.
    """

    def __init__(self, context):
        self.page = context.new_page()
        self.errors: list[str] = []
        self.page.on("console", self.on_console)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def on_console(self, message) -> None:
        if message.type != "error":
            return
        failed_demo_call = (
            message.text.startswith("Failed to load resource")
            and "/demo/" in urlsplit(message.location.get("url", "")).path
        )
        if not failed_demo_call:
            self.errors.append(message.text)


def blocking_violations(page, axe_source: str) -> list[str]:
    """Run axe-core on the page; return its serious and critical violations, one line each."""
    page.add_script_tag(content=axe_source)
    violations = page.evaluate(
        """async () => {
            const results = await axe.run(document, {resultTypes: ["violations"]});
            return results.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(" ")),
            }));
        }"""
    )
    return [
        f"{v['impact']} {v['id']} ({v['help']}): {', '.join(v['nodes'][:5])}"
        for v in violations
        if v["impact"] in BLOCKING
    ]
