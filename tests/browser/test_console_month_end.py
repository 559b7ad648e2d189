"""The Month end page in Chromium: finance runs the last month's invoices (the test plays the
Celery worker: it takes the queued task and runs it, while the page polls the run), issues an
invoice, voids one with a reason, and the totals follow; the PDF link answers with a PDF; the
page in Chinese."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from playwright.sync_api import expect

from billing.models import Invoice, InvoiceRun
from billing.tasks import run_invoices
from core import clock
from leasing.services import lease_create
from tests.billing.conftest import run
from tests.browser.conftest import Console, People
from tests.factories import CardModelFactory, RackFactory, TenantFactory, make_server_with_cards
from tests.outages import take_queued
from tests.timing import at

APRIL_2ND = dt.datetime(2027, 4, 2, 10, 0, tzinfo=clock.operator_tz())


@pytest.fixture
def march_leases(people: People) -> Iterator[None]:
    """Two tenants' long leases from 2027-03-01; then the clock runs from 2027-04-02 10:00
    (March is over) for the server and the test alike."""
    model = CardModelFactory(
        name="Ascend-910B", domestic=True, monthly_rate=Decimal("3900.0000"), hourly_rate="7.5"
    )
    make_server_with_cards(RackFactory(), model)
    other = TenantFactory(name="Yichang Compute")
    with at("2027-02-20 10:00"):
        for tenant, cards in ((people.tenant, 2), (other, 1)):
            lease_create(
                actor=None, tenant=tenant, kind="long", card_model=model, card_count=cards,
                start=dt.date(2027, 3, 1), term_months=12,
            )  # fmt: skip
    take_queued("billing.run_invoices")  # nothing left over from another test
    with time_machine.travel(APRIL_2ND, tick=True):
        yield


def _totals(console: Console, status: str) -> tuple[str, str]:
    row = console.page.get_by_test_id(f"totals-{status}")
    return row.get_by_test_id("count").inner_text(), row.get_by_test_id("amount-due").inner_text()


def _row(console: Console, tenant: str) -> Any:
    return console.page.get_by_test_id("invoice-row").filter(has_text=tenant)


def test_finance_runs_issues_and_voids_and_the_totals_follow(
    console: Console, people: People, march_leases: None
) -> None:
    page = console.page
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations
    console.login(people.finance.username)
    page.click("nav.mainnav >> text=Month end")
    page.wait_for_url("**/console/billing/month-end/")
    expect(page.get_by_test_id("month-title")).to_have_text("Month end 2027-03")
    assert page.get_by_test_id("no-invoices").is_visible()
    console.check()

    page.get_by_test_id("empty-run").click()
    expect(page.get_by_test_id("run-state")).to_contain_text("Running…")
    expect(page.get_by_test_id("empty-run")).to_have_count(0)  # the body says it is under way
    console.check()
    # the worker's part: the task the page queued, run as billing.run_invoices runs it
    (queued,) = take_queued("billing.run_invoices")
    run = InvoiceRun.objects.get()
    assert queued == f"({run.pk},)"
    assert run_invoices(run.pk) == "done"
    # the panel polls to done, and the body reloads with the drafts
    expect(page.get_by_test_id("run-state")).to_contain_text("Done", timeout=10_000)
    expect(page.get_by_test_id("invoice-row")).to_have_count(2)
    assert _totals(console, "draft") == ("2", "¥11,161.80")
    assert _totals(console, "total") == ("2", "¥11,161.80")
    assert "Zhiyuan AI Lab" in page.get_by_test_id("invoice-table").inner_text()
    console.check()

    _row(console, "Zhiyuan AI Lab").get_by_test_id("issue").click()
    expect(page.get_by_test_id("outcome")).to_contain_text("Issued as INV-2027-")
    assert _totals(console, "issued") == ("1", "¥7,441.20")
    assert _totals(console, "draft") == ("1", "¥3,720.60")
    issued = Invoice.objects.get(tenant=people.tenant)
    assert issued.status == "issued"
    console.check()

    row = _row(console, "Zhiyuan AI Lab")
    row.get_by_test_id("void-action").locator("summary").click()
    row.get_by_test_id("void-action").get_by_label("Reason").fill("wrong buyer tax id")
    row.get_by_test_id("void-submit").click()
    expect(page.get_by_test_id("outcome")).to_have_text("Voided.")
    row = _row(console, "Zhiyuan AI Lab")
    expect(row.get_by_test_id("invoice-status")).to_contain_text("Void")
    assert "wrong buyer tax id" in row.inner_text()
    assert _totals(console, "void") == ("1", "¥7,441.20")
    assert _totals(console, "issued") == ("0", "¥0.00")
    assert _totals(console, "total") == ("1", "¥3,720.60")
    issued.refresh_from_db()
    assert (issued.status, issued.void_reason) == ("void", "wrong buyer tax id")
    console.check()

    # voiding again is no longer offered; paying the remaining draft is not either
    assert row.get_by_test_id("void-action").count() == 0
    # the PDF link: a PDF with the page's session
    href = _row(console, "Yichang Compute").get_by_test_id("invoice-pdf").get_attribute("href")
    assert href is not None
    pdf = page.request.get(console.base_url + href)
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body().startswith(b"%PDF")
    export = page.get_by_test_id("export-csv").get_attribute("href")
    csv = page.request.get(console.base_url + str(export))
    assert csv.status == 200 and "Yichang Compute" in csv.text()


def test_a_refusal_is_shown_in_words_and_nothing_changes(
    console: Console, people: People, march_leases: None
) -> None:
    page = console.page
    page.on("dialog", lambda dialog: dialog.accept())
    run("2027-03")
    console.login(people.finance.username)
    console.goto("/console/billing/month-end/?month=2027-03")
    row = _row(console, "Zhiyuan AI Lab")
    row.get_by_test_id("issue").click()
    expect(page.get_by_test_id("outcome")).to_contain_text("Issued as")
    row = _row(console, "Zhiyuan AI Lab")
    row.get_by_test_id("credit-action").locator("summary").click()
    row.get_by_test_id("credit-action").get_by_label("Amount").fill("99999")
    row.get_by_test_id("credit-action").get_by_label("Reason", exact=True).fill("too much")
    row.get_by_test_id("credit-submit").click()
    expect(page.get_by_test_id("refusal")).to_contain_text(
        "Only 7441.20 of this invoice is still uncredited."
    )
    console.check()
    assert not Invoice.objects.get(tenant=people.tenant).credit_notes.exists()


def test_the_page_in_chinese(console: Console, people: People, march_leases: None) -> None:
    console.login(people.finance.username)
    console.goto("/console/billing/month-end/")
    console.submit("form.lang button[value=zh-hans]")
    page = console.page
    expect(page.get_by_test_id("month-title")).to_have_text("月结 2027-03")
    assert "按状态汇总" in page.get_by_test_id("month-totals").inner_text()
    assert "合计（不含作废）" in page.get_by_test_id("month-totals").inner_text()
    assert "运行本月出账" in page.get_by_test_id("no-invoices").inner_text()
    credit_notes = page.get_by_test_id("month-credit-notes").inner_text()
    assert "贷项通知单" in credit_notes and "本月发票尚无贷项通知单" in credit_notes
    assert "余额" in page.get_by_test_id("month-totals").inner_text()
    console.check()


def test_a_draft_previews_its_vouchers_then_partial_payments_and_a_credit_note(
    console: Console, people: People, march_leases: None
) -> None:
    """Zhiyuan's March: 2 cards × 3,510.00 = 7,020.00 + 6 % VAT = 7,441.20; a city programme
    covers 30 %: 2,106.00 off, 5,335.20 due (a preview on the draft, the same once issued)."""
    from billing.services.vouchers import voucher_grant_create, voucher_program_create

    programme = voucher_program_create(
        actor=None, issuer="Wuhan", name="Wuhan compute vouchers", budget=Decimal("100000.00"),
        coverage_rate=Decimal("0.3000"), per_tenant_cap=Decimal("100000.00"),
        valid_from=dt.date(2027, 1, 1), valid_to=dt.date(2027, 12, 31), lease_kinds=["long"],
    )  # fmt: skip
    voucher_grant_create(
        actor=None, program=programme, tenant=people.tenant, amount=Decimal("5000.00")
    )
    run("2027-03")
    page = console.page
    page.on("dialog", lambda dialog: dialog.accept())
    console.login(people.finance.username)
    console.goto("/console/billing/month-end/?month=2027-03")
    row = _row(console, "Zhiyuan AI Lab")
    expect(row.get_by_test_id("invoice-vouchers")).to_contain_text("¥2,106.00")
    expect(row.get_by_test_id("preview")).to_have_text("preview")
    expect(row.get_by_test_id("invoice-amount-due")).to_contain_text("¥5,335.20")
    console.check()

    row.get_by_test_id("issue").click()
    expect(page.get_by_test_id("outcome")).to_contain_text("Issued as INV-2027-")
    row = _row(console, "Zhiyuan AI Lab")
    expect(row.get_by_test_id("invoice-amount-due")).to_contain_text("¥5,335.20")
    assert row.get_by_test_id("preview").count() == 0

    # a first payment of 2,000.00: 3,335.20 left
    row.get_by_test_id("pay-action").locator("summary").click()
    amount = row.get_by_test_id("pay-action").get_by_label("Amount")
    expect(amount).to_have_value("5335.20")  # the balance by default
    amount.fill("2000.00")
    row.get_by_test_id("pay-action").get_by_label("Reference").fill("ICBC-1")
    row.get_by_test_id("pay-submit").click()
    expect(page.get_by_test_id("outcome")).to_have_text("Payment recorded.")
    row = _row(console, "Zhiyuan AI Lab")
    expect(row.get_by_test_id("invoice-balance")).to_contain_text("¥3,335.20")
    expect(row.get_by_test_id("invoice-status")).to_contain_text("Issued")
    row.get_by_test_id("payments").locator("summary").click()
    expect(row.get_by_test_id("payment")).to_have_count(1)
    assert "ICBC-1" in row.get_by_test_id("payments").inner_text()
    issued = page.get_by_test_id("totals-issued")
    expect(issued.get_by_test_id("amount-paid")).to_have_text("¥2,000.00")
    expect(issued.get_by_test_id("balance")).to_have_text("¥3,335.20")
    console.check()

    # a credit note with its red-letter reason, listed with its PDF
    row.get_by_test_id("credit-action").locator("summary").click()
    credit = row.get_by_test_id("credit-action")
    credit.get_by_label("Amount").fill("335.20")
    credit.get_by_label("Red-letter reason").select_option("service_stopped")
    credit.get_by_label("Reason", exact=True).fill("Two days down")
    row.get_by_test_id("credit-submit").click()
    expect(page.get_by_test_id("outcome")).to_contain_text("Credit note CN-2027-000001 created.")
    notes = page.get_by_test_id("credit-note-row")
    expect(notes).to_have_count(1)
    expect(notes.get_by_test_id("credit-note-reason-code")).to_have_text("Service stopped")
    href = notes.get_by_test_id("credit-note-pdf").get_attribute("href")
    pdf = page.request.get(console.base_url + str(href))
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
    console.check()

    # the rest (3,335.20 − 335.20 = 3,000.00) by default settles it
    row = _row(console, "Zhiyuan AI Lab")
    row.get_by_test_id("pay-action").locator("summary").click()
    expect(row.get_by_test_id("pay-action").get_by_label("Amount")).to_have_value("3000.00")
    row.get_by_test_id("pay-submit").click()
    expect(page.get_by_test_id("outcome")).to_have_text("Payment recorded; the invoice is paid.")
    row = _row(console, "Zhiyuan AI Lab")
    expect(row.get_by_test_id("invoice-status")).to_contain_text("Paid")
    expect(row.get_by_test_id("invoice-balance")).to_contain_text("¥0.00")
    console.check()
