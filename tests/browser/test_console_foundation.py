"""The console's foundation in Chromium: logging in through the form as each role, a wrong
password, a page of another role, an unknown page, the language switch and logging out."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Console, People


@pytest.mark.parametrize(
    ("who", "home", "role", "shown"),
    [
        ("tenant_user", "/console/tenant/", "Tenant user", "Na Li"),
        ("operator", "/console/staff/", "Operator", "op.wang"),
        ("finance", "/console/staff/", "Finance", "fin.zhao"),
        ("admin", "/console/staff/", "Admin", "root.chen"),
    ],
)
def test_each_role_logs_in_and_lands_on_its_home(
    console: Console, people: People, who: str, home: str, role: str, shown: str
) -> None:
    user = getattr(people, who)
    console.login(user.username)
    page = console.page
    assert page.url == console.base_url + home
    assert shown in page.get_by_test_id("who").inner_text()
    assert page.get_by_test_id("home-user").inner_text() == user.username
    assert page.get_by_test_id("home-role").inner_text() == role
    nav = page.locator("nav.mainnav").inner_text()
    if who == "tenant_user":
        assert page.get_by_test_id("home-tenant").inner_text() == "Zhiyuan AI Lab"
        assert "Zhiyuan AI Lab" in page.get_by_test_id("who").inner_text()
        assert "Leases" in nav and "Fleet" not in nav
    elif who == "operator":
        assert "Fleet" in nav and "Leases" not in nav and "Month end" not in nav
    elif who == "finance":
        assert "Month end" in nav and "Fleet" not in nav
    else:
        assert all(label in nav for label in ("Fleet", "Month end", "Revenue"))
        assert "Leases" not in nav  # a tenant's page: admin has no tenant
    assert "Operator time" in page.locator("footer").inner_text()


def test_a_wrong_password_shows_an_error(console: Console, people: People) -> None:
    console.login(people.operator.username, password="not-the-password")
    page = console.page
    assert page.url.endswith("/console/login/")
    assert page.get_by_role("alert").inner_text() == "Wrong username or password."
    assert page.input_value("#id_username") == people.operator.username


def test_an_anonymous_visit_leads_to_the_login_and_back(console: Console, people: People) -> None:
    console.goto("/console/staff/")  # 200: the login page it redirects to
    assert console.page.url.endswith("/console/login/?next=%2Fconsole%2Fstaff%2F")
    console.page.fill("#id_username", people.finance.username)
    console.page.fill("#id_password", "secret-pass")
    console.submit("form button.primary")
    assert console.page.url == console.base_url + "/console/staff/"


def test_a_tenant_opening_a_staff_page_gets_the_403_page(console: Console, people: People) -> None:
    console.login(people.tenant_user.username)
    console.goto("/console/staff/", status=403)
    assert console.page.get_by_role("heading").inner_text() == "Not allowed"
    assert "Na Li" in console.page.get_by_test_id("who").inner_text()  # still the console layout


def test_an_unknown_console_page_gets_the_404_page(console: Console, people: People) -> None:
    console.login(people.operator.username)
    console.goto("/console/no-such-page/", status=404)
    assert console.page.get_by_role("heading").inner_text() == "Page not found"


def test_the_language_switch_shows_chinese(console: Console, people: People) -> None:
    console.login(people.tenant_user.username)
    console.submit("form.lang button[value=zh-hans]")
    page = console.page
    assert page.url == console.base_url + "/console/tenant/"
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    nav = page.locator("nav.mainnav").inner_text()
    assert "租约" in nav and "发票" in nav
    assert page.get_by_test_id("home-role").inner_text() == "租户用户"
    assert page.get_by_role("button", name="退出登录").is_visible()
    assert page.locator("form.lang").inner_text().split() == ["English", "简体中文"]  # own names
    console.submit("form.lang button[value=en]")
    assert "Leases" in page.locator("nav.mainnav").inner_text()


def test_logout(console: Console, people: People) -> None:
    console.login(people.admin.username)
    console.submit("text=Log out")
    assert console.page.url == console.base_url + "/console/login/"
    assert console.page.get_by_role("status").inner_text() == "You are logged out."
    console.goto("/console/staff/")
    assert "/console/login/" in console.page.url


def test_a_browser_error_fails_the_test(console: Console, people: People) -> None:
    """The harness itself: an uncaught script error on a page is caught by `check`."""
    console.login(people.operator.username)
    with console.page.expect_event("pageerror"):
        console.page.evaluate("setTimeout(() => { throw new Error('boom from the page'); }, 0)")
    with pytest.raises(AssertionError, match="boom from the page"):
        console.check()
    console.errors.clear()  # seen: the teardown would fail the test on it otherwise
