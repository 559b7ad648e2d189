"""The console in a real browser: Debian's Chromium (/usr/bin/chromium) driven by Playwright,
against pytest-django's `live_server` (a transactional database: what a test writes is there for
the server's thread, and flushed after it).

Every test gets a fresh browser context (no cookies carried over) and the `console` fixture: it
navigates, screenshots every page it lands on (var/artefacts/screenshots/<test>-<n>.png), and
fails the test on any browser console error or uncaught page error. No browser is downloaded:
when /usr/bin/chromium is missing the tests fail (`make test` installs the Debian package).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from accounts.models import Tenant, User
from core.roles import Role
from tests.factories import TenantFactory, UserFactory

# Playwright's sync API runs an event loop in the test's thread; the test's own ORM calls (set-up
# through factories) are still plain synchronous ones. Set for the whole session: the browser is
# session-scoped, so its loop outlives the browser tests and later tests' ORM calls meet it too.
# Processes that tests start as production ones must not inherit it (`check --deploy` refuses
# it): tests/core/test_security_settings.py drops every DJANGO_ variable.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
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
SCREENSHOTS = ROOT / "var" / "artefacts" / "screenshots"
PASSWORD = "secret-pass"  # tests.factories.UserFactory's


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's Chromium "
            "(`make test` installs it: apt-get install chromium)",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@dataclass
class Console:
    """One test's browser tab on the live server."""

    page: Page
    base_url: str
    name: str
    errors: list[str] = field(default_factory=list)
    shots: list[Path] = field(default_factory=list)

    def check(self) -> None:
        """Screenshot the page as it stands; fail on any browser error so far."""
        self.page.wait_for_load_state("load")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.name}-{len(self.shots) + 1}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)
        assert self.errors == [], f"browser errors on {self.page.url}: {self.errors}"

    def goto(self, path: str, *, status: int = 200) -> Any:
        """Open `path`; its answer must have `status`. Chromium logs a page answered with an
        error status as a console error: that one error, and only for this page, is expected."""
        url = self.base_url + path
        response = self.page.goto(url)
        assert response is not None and response.status == status, (path, response)
        if status >= 400:
            expected = (
                "console.error: Failed to load resource: "
                f"the server responded with a status of {status} "
            )
            self.errors[:] = [
                e for e in self.errors if not (e.startswith(expected) and e.endswith(f"@ {url}"))
            ]
        self.check()
        return response

    def submit(self, selector: str) -> None:
        """Click a form's button and wait for the page it leads to."""
        with self.page.expect_navigation():
            self.page.click(selector)
        self.check()

    def login(self, username: str, password: str = PASSWORD) -> None:
        self.goto("/console/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        self.submit("form button.primary")


@pytest.fixture
def console(
    browser: Browser, live_server: Any, request: pytest.FixtureRequest
) -> Iterator[Console]:
    context = browser.new_context(
        locale="en-US", viewport={"width": 1366, "height": 800}, timezone_id="UTC"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    tab = Console(page=page, base_url=live_server.url, name=name)
    page.on(
        "console",
        lambda message: (
            tab.errors.append(
                f"console.{message.type}: {message.text} @ {message.location.get('url', '')}"
            )
            if message.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: tab.errors.append(f"page error: {error}"))
    yield tab
    errors = list(tab.errors)
    context.close()
    if errors:
        pytest.fail(f"browser errors: {errors}")


@dataclass
class People:
    tenant: Tenant
    tenant_user: User
    operator: User
    finance: User
    admin: User


@pytest.fixture
def people(transactional_db: None) -> People:
    tenant = TenantFactory(name="Zhiyuan AI Lab")
    return People(
        tenant=tenant,
        tenant_user=UserFactory(
            username="li.na", first_name="Na", last_name="Li", role=Role.TENANT, tenant=tenant
        ),
        operator=UserFactory(username="op.wang", role=Role.OPERATOR),
        finance=UserFactory(username="fin.zhao", role=Role.FINANCE),
        admin=UserFactory(username="root.chen", role=Role.ADMIN),
    )
