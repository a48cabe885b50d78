"""Pages in a real browser: headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

`open_browser(live_server, client)` signs the browser in with a session made by Django's test client
(copied as a cookie) and yields a Page that records console errors, so tests can assert that no
Content-Security-Policy violation (logged as a console error) happened. Tests skip, saying why, when
Chromium or Playwright is missing. Screenshots go to SCREENSHOTS (var/screenshots by default).
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS", Path(__file__).resolve().parent.parent / "var" / "screenshots"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]


def require_chromium() -> None:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)")
    pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (requirements/dev.txt)")


@contextmanager
def open_browser(live_server, client) -> Iterator:
    """A Page signed in as the test client's user. ORM calls must happen before or after (Playwright's sync
    API runs an event loop in this thread, where Django refuses database access)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    cookie = client.cookies[next(iter(client.cookies))]
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
            page = context.new_page()
            page.console_errors = []
            page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
            page.on("pageerror", lambda e: page.console_errors.append(str(e)))
            yield page
        finally:
            browser.close()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
