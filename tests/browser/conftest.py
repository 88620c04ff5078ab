"""Fixtures for browser tests: Debian Chromium driven by Playwright, logged in through the form."""

import shutil
from pathlib import Path

import pytest

from tests.conftest import PASSWORD

REPO = Path(__file__).resolve().parents[2]
VIEWER_BUNDLE = REPO / "frontend" / "dist" / "viewer.js"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 900}
TIMEOUT_MS = 30_000


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for the whole session (Playwright gives it a temporary profile)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian Chromium is not installed; run `apt-get install -y chromium`.")
    if not VIEWER_BUNDLE.exists():
        pytest.fail(f"{VIEWER_BUNDLE} is missing; build it with `make setup` (npm ci && npm run build in frontend/).")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread, so Django would reject the ORM
    # calls that fixtures and tests make while the browser runs.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    """A tab in a fresh browser context (no cookies); uncaught page errors go to `page.errors`."""
    context = chromium.new_context(viewport=VIEWPORT)
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    tab.errors = []
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    yield tab
    context.close()


def log_in(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def open_viewer(page, live_server, series, suffix=""):
    """Load the viewer page and wait until the image, ROIs and joints are loaded."""
    page.goto(f"{live_server.url}/series/{series.pk}/{suffix}")
    page.wait_for_selector("#pannusmap-viewer[data-state=ready]")
    return page.locator(".pm-viewport")
