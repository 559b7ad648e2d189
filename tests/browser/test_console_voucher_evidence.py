"""Claim evidence, programme edit and close, grant revoke in Chromium: finance opens the claim of
a programme that claims paid invoices only (empty until the invoice is paid, then a row with the
tenant's tax id, the fapiao number, the lease, card-hours and the payment), edits the programme
(a budget below what is granted refused beside the field), revokes a grant after seeing what it
releases and closes the programme (confirming first); the claim page in Chinese. No browser
errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from billing.models import Invoice, VoucherGrant, VoucherProgram
from billing.services.invoicing import invoice_issue, invoice_pay, invoice_run
from billing.services.vouchers import voucher_grant_create, voucher_program_create
from leasing.services import lease_create
from tests.browser.conftest import Console, People
from tests.factories import CardModelFactory, RackFactory, make_server_with_cards
from tests.timing import at

OCTOBER = dt.date(2026, 10, 1)
FAPIAO = "24442000000012345678"


@pytest.fixture
def claimed(people: People) -> dict[str, Any]:
    """A 2026 programme (20 %) claiming paid invoices only; the tenant granted ¥10,000, with a
    2-card long lease whose October invoice (issued 1 November, fapiao recorded) redeemed
    ¥1,404.00 (3,510 × 2 at 20 %)."""
    model = CardModelFactory(
        name="Ascend-910B", domestic=True, hourly_rate=Decimal("7.5000"),
        monthly_rate=Decimal("3900.0000"),
    )  # fmt: skip
    make_server_with_cards(RackFactory(), model)
    people.tenant.tax_id = "91510100MA6CXXXX1K"
    people.tenant.save()
    with at("2026-09-20 10:00"):
        program = voucher_program_create(
            actor=None, issuer="成都市 Chengdu", name="2026 算力券", budget=Decimal("50000.00"),
            coverage_rate=Decimal("0.2000"), per_tenant_cap=Decimal("20000.00"),
            valid_from=dt.date(2026, 1, 1), valid_to=dt.date(2026, 12, 31),
            lease_kinds=["long", "short"], requires_payment=True,
        )  # fmt: skip
        grant = voucher_grant_create(
            actor=None, program=program, tenant=people.tenant, amount=Decimal("10000.00")
        )
        lease = lease_create(
            actor=None, tenant=people.tenant, kind="long", card_model=model, card_count=2,
            start=OCTOBER, term_months=12,
        )  # fmt: skip
    with at("2026-11-01 09:00"):
        assert invoice_run(month=OCTOBER).status == "done"
        invoice = invoice_issue(
            actor=None, invoice=Invoice.objects.get(tenant=people.tenant, month=OCTOBER)
        )
    Invoice.objects.filter(pk=invoice.pk).update(
        fapiao_number=FAPIAO, fapiao_issued_on=dt.date(2026, 11, 2)
    )
    assert invoice.voucher_deduction == Decimal("1404.00")
    return {"program": program, "grant": grant, "invoice": invoice, "lease": lease}


def test_finance_reads_the_evidence_edits_revokes_and_closes(
    console: Console, people: People, claimed: dict[str, Any]
) -> None:
    invoice = claimed["invoice"]
    console.login(people.finance.username)
    page = console.page
    console.goto("/console/billing/vouchers/")
    console.submit("[data-testid=programme-row] >> text=2026 算力券")
    assert page.get_by_test_id("requires-payment").inner_text() == "Paid invoices only"

    # unpaid: the claim leaves the redemption out and says why
    page.get_by_test_id("claim-month-form").get_by_label("Month").fill("2026-10")
    console.submit("[data-testid=open-month]")
    assert "paid in full" in page.get_by_test_id("no-redemptions").inner_text()

    with at("2026-11-20 10:00"):
        invoice_pay(
            actor=None, invoice=invoice, paid_on=dt.date(2026, 11, 18), reference="CMB-2026-1118"
        )
    page.reload()
    console.check()
    row = page.get_by_test_id("claim-line").inner_text()
    # October has 31 days: 2 cards × 744 h = 1,488 card-hours
    shown = [
        "Zhiyuan AI Lab", "91510100MA6CXXXX1K", invoice.number, FAPIAO,
        f"#{claimed['lease'].pk}", "Long lease", "Ascend-910B", "domestic",
        "2026-10-01 – 2027-10-01", "12 months", "1488", "¥1,404.00", "2026-11-18", "CMB-2026-1118",
    ]  # fmt: skip
    assert [item for item in shown if item not in row] == []
    assert page.get_by_test_id("claim-total").inner_text() == "¥1,404.00"
    assert "format=csv" in (page.get_by_test_id("claim-csv").get_attribute("href") or "")

    # edit: a budget below what is granted is refused beside the field, nothing changes
    page.click("nav.mainnav >> text=Vouchers")
    page.wait_for_url("**/console/billing/vouchers/")
    console.submit("[data-testid=programme-row] >> text=2026 算力券")
    console.submit("[data-testid=edit-programme]")
    page.get_by_label("Budget (¥)").fill("9999.99")
    console.submit("[data-testid=save-programme]")
    assert "At least 10000.00" in page.get_by_test_id("programme-edit-form").inner_text()
    assert VoucherProgram.objects.get().budget == Decimal("50000.00")
    page.get_by_label("Budget (¥)").fill("30000")
    page.get_by_label("Issuer").fill("四川省 Sichuan")
    console.submit("[data-testid=save-programme]")
    assert page.get_by_role("status").inner_text() == "Programme saved."
    assert page.get_by_test_id("budget").inner_text() == "¥30,000.00"

    # revoke: the page says what goes back to the budget (10,000.00 − 1,404.00)
    console.submit("[data-testid=grant-row] >> [data-testid=revoke-grant]")
    assert page.get_by_test_id("released").inner_text() == "¥8,596.00"
    page.get_by_label("Reason").fill("moved out of Chengdu")
    console.submit("[data-testid=revoke]")
    status = "Grant revoked: ¥8,596.00 went back to the programme's budget."
    assert page.get_by_role("status").inner_text() == status
    assert VoucherGrant.objects.get().revoked_at is not None
    assert page.get_by_test_id("released").inner_text() == "¥8,596.00"  # the grant page
    console.submit(".crumbs >> text=2026 算力券")
    assert page.get_by_test_id("granted").inner_text() == "¥1,404.00"
    assert page.get_by_test_id("grant-row").get_by_test_id("revoked").is_visible()

    # close: asked first; cancelling sends nothing
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_test_id("close-programme").click()
    assert VoucherProgram.objects.get().closed_at is None
    page.once("dialog", lambda dialog: dialog.accept())
    console.submit("[data-testid=close-programme]")
    assert "no new grants" in page.get_by_role("status").inner_text()
    assert page.get_by_test_id("closed-note").is_visible()
    assert page.get_by_test_id("no-grant-form").is_visible()
    assert VoucherProgram.objects.get().closed_at is not None


def test_the_claim_evidence_in_chinese(
    console: Console, people: People, claimed: dict[str, Any]
) -> None:
    with at("2026-11-20 10:00"):
        invoice_pay(
            actor=None, invoice=claimed["invoice"], paid_on=dt.date(2026, 11, 18), reference="R-1"
        )
    console.login(people.finance.username)
    page = console.page
    console.goto(
        f"/console/billing/vouchers/programmes/{claimed['program'].pk}/claim/?month=2026-10"
    )
    console.submit("form.lang button[value=zh-hans]")
    headers = set(page.get_by_test_id("claim-rows").locator("th").all_inner_texts())
    assert {"租约", "卡·时", "补贴金额"} <= headers
    row = page.get_by_test_id("claim-line").inner_text()
    assert "纳税人识别号" in row and "发票号码" in row and "国产" in row
    assert "仅限已付款账单" in page.get_by_test_id("requires-payment").inner_text()
    console.submit("form.lang button[value=en]")
