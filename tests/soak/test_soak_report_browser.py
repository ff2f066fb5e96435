"""report.html in a real headless browser: it renders, and it asks the network for nothing.

Skipped cleanly without Playwright (``pip install -e '.[report-test]'``) or without a browser.
The browser is the system's Chromium when there is one (Debian: ``apt-get install chromium``),
else Playwright's own download if ``playwright install chromium`` was run.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from soak_testkit import sessions, write_run

from realtime_harness.soak.report import write_report
from realtime_harness.soak.results import SESSIONS_FILE

sync_api = pytest.importorskip("playwright.sync_api")

# No first-run work, no background fetches of its own (component updates, sync, field trials):
# any request the page log sees must come from the page.
_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _system_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(
                executable_path=_system_chromium(), args=_ARGS, timeout=60_000
            )
        except sync_api.Error as exc:
            pytest.skip(f"no usable Chromium for Playwright: {str(exc).splitlines()[0]}")
        try:
            yield launched
        finally:
            launched.close()


def _open(browser: Any, path: Path) -> tuple[Any, list[str], list[str]]:
    """Open ``path``; return the page, every URL it requested and every console message."""
    page = browser.new_page()
    requests: list[str] = []
    messages: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    page.goto(path.as_uri(), wait_until="load", timeout=30_000)
    return page, requests, messages


def test_the_report_renders_in_a_browser_and_requests_nothing(browser: Any, tmp_path: Path) -> None:
    write_run(tmp_path, sessions(80), fail_if=("ttfa_p95>100ms",))
    report = write_report(tmp_path)
    page, requests, messages = _open(browser, report)
    try:
        assert requests == [report.as_uri()]
        assert messages == []  # no script errors, no refused loads
        assert page.title().startswith("realtime-harness soak")
        assert page.locator("h2").count() == 7
        charts = page.locator("svg")
        assert charts.count() >= 8
        for i in range(charts.count()):
            box = charts.nth(i).bounding_box()
            assert box is not None
            assert box["width"] > 100
            assert box["height"] > 100
        assert page.locator("polyline").count() > 0
        assert page.get_by_text("thresholds crossed: the run fails").is_visible()
        assert page.locator("code", has_text="sess_0").first.is_visible()
    finally:
        page.close()


def test_a_killed_runs_report_renders_in_a_browser(browser: Any, tmp_path: Path) -> None:
    write_run(tmp_path, sessions(12), finish=False)
    with (tmp_path / SESSIONS_FILE).open("ab") as out:
        out.write(b'{"record": "sess')
    report = write_report(tmp_path)
    page, requests, messages = _open(browser, report)
    try:
        assert requests == [report.as_uri()]
        assert messages == []
        assert page.get_by_text("Partial results").is_visible()
        row = page.locator("tr", has_text="sessions finished")
        assert row.inner_text().split() == ["sessions", "finished", "12"]
    finally:
        page.close()
