"""The Vouchers page in Chromium: finance creates a programme from the empty state and grants
vouchers (a refusal shown beside the form), sees the programmes' figures and moves a month's
claim on (confirming first); a tenant user sees their balance and the deduction on their invoice,
also in Chinese. No browser errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from billing.models import Invoice, VoucherClaim, VoucherGrant, VoucherProgram
from billing.services.invoicing import invoice_issue, invoice_run
from billing.services.vouchers import voucher_grant_create, voucher_program_create
from leasing.services import lease_create
from tests.browser.conftest import Console, People
from tests.factories import CardModelFactory, RackFactory, make_server_with_cards
from tests.timing import at

OCTOBER = dt.date(2026, 10, 1)


@pytest.fixture
def redeemed(people: People) -> dict[str, Any]:
    """A 2026 programme (20 %); the tenant granted ¥10,000, with a 2-card long lease whose
    October invoice (issued 1 November) redeemed ¥1,404.00 (3,510 × 2 at 20 %: the price of a
    12-month term)."""
    model = CardModelFactory(
        name="Ascend-910B", hourly_rate=Decimal("7.5000"), monthly_rate=Decimal("3900.0000")
    )
    make_server_with_cards(RackFactory(), model)
    with at("2026-09-20 10:00"):
        program = voucher_program_create(
            actor=None, issuer="成都市 Chengdu", name="2026 算力券", budget=Decimal("50000.00"),
            coverage_rate=Decimal("0.2000"), per_tenant_cap=Decimal("20000.00"),
            valid_from=dt.date(2026, 1, 1), valid_to=dt.date(2026, 12, 31),
            lease_kinds=["long", "short"],
        )  # fmt: skip
        grant = voucher_grant_create(
            actor=None, program=program, tenant=people.tenant, amount=Decimal("10000.00")
        )
        lease_create(
            actor=None, tenant=people.tenant, kind="long", card_model=model, card_count=2,
            start=OCTOBER, term_months=12,
        )  # fmt: skip
    with at("2026-11-01 09:00"):
        assert invoice_run(month=OCTOBER).status == "done"
        invoice = invoice_issue(
            actor=None, invoice=Invoice.objects.get(tenant=people.tenant, month=OCTOBER)
        )
    assert invoice.voucher_deduction == Decimal("1404.00")
    return {"program": program, "grant": grant, "invoice": invoice}


def test_finance_creates_a_programme_and_grants_vouchers(console: Console, people: People) -> None:
    console.login(people.finance.username)
    page = console.page
    page.click("nav.mainnav >> text=Vouchers")
    page.wait_for_url("**/console/billing/vouchers/")
    console.check()
    assert page.get_by_test_id("no-programmes").is_visible()

    console.submit("[data-testid=no-programmes] >> text=Create a programme")
    page.get_by_label("Issuer").fill("宜昌市 Yichang")
    page.get_by_label("Programme name").fill("Yichang compute vouchers")
    page.get_by_label("Budget (¥)").fill("80000")
    page.get_by_label("Share of the bill covered (%)").fill("25")
    page.get_by_label("Per-tenant cap (¥)").fill("30000")
    page.get_by_label("Valid from").fill("2026-01-01")
    page.get_by_label("Valid to (inclusive)").fill("2026-12-31")
    console.check()
    console.submit("[data-testid=create-programme]")
    assert page.get_by_test_id("programme-name").inner_text() == "Yichang compute vouchers"
    created = "Programme “Yichang compute vouchers” created."
    assert page.get_by_role("status").inner_text() == created
    assert page.get_by_test_id("no-grants").is_visible()

    # over the per-tenant cap: refused in words beside the amount, nothing granted
    form = page.get_by_test_id("grant-form")
    form.get_by_label("Tenant").select_option(label="Zhiyuan AI Lab")
    form.get_by_label("Amount (¥)").fill("30000.01")
    console.submit("[data-testid=grant]")
    assert "per-tenant cap of 30000.00" in page.get_by_test_id("grant-error").inner_text()
    assert "At most 30000.00." in page.get_by_test_id("grant-form").inner_text()
    assert not VoucherGrant.objects.exists()

    page.get_by_test_id("grant-form").get_by_label("Amount (¥)").fill("12000")
    console.submit("[data-testid=grant]")
    assert page.get_by_role("status").inner_text() == "¥12,000.00 granted to Zhiyuan AI Lab."
    row = page.get_by_test_id("grant-row")
    assert "Zhiyuan AI Lab" in row.inner_text() and "¥12,000.00" in row.inner_text()
    assert page.get_by_test_id("programme-figures").get_by_test_id("granted").inner_text() == (
        "¥12,000.00"
    )
    assert page.get_by_test_id("left-to-grant").inner_text() == "¥68,000.00"
    program = VoucherProgram.objects.get()
    assert (program.coverage_rate, program.granted) == (Decimal("0.2500"), Decimal("12000.00"))


def test_finance_sees_the_figures_and_submits_a_claim(
    console: Console, people: People, redeemed: dict[str, Any]
) -> None:
    console.login(people.finance.username)
    page = console.page
    console.goto("/console/billing/vouchers/")
    row = page.get_by_test_id("programme-row")
    assert row.get_by_test_id("budget").inner_text() == "¥50,000.00"
    assert row.get_by_test_id("granted").inner_text() == "¥10,000.00"
    assert row.get_by_test_id("redeemed").inner_text() == "¥1,404.00"
    assert row.get_by_test_id("left-to-grant").inner_text() == "¥40,000.00"

    console.submit("[data-testid=programme-row] >> text=2026 算力券")
    claim = page.get_by_test_id("claim-row")
    assert "2026-10" in claim.inner_text()
    assert claim.get_by_test_id("claim-status").inner_text() == "Draft"
    assert claim.get_by_test_id("claim-total").inner_text() == "¥1,404.00"

    console.submit("[data-testid=claim-row] >> [data-testid=open-claim]")
    assert "Zhiyuan AI Lab" in page.get_by_test_id("claim-rows").inner_text()
    assert redeemed["invoice"].number in page.get_by_test_id("claim-rows").inner_text()
    href = page.get_by_test_id("claim-csv").get_attribute("href")
    assert href is not None and href.endswith("month=2026-10&format=csv")

    page.once("dialog", lambda dialog: dialog.dismiss())  # asked first: cancelling sends nothing
    page.get_by_test_id("claim-action").click()
    assert not VoucherClaim.objects.exists()
    page.once("dialog", lambda dialog: dialog.accept())
    console.submit("[data-testid=claim-action]")
    assert page.get_by_role("status").inner_text() == "The claim is now Submitted."
    assert page.get_by_test_id("claim-status").inner_text() == "Submitted"
    assert page.get_by_test_id("claim-action").inner_text() == "Mark reimbursed"
    record = VoucherClaim.objects.get()
    assert (record.status, record.total) == ("submitted", Decimal("1404.00"))


def test_a_tenant_sees_its_balance_also_in_chinese(
    console: Console, people: People, redeemed: dict[str, Any]
) -> None:
    console.login(people.tenant_user.username)
    page = console.page
    page.click("nav.mainnav >> text=Vouchers")
    page.wait_for_url("**/console/billing/vouchers/")
    console.check()
    row = page.get_by_test_id("grant-row")
    assert "2026 算力券" in row.inner_text() and "成都市 Chengdu" in row.inner_text()
    assert row.get_by_test_id("balance").inner_text() == "¥8,596.00"
    deducted = page.get_by_test_id("redemption-row")
    assert redeemed["invoice"].number in deducted.inner_text()
    assert "¥1,404.00" in deducted.inner_text()

    console.submit("form.lang button[value=zh-hans]")
    assert page.locator("h1").first.inner_text() == "您的算力券"
    assert "算力券" in page.locator("nav.mainnav").inner_text()
    headers = page.get_by_test_id("grant-table").locator("th").all_inner_texts()
    assert {"项目", "余额", "有效期"} <= set(headers)

    console.submit("[data-testid=grant-row] >> text=2026 算力券")
    assert page.get_by_test_id("balance").inner_text() == "¥8,596.00"
    assert "已抵扣" in page.get_by_test_id("redemption-row").inner_text()
    console.submit("form.lang button[value=en]")


def test_a_tenant_without_vouchers_is_told_the_next_step(console: Console, people: People) -> None:
    console.login(people.tenant_user.username)
    console.goto("/console/billing/vouchers/")
    assert "ask the operator" in console.page.get_by_test_id("no-vouchers").inner_text()
