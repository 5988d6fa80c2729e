"""Browser tests: Debian's Chromium driven by Playwright's sync API against `live_server`.

Joining the suite: put the new pages' test in tests/browser/test_<app>.py (these fixtures are
seen by every module in this folder):

    from tests.browser.conftest import visit

    def test_my_list(staff_page):
        page = visit(staff_page, "/admin/myapp/thing/", "myapp-thing-list")
        assert page.locator("#result_list").is_visible()

`staff_page` is a 1440x900 page logged in as a superuser on `live_server`; `visit()` opens a
path, fails on an HTTP error, on any console error or uncaught page error, and keeps a full-page
screenshot as `<ARTIFACTS>/<name>.png` where ARTIFACTS is `$ECHARGO_ARTIFACTS` or
`tests/browser/artifacts/` (git-ignored).

Never `playwright install`: the browser is /usr/bin/chromium (apt package `chromium`, installed by
.ci/run). Where it or the Python package is missing the tests are skipped with the reason.

Why DJANGO_ALLOW_ASYNC_UNSAFE: Playwright's sync API runs an asyncio loop in the test's own thread
(on a greenlet), so Django's async-safety check sees a "running event loop" and refuses ORM calls
made by the test itself, although they are plain synchronous calls in a thread of their own — the
live server answers the browser from its own thread. The variable is set only while a browser
module's Playwright runs (module-scoped fixture), never for the rest of the suite.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

CHROMIUM = os.environ.get("ECHARGO_CHROMIUM", "/usr/bin/chromium")
VIEWPORT = {"width": 1440, "height": 900}
ARTIFACTS = Path(
    os.environ.get("ECHARGO_ARTIFACTS") or Path(__file__).resolve().parent / "artifacts"
)


def _skip_reason() -> str | None:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -r requirements-dev.txt)"
    return None


@pytest.fixture(scope="module")
def browser(django_db_setup, django_db_blocker) -> Iterator[Any]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    # Module scope: the loop lives only while this module's tests run, then the rest of the
    # suite sees a thread without a loop and without the variable again.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            # Containers and CI run as root without a user namespace sandbox.
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        yield launched
        launched.close()


class ConsoleErrors(list):
    """Every console error and uncaught exception the page produced, in order."""


@pytest.fixture
def staff_user(db):
    return get_user_model().objects.create_superuser("staff", "staff@echargo.example", "pw")


@pytest.fixture
def staff_page(browser, live_server, staff_user) -> Iterator[Any]:
    client = Client()
    client.force_login(staff_user)
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url)
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page = context.new_page()
    errors = ConsoleErrors()

    def on_console(msg: Any) -> None:
        # The browser asks for /favicon.ico by itself; the admin has none and that is not an
        # error of the page under test.
        if msg.type == "error" and not msg.location.get("url", "").endswith("/favicon.ico"):
            errors.append(f"console: {msg.text} at {msg.location.get('url')}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.console_errors = errors
    yield page
    context.close()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def visit(page: Any, path: str, name: str) -> Any:
    """Open `path`, keep a screenshot named `name`, fail on HTTP or console errors."""
    response = page.goto(path, wait_until="load")
    assert response is not None
    assert response.status < 400, f"{path} answered HTTP {response.status}"
    page.wait_for_load_state("networkidle")
    screenshot(page, name)
    assert not page.console_errors, f"{path}: {list(page.console_errors)}"
    return page


def assert_no_console_errors(page: Any) -> None:
    """After an interaction (submit, click): the page logged no error since it opened."""
    assert not page.console_errors, list(page.console_errors)


def page_width(page: Any) -> int:
    """How wide the document is: more than 1440 means staff scroll sideways."""
    return int(page.evaluate("document.documentElement.scrollWidth"))
