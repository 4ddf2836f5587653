"""What the browser tests share: headless Debian Chromium with the machine's flags, and where screenshots go."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import pytest

SHOTS = Path(os.environ.get("GUANXI_SCREENSHOTS", "test-results/screenshots"))
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _retried(screenshot: Any) -> Any:
    """`Page.screenshot`, taken once more after Chromium's occasional "Unable to capture screenshot" (seen with
    both test passes running side by side on two cores); any other error, or a second failure, still fails."""
    from playwright.sync_api import Error

    @functools.wraps(screenshot)
    def take(page: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return screenshot(page, *args, **kwargs)
        except Error as exc:
            if "Unable to capture screenshot" not in str(exc):
                raise
            page.wait_for_timeout(500)
            return screenshot(page, *args, **kwargs)

    return take


@pytest.fixture
def browser(chromium, monkeypatch):
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread
    from playwright.sync_api import Page, sync_playwright

    monkeypatch.setattr(Page, "screenshot", _retried(Page.screenshot))

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=FLAGS)
        yield browser
        browser.close()
