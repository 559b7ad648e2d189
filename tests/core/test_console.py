"""The console's foundation without a browser: the money filter, `console_view` (login, role,
tenant scoping), its error pages beside the API's JSON ones, the language rules and the
translations' catalogue (the committed .mo is the .po compiled)."""

from __future__ import annotations

import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse

from core.console import NAV, console_view, current_entry, nav_for, page_roles
from core.roles import Role
from core.templatetags.console import money

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
# the project's catalogue (core's strings) and each app's own (<app>/locale/), which Django finds
CATALOGUES = sorted({PO, *ROOT.glob("*/locale/zh_Hans/LC_MESSAGES/django.po")})


# --- money --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("1234.5"), "¥1,234.50"),
        (Decimal("0"), "¥0.00"),
        (Decimal("999999999999.99"), "¥999,999,999,999.99"),
        (Decimal("-1234.5"), "-¥1,234.50"),
        (Decimal("-0.004"), "¥0.00"),  # rounds to zero: no minus sign
        (Decimal("2.345"), "¥2.35"),  # ROUND_HALF_UP, as core.money
        (Decimal("2.344"), "¥2.34"),
        (Decimal("-2.345"), "-¥2.35"),
        ("1000", "¥1,000.00"),
        (7, "¥7.00"),
        (None, ""),
    ],
)
def test_money_renders_yuan_with_cents_and_separators(value: object, shown: str) -> None:
    assert money(value) == shown


def test_money_refuses_floats() -> None:
    with pytest.raises(TypeError):
        money(1.5)


# --- console_view ---------------------------------------------------------------------------


@console_view(roles=[Role.TENANT])
def _tenant_page(request: HttpRequest, *, tenant: object) -> HttpResponse:
    return HttpResponse(f"tenant={getattr(tenant, 'pk', None)}")


@console_view(roles=[Role.OPERATOR, Role.ADMIN])
def _staff_page(request: HttpRequest, *, tenant: object) -> HttpResponse:
    return HttpResponse(f"tenant={tenant}")


def _request(user: object) -> HttpRequest:
    request = RequestFactory().get("/console/somewhere/?x=1")
    request.user = user  # type: ignore[assignment]
    return request


def test_anonymous_is_sent_to_the_login_page_with_next() -> None:
    response = _tenant_page(_request(AnonymousUser()))
    assert response.status_code == 302
    assert response["Location"] == "/console/login/?next=%2Fconsole%2Fsomewhere%2F%3Fx%3D1"


def test_a_tenant_user_gets_their_own_tenant(tenant_user) -> None:
    response = _tenant_page(_request(tenant_user))
    assert response.status_code == 200
    assert response.content.decode() == f"tenant={tenant_user.tenant_id}"


def test_staff_get_no_tenant(operator, admin_user) -> None:
    for user in (operator, admin_user):
        assert _staff_page(_request(user)).content.decode() == "tenant=None"


def test_another_role_gets_the_console_403_page(tenant_user, finance, admin_user) -> None:
    refused = [(_staff_page, tenant_user), (_staff_page, finance), (_tenant_page, admin_user)]
    for view, user in refused:
        response = view(_request(user))
        assert response.status_code == 403
        assert "Your role may not open this page." in response.content.decode()


def test_console_view_refuses_unknown_roles() -> None:
    with pytest.raises(ValueError, match="unknown or no roles"):
        console_view(roles=["root"])
    with pytest.raises(ValueError, match="unknown or no roles"):
        console_view(roles=[])


def test_the_nav_by_role() -> None:
    keys = {role: [item.key for item in nav_for(role)] for role in Role.values}
    assert keys[Role.TENANT] == [
        "leases", "usage", "budget", "invoices", "vouchers", "billing-profile", "webhooks"
    ]  # fmt: skip
    assert keys[Role.OPERATOR] == ["fleet", "sites", "business-cases", "events"]
    assert keys[Role.FINANCE] == ["vouchers", "month-end", "fapiao", "revenue", "events"]
    # admin has no tenant: every page but the tenant-only ones
    assert keys[Role.ADMIN] == [
        "vouchers", "fleet", "sites", "business-cases", "month-end", "fapiao", "revenue", "events"
    ]  # fmt: skip
    assert nav_for(None) == []


def test_an_entry_is_shown_to_the_roles_its_page_admits() -> None:
    for item in NAV:
        shown_to = {role for role in Role.values if item in nav_for(role)}
        assert shown_to == page_roles(item.url_name), item.key


@pytest.mark.parametrize(
    ("path", "current"),
    [
        ("/console/fleet/", "fleet"),
        ("/console/fleet/sites/3/", "sites"),  # under Sites, not Fleet: the longest address
        ("/console/fleet/racks/3/", "fleet"),
        ("/console/staff/", None),
    ],
)
def test_the_current_entry_is_the_page_or_the_one_it_lies_under(path: str, current: str) -> None:
    assert current_entry(nav_for(Role.ADMIN), path) == current


# --- pages through the whole stack ---------------------------------------------------------


def _client_for(user: object) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_home_redirects_each_role_to_its_home(tenant_user, operator, finance, admin_user) -> None:
    assert Client().get("/console/")["Location"] == reverse("console:login")
    for user, home in [
        (tenant_user, "/console/tenant/"),
        (operator, "/console/staff/"),
        (finance, "/console/staff/"),
        (admin_user, "/console/staff/"),
    ]:
        client = _client_for(user)
        response = client.get("/console/")
        assert response["Location"] == home
        page = client.get(home).content.decode()
        assert user.username in page
    tenant_home = _client_for(tenant_user).get("/console/tenant/").content.decode()
    assert tenant_user.tenant.name in tenant_home


@pytest.mark.django_db
def test_times_are_shown_in_operator_time(operator, settings) -> None:
    settings.OPERATOR_TIME_ZONE = "Asia/Shanghai"
    page = _client_for(operator).get("/console/staff/").content.decode()
    assert "(Asia/Shanghai)" in page


@pytest.mark.django_db
def test_unknown_console_paths_get_the_console_404_and_the_api_stays_json(operator) -> None:
    client = _client_for(operator)
    page = client.get("/console/no-such-page/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")
    assert "There is no such page in the console." in page.content.decode()
    api = client.get("/api/v1/no-such-thing/")
    assert api.status_code == 404
    assert api.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_a_locked_out_console_login_gets_a_page_not_json(make_user, settings) -> None:
    settings.AXES_FAILURE_LIMIT = 2
    user = make_user(Role.OPERATOR)
    client = Client()
    for _ in range(2):
        client.post("/console/login/", {"username": user.username, "password": "wrong"})
    right = {"username": user.username, "password": "secret-pass"}
    response = client.post("/console/login/", right)
    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/html")
    assert "Too many failed logins" in response.content.decode()


@pytest.mark.django_db
def test_the_console_follows_accept_language_and_the_api_stays_english(operator) -> None:
    client = _client_for(operator)
    page = client.get("/console/staff/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert "退出登录" in page.content.decode()
    assert 'lang="zh-hans"' in page.content.decode()
    api = Client().get("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert api.status_code == 401
    assert "Authentication credentials were not provided." in api.json()["error"]["message"]


@pytest.mark.django_db
def test_htmx_requests_carry_the_csrf_token(operator) -> None:
    page = _client_for(operator).get("/console/staff/").content.decode()
    assert 'hx-headers=\'{"X-CSRFToken": "' in page
    assert "core/vendor/htmx.min.js" in page


# --- translations -----------------------------------------------------------------------------


def _catalogue(mo: Path) -> dict[str, str]:
    from gettext import GNUTranslations

    with mo.open("rb") as handle:
        return dict(GNUTranslations(handle)._catalog)


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda po: str(po.relative_to(ROOT)))
def test_the_committed_mo_is_the_po_compiled(po: Path, tmp_path: Path) -> None:
    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "msgfmt (gettext) is needed to check the catalogue"
    fresh = tmp_path / "django.mo"
    subprocess.run([msgfmt, "--check", "-o", str(fresh), str(po)], check=True)
    assert _catalogue(fresh) == _catalogue(po.with_suffix(".mo")), (
        f"run: msgfmt -o {po.with_suffix('.mo')} {po}"
    )


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda po: str(po.relative_to(ROOT)))
def test_every_console_string_is_translated(po: Path) -> None:
    # an empty msgstr (not the header's, which continues on the next line) is untranslated;
    # a fuzzy one (makemessages' guess) is not used by Django: translate it and drop the flag
    empty = r'^msgid "(.*)"\n(?:msgid_plural .*\n)?msgstr(?:\[0\])? ""\n(?!")'
    assert re.findall(empty, po.read_text(), re.M) == []
    assert "#, fuzzy" not in po.read_text()


def test_no_string_is_translated_two_ways() -> None:
    """The project's catalogue wins over an app's (LOCALE_PATHS come first): a msgid that two
    catalogues translate differently shows the project's words on the app's page."""
    seen: dict[str, tuple[str, Path]] = {}
    clashes = []
    for po in CATALOGUES:
        for msgid, msgstr in _catalogue(po.with_suffix(".mo")).items():
            if not msgid or not isinstance(msgid, str):
                continue
            if msgid in seen and seen[msgid][0] != msgstr:
                clashes.append((msgid, seen[msgid], (msgstr, po)))
            seen.setdefault(msgid, (msgstr, po))
    assert clashes == []


def test_the_project_catalogue_is_loaded() -> None:
    assert _catalogue(MO)["Log in"] == "登录"


def test_the_printed_demo_logins_are_the_seeded_users() -> None:
    """scripts/stack.py prints accounts.demo_logins (no Django needed there); seed creates
    these users with that password."""
    from accounts import demo
    from accounts.demo_logins import DEMO_PASSWORD, DEMO_USERNAMES

    tenants = tuple(f"tenant{index}" for index in range(1, len(demo.DEMO_TENANTS) + 1))
    assert tenants + tuple(username for username, _ in demo.DEMO_STAFF) == DEMO_USERNAMES
    assert demo.DEMO_PASSWORD == DEMO_PASSWORD
