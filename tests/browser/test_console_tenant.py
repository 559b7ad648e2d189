"""The tenant's Usage and Invoices pages and terminating a long lease, in Chromium: a tenant
user sees this month's charges, opens an invoice, downloads its PDF, meets the 404 page on
another tenant's invoice, and terminates a long lease after seeing the fee; in Chinese too."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import time_machine
from playwright.sync_api import expect

from billing.models import Invoice
from billing.services.invoicing import invoice_issue, invoice_run
from core import clock
from leasing.models import Lease
from leasing.services import lease_create, lease_termination_quote
from tests.browser.conftest import Console, People
from tests.factories import CardModelFactory, RackFactory, TenantFactory, make_server_with_cards


def _at(day: dt.date, hour: int = 9) -> Any:
    local = dt.datetime.combine(day, dt.time(hour)).replace(tzinfo=clock.operator_tz())
    return time_machine.travel(local, tick=False)


def _world(people: People) -> dict[str, Any]:
    """A long lease of the tenant's from the first of the month before last (so last month is
    invoiced and issued), and another tenant's issued invoice of last month."""
    model = CardModelFactory(
        name="Ascend-910B", hourly_rate=Decimal("7.5000"), monthly_rate=Decimal("3900.0000")
    )
    make_server_with_cards(RackFactory(), model, cards=8)
    this_month = clock.month_first(clock.local_today())
    last_month = clock.add_months(this_month, -1)
    start = clock.add_months(this_month, -2)
    other = TenantFactory(name="Other Co")
    with _at(start, hour=0):
        leases = {
            tenant.pk: lease_create(
                actor=None,
                tenant=tenant,
                kind="long",
                card_model=model,
                card_count=2,
                start=start,
                term_months=12,
            )
            for tenant in (people.tenant, other)
        }
    with _at(this_month, hour=0):  # last month is over: its invoices are issued
        assert invoice_run(month=last_month).status == "done"
        issued = {
            tenant.pk: invoice_issue(
                actor=None, invoice=Invoice.objects.get(tenant=tenant, month=last_month)
            )
            for tenant in (people.tenant, other)
        }
    return {
        "lease": leases[people.tenant.pk],
        "mine": issued[people.tenant.pk],
        "theirs": issued[other.pk],
    }


def test_a_tenant_sees_usage_opens_an_invoice_and_its_pdf_and_terminates_a_long_lease(
    console: Console, people: People
) -> None:
    world = _world(people)
    console.login(people.tenant_user.username)
    page = console.page

    page.click("nav.mainnav >> text=Usage")
    page.wait_for_url("**/console/billing/usage/")
    lines = page.get_by_test_id("line")
    expect(lines).to_have_count(1)
    assert "Long-lease fee" in lines.first.inner_text()
    assert "Ascend-910B" in lines.first.inner_text()
    assert page.get_by_test_id("amount-due").inner_text().startswith("¥")
    console.check()

    page.click("nav.mainnav >> text=Invoices")
    page.wait_for_url("**/console/billing/invoices/")
    rows = page.get_by_test_id("invoice-row")
    expect(rows).to_have_count(1)
    mine = world["mine"]
    assert mine.number in rows.first.inner_text()
    assert f"¥{mine.amount_due:,.2f}" in rows.first.inner_text()
    console.check()

    page.get_by_test_id("invoice-link").click()
    page.wait_for_url(f"**/console/billing/invoices/{mine.pk}/")
    assert mine.number in page.get_by_test_id("invoice-title").inner_text()
    expect(page.get_by_test_id("line")).to_have_count(1)
    console.check()
    href = page.get_by_test_id("pdf-link").get_attribute("href")
    assert href == f"/api/v1/invoices/{mine.pk}/pdf/"
    pdf = page.request.get(console.base_url + href)  # the page's session
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")

    console.goto(f"/console/billing/invoices/{world['theirs'].pk}/", status=404)
    assert page.get_by_role("heading", name="Page not found").is_visible()

    lease = world["lease"]
    page.click("nav.mainnav >> text=Leases")
    page.wait_for_url("**/console/leases/")
    page.locator(f"#lease-{lease.pk}").get_by_test_id("terminate").click()
    fee = page.get_by_test_id("terminate-fee")
    fee.wait_for()
    tomorrow = clock.local_today() + dt.timedelta(days=1)
    expected = lease_termination_quote(lease=lease, effective=tomorrow).fee
    assert fee.inner_text() == f"¥{expected:,.2f}"
    console.check()

    page.get_by_test_id("confirm-terminate").click()
    page.get_by_test_id("terminated").wait_for()
    row = page.locator(f"#lease-{lease.pk}")
    expect(row.get_by_test_id("lease-status")).to_have_text("Terminated")
    expect(row.get_by_test_id("termination-fee")).to_have_text(f"Fee ¥{expected:,.2f}")
    assert row.get_by_test_id("terminate").count() == 0
    console.check()
    lease.refresh_from_db()
    assert (lease.status, lease.termination_fee) == ("terminated", expected)


def test_a_refused_termination_is_shown_in_words(console: Console, people: People) -> None:
    lease = _world(people)["lease"]
    console.login(people.tenant_user.username)
    console.goto("/console/leases/")
    page = console.page
    page.locator(f"#lease-{lease.pk}").get_by_test_id("terminate").click()
    page.get_by_test_id("terminate-fee").wait_for()
    page.fill("#id_effective", clock.local_today().isoformat())
    expect(page.get_by_test_id("terminate-error")).to_have_text(
        "Termination takes effect after today."
    )
    # what it says of the date, beside the date
    expect(page.locator(".terminate p.error")).to_have_text("Not after today.")
    assert page.get_by_test_id("confirm-terminate").count() == 0
    console.check()
    assert Lease.objects.get(pk=lease.pk).status == "active"


def test_no_usage_leads_to_the_leases_page(console: Console, people: People) -> None:
    console.login(people.tenant_user.username)
    console.goto("/console/billing/usage/")
    page = console.page
    assert page.get_by_test_id("no-usage").is_visible()
    console.goto("/console/billing/invoices/")
    assert page.get_by_test_id("no-invoices").is_visible()
    console.goto("/console/billing/usage/")
    with page.expect_navigation():
        page.get_by_test_id("no-usage").get_by_role("link").click()
    assert page.url.endswith("/console/leases/")
    console.check()


def test_the_usage_and_invoices_pages_in_chinese(console: Console, people: People) -> None:
    _world(people)
    console.login(people.tenant_user.username)
    console.goto("/console/billing/usage/")
    console.submit("form.lang button[value=zh-hans]")
    page = console.page
    assert "截至目前的用量和费用" in page.locator("h1").first.inner_text()
    assert "长租租金" in page.get_by_test_id("line").first.inner_text()
    assert "应付金额" in page.get_by_test_id("totals").inner_text()
    page.click("nav.mainnav >> text=发票")
    page.wait_for_url("**/console/billing/invoices/")
    assert page.locator("h1").first.inner_text() == "您的发票"
    assert "已开具" in page.get_by_test_id("invoice-status").first.inner_text()
    console.check()
    page.click("nav.mainnav >> text=租约")
    page.wait_for_url("**/console/leases/")
    page.get_by_test_id("terminate").first.click()
    page.get_by_test_id("terminate-fee").wait_for()
    assert "提前终止违约金" in page.get_by_test_id("terminate-quote").inner_text()
    assert "确认终止并支付" in page.get_by_test_id("confirm-terminate").inner_text()
    console.check()
