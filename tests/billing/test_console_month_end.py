"""The console's Month end page without a browser: finance and admin only, the last finished
month by default, the month's invoices with their tenants' names and totals by status, in a
constant number of queries; each action (run, issue, issue all, pay, void, credit) through the
service the API calls, its refusal in words with nothing changed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Tenant
from billing.choices import InvoiceStatus, RunStatus
from billing.console.month_end import default_month
from billing.models import CreditNote, Invoice, InvoiceRun
from billing.services.invoicing import invoice_issue, invoice_pay
from core.models import AuditLog
from core.roles import Role
from tests.billing.conftest import invoice_for, long_lease, run
from tests.factories import TenantFactory, UserFactory
from tests.outages import broker_down, take_queued
from tests.timing import at

pytestmark = pytest.mark.django_db

PAGE = reverse("billing-console:month-end")
MARCH = dt.date(2027, 3, 1)
D = Decimal


def url(name: str, *args: Any) -> str:
    return reverse(f"billing-console:month-end-{name}", args=args)


@pytest.fixture
def april_2nd() -> Iterator[None]:
    """March is over: its invoices may be run and issued."""
    with at("2027-04-02 10:00"):
        yield


@pytest.fixture
def tenants(domestic: Any) -> tuple[Tenant, Tenant]:
    """Two tenants with long leases from 2027-03-01 (2 cards and 1 card at ¥3,900 a month)."""
    zhiyuan = TenantFactory(name="Zhiyuan AI Lab")
    yichang = TenantFactory(name="Yichang Compute")
    with at("2027-02-20 10:00"):
        long_lease(zhiyuan, domestic, cards=2, start="2027-03-01")
        long_lease(yichang, domestic, cards=1, start="2027-03-01")
    return zhiyuan, yichang


@pytest.fixture
def drafts(tenants: tuple[Tenant, Tenant], april_2nd: None) -> tuple[Invoice, Invoice]:
    run("2027-03")
    return invoice_for(tenants[0], "2027-03"), invoice_for(tenants[1], "2027-03")


@pytest.fixture
def fin(april_2nd: None) -> Client:
    client = Client()
    client.force_login(UserFactory(username="fin.zhao", role=Role.FINANCE))
    return client


def _post(client: Client, path: str, **data: Any) -> Any:
    return client.post(path, {"month": "2027-03", **data}, HTTP_HX_REQUEST="true")


def _totals(response: Any) -> dict[str, tuple[int, Decimal]]:
    totals = response.context["totals"]
    rows = {row.status: (row.count, row.amount_due) for row in totals.by_status}
    rows["total"] = (totals.total.count, totals.total.amount_due)
    return rows


# --- Access and the default month ---------------------------------------------------------------


def test_finance_and_admin_see_it_others_get_403_anonymous_the_login(april_2nd: None) -> None:
    for role, status in (
        (Role.FINANCE, 200),
        (Role.ADMIN, 200),
        (Role.OPERATOR, 403),
        (Role.TENANT, 403),
    ):
        client = Client()
        extra = {"tenant": TenantFactory()} if role == Role.TENANT else {}
        client.force_login(UserFactory(role=role, **extra))
        response = client.get(PAGE)
        assert response.status_code == status, role
        if status == 403:
            assert b"Not allowed" in response.content
            assert client.post(url("run"), {"month": "2027-03"}).status_code == 403
    response = Client().get(PAGE)
    assert response.status_code == 302 and "/console/login/" in response["Location"]
    assert not InvoiceRun.objects.exists()


def test_the_default_month_is_the_last_finished_one_in_operator_time(fin: Client) -> None:
    with at("2027-04-01 00:30"):  # already April in Shanghai (still March 31 in UTC)
        assert default_month() == MARCH
        response = fin.get(PAGE)
    assert response.context["month"] == MARCH
    assert "Month end 2027-03" in response.content.decode()
    with at("2027-03-31 23:30"):
        assert default_month() == dt.date(2027, 2, 1)


def test_prev_and_next_links_and_no_next_past_the_running_month(fin: Client) -> None:
    response = fin.get(PAGE, {"month": "2027-03"})
    assert response.context["previous_url"] == PAGE + "?month=2027-02"
    assert response.context["next_url"] == PAGE + "?month=2027-04"
    assert fin.get(PAGE, {"month": "2027-04"}).context["next_url"] == ""
    assert fin.get(PAGE, {"month": "9999-12"}).status_code == 200  # the calendar's last


def test_a_bad_month_shows_the_default_one_and_says_so(fin: Client) -> None:
    response = fin.get(PAGE, {"month": "March"})
    assert response.status_code == 200
    assert response.context["month"] == MARCH
    assert "The month must be YYYY-MM" in response.content.decode()


# --- The month's invoices and totals ------------------------------------------------------------


def test_totals_by_status_with_tenant_names(fin: Client, drafts: tuple[Invoice, Invoice]) -> None:
    zhiyuan, yichang = drafts
    issued = invoice_issue(actor=None, invoice=yichang)
    response = fin.get(PAGE, {"month": "2027-03"})
    assert response.status_code == 200
    # 2 cards × ¥3,900 less the 12-month discount (10 %) + 6 % VAT: ¥7,441.20; 1 card: ¥3,720.60
    assert _totals(response) == {
        "draft": (1, D("7441.20")),
        "issued": (1, D("3720.60")),
        "paid": (0, D("0.00")),
        "void": (0, D("0.00")),
        "total": (2, D("11161.80")),
    }
    text = response.content.decode()
    assert "Zhiyuan AI Lab" in text and "Yichang Compute" in text
    assert issued.number in text and "¥7,441.20" in text and "¥11,161.80" in text
    assert f'href="/api/v1/invoices/{zhiyuan.pk}/pdf/"' in text
    assert 'href="/api/v1/invoices/export/?month=2027-03"' in text
    # filtered by status: the list narrows, the totals stay the month's
    drafts_only = fin.get(PAGE, {"month": "2027-03", "status": "draft"})
    assert [row["invoice"].pk for row in drafts_only.context["rows"]] == [zhiyuan.pk]
    assert _totals(drafts_only)["total"] == (2, D("11161.80"))


def test_void_invoices_are_counted_apart_from_the_total(
    fin: Client, drafts: tuple[Invoice, Invoice]
) -> None:
    issued = invoice_issue(actor=None, invoice=drafts[1])
    _post(fin, url("void", issued.pk), reason="wrong address")
    totals = _totals(fin.get(PAGE, {"month": "2027-03"}))
    assert totals["void"] == (1, D("3720.60"))
    assert totals["total"] == (1, D("7441.20"))


def test_the_pdf_and_csv_links_answer_with_the_session(
    fin: Client, drafts: tuple[Invoice, Invoice]
) -> None:
    pdf = fin.get(f"/api/v1/invoices/{drafts[0].pk}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    export = fin.get("/api/v1/invoices/export/?month=2027-03")
    assert export.status_code == 200 and "Zhiyuan AI Lab" in export.content.decode()


def test_the_page_is_a_constant_number_of_queries(
    fin: Client, domestic: Any, april_2nd: None, django_assert_max_num_queries: Any
) -> None:
    tenant = TenantFactory()
    with at("2027-02-20 10:00"):
        long_lease(tenant, domestic, cards=1, start="2027-03-01")
    run("2027-03")
    # 10, then the drafts' voucher previews (totals: drafts and lines; page: lines; grants of
    # each when there are any), the payments and the month's credit notes
    with django_assert_max_num_queries(16) as one:
        assert fin.get(PAGE, {"month": "2027-03"}).status_code == 200
    with at("2027-02-20 10:00"):
        for _ in range(6):
            long_lease(TenantFactory(), domestic, cards=1, start="2027-03-01")
    run("2027-03")
    for invoice in Invoice.objects.filter(month=MARCH).order_by("id")[:3]:
        invoice_issue(actor=None, invoice=invoice)
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = fin.get(PAGE, {"month": "2027-03"})
    assert len(response.context["rows"]) == 7


def test_the_list_is_paginated_and_actions_keep_the_page(
    fin: Client, domestic: Any, april_2nd: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from billing.console import month_end

    monkeypatch.setattr(month_end, "PAGE_SIZE", 5)
    with at("2027-02-20 10:00"):
        for _ in range(7):
            long_lease(TenantFactory(), domestic, cards=1, start="2027-03-01")
    run("2027-03")
    first = fin.get(PAGE, {"month": "2027-03"})
    assert len(first.context["rows"]) == 5
    assert first.context["totals"].count == 7  # the totals are the month's, not the page's
    second = fin.get(PAGE, {"month": "2027-03", "page": "2"})
    assert len(second.context["rows"]) == 2
    assert "page=2" not in first.context["previous_page_url"]
    assert second.context["page_url"].endswith("page=2")
    invoice = second.context["rows"][0]["invoice"]
    after = fin.post(f"{PAGE}{invoice.pk}/issue/", {"month": "2027-03", "status": "", "page": "2"})
    assert after.context["page"].number == 2


def test_no_invoices_offers_the_run(fin: Client) -> None:
    response = fin.get(PAGE, {"month": "2027-03"})
    text = response.content.decode()
    assert 'data-testid="no-invoices"' in text and 'data-testid="empty-run"' in text
    assert "No invoices for 2027-03 yet." in text


# --- Run ----------------------------------------------------------------------------------------


def test_run_starts_the_months_run_on_a_worker_and_polls_to_done(
    fin: Client, tenants: tuple[Tenant, Tenant], django_capture_on_commit_callbacks: Any
) -> None:
    take_queued("billing.run_invoices")
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(fin, url("run"))
    assert response.status_code == 200
    started = InvoiceRun.objects.get()
    assert (started.month, started.status) == (MARCH, RunStatus.RUNNING)
    assert take_queued("billing.run_invoices") == [f"({started.pk},)"]
    text = response.content.decode()
    assert "Running…" in text and f"/month-end/runs/{started.pk}/?poll=1" in text
    assert response["HX-Trigger"] == "month-end-changed"
    body = fin.get(PAGE, {"month": "2027-03"}, HTTP_HX_REQUEST="true").content.decode()
    assert "The invoice run is making the drafts" in body and 'data-testid="empty-run"' not in body
    # the worker's part (billing.run_invoices), then the panel polled: done, the body reloads
    from billing.tasks import run_invoices

    assert run_invoices(started.pk) == RunStatus.DONE
    polled = fin.get(url("run-status", started.pk) + "?poll=1", HTTP_HX_REQUEST="true")
    assert polled["HX-Trigger"] == "month-end-changed"
    assert "Done" in polled.content.decode() and "?poll=1" not in polled.content.decode()
    assert Invoice.objects.filter(month=MARCH, status="draft").count() == 2


def test_run_refusals_are_in_words_and_record_nothing(fin: Client) -> None:
    future = _post(fin, url("run"), month="2027-05")
    assert "2027-05 has not begun" in future.content.decode()
    with broker_down():
        down = _post(fin, url("run"))
    assert "The task queue is unavailable" in down.content.decode()
    assert "HX-Trigger" not in future and "HX-Trigger" not in down
    assert not InvoiceRun.objects.exists()
    assert not AuditLog.objects.filter(action="invoice_run.start").exists()


# --- Issue --------------------------------------------------------------------------------------


def test_issue_numbers_the_draft_and_the_totals_change(
    fin: Client, drafts: tuple[Invoice, Invoice]
) -> None:
    zhiyuan = drafts[0]
    response = _post(fin, url("issue", zhiyuan.pk))
    assert response.status_code == 200
    zhiyuan.refresh_from_db()
    assert zhiyuan.status == InvoiceStatus.ISSUED and zhiyuan.number
    assert f"Issued as {zhiyuan.number}." in response.content.decode()
    assert _totals(response)["issued"] == (1, D("7441.20"))
    assert _totals(response)["draft"] == (1, D("3720.60"))


def test_issuing_before_the_month_ends_is_refused_and_changes_nothing(
    domestic: Any, tenants: tuple[Tenant, Tenant]
) -> None:
    with at("2027-03-20 10:00"):
        run("2027-03")
        client = Client()
        client.force_login(UserFactory(role=Role.FINANCE))
        draft = invoice_for(tenants[0], "2027-03")
        response = _post(client, url("issue", draft.pk))
        everything = _post(client, url("issue-all"))
    assert "2027-03 has not ended" in response.content.decode()
    assert "2027-03 has not ended" in everything.content.decode()
    assert not Invoice.objects.exclude(status="draft").exists()
    assert not AuditLog.objects.filter(action="invoice.issue").exists()


def test_issue_all_issues_every_draft(fin: Client, drafts: tuple[Invoice, Invoice]) -> None:
    response = _post(fin, url("issue-all"))
    assert "2 draft(s) issued." in response.content.decode()
    assert set(Invoice.objects.values_list("status", flat=True)) == {"issued"}
    assert _totals(response)["issued"] == (2, D("11161.80"))
    again = _post(fin, url("issue-all"))
    assert "There are no drafts to issue." in again.content.decode()


# --- Pay ----------------------------------------------------------------------------------------


def test_pay_records_the_payment(fin: Client, drafts: tuple[Invoice, Invoice]) -> None:
    issued = invoice_issue(actor=None, invoice=drafts[0])
    response = _post(fin, url("pay", issued.pk), paid_on="2027-04-02", reference="ICBC-778")
    issued.refresh_from_db()
    assert (issued.status, issued.paid_on, issued.payment_reference) == (
        "paid",
        dt.date(2027, 4, 2),
        "ICBC-778",
    )
    assert "Payment recorded; the invoice is paid." in response.content.decode()
    assert _totals(response)["paid"] == (1, D("7441.20"))


def test_paying_a_draft_or_in_the_future_is_refused_in_words(
    fin: Client, drafts: tuple[Invoice, Invoice]
) -> None:
    draft = drafts[0]
    response = _post(fin, url("pay", draft.pk), reference="x")
    assert "Only issued invoices are paid; this one is draft." in response.content.decode()
    issued = invoice_issue(actor=None, invoice=drafts[1])
    later = _post(fin, url("pay", issued.pk), paid_on="2027-05-01")
    assert "paid_on is in the future." in later.content.decode()
    bad = _post(fin, url("pay", issued.pk), paid_on="someday")
    assert "Enter a valid date." in bad.content.decode()
    assert not Invoice.objects.filter(status="paid").exists()


# --- Void ---------------------------------------------------------------------------------------


def test_void_asks_a_reason_and_voids(fin: Client, drafts: tuple[Invoice, Invoice]) -> None:
    issued = invoice_issue(actor=None, invoice=drafts[0])
    missing = _post(fin, url("void", issued.pk), reason="")
    assert "This field is required." in missing.content.decode()
    issued.refresh_from_db()
    assert issued.status == "issued"
    response = _post(fin, url("void", issued.pk), reason="wrong buyer tax id")
    issued.refresh_from_db()
    assert (issued.status, issued.void_reason) == ("void", "wrong buyer tax id")
    assert "Voided." in response.content.decode()
    assert _totals(response)["void"] == (1, D("7441.20"))


def test_voiding_a_paid_invoice_is_refused_and_changes_nothing(
    fin: Client, drafts: tuple[Invoice, Invoice]
) -> None:
    paid = invoice_pay(
        actor=None, invoice=invoice_issue(actor=None, invoice=drafts[0]), paid_on=None, reference=""
    )
    response = _post(fin, url("void", paid.pk), reason="changed our mind")
    text = response.content.decode()
    assert "Only issued (unpaid) invoices are voided; this one is paid." in text
    paid.refresh_from_db()
    assert (paid.status, paid.void_reason) == ("paid", "")
    assert not AuditLog.objects.filter(action="invoice.void").exists()


# --- Credit -------------------------------------------------------------------------------------


def test_credit_creates_a_credit_note(fin: Client, drafts: tuple[Invoice, Invoice]) -> None:
    issued = invoice_issue(actor=None, invoice=drafts[0])
    response = _post(
        fin,
        url("credit", issued.pk),
        amount="100.00",
        reason="downtime",
        reason_code="service_stopped",
    )
    note = CreditNote.objects.get()
    assert (note.invoice_id, note.amount, note.reason) == (issued.pk, D("100.00"), "downtime")
    text = response.content.decode()
    assert f"Credit note {note.number} created." in text and "credited ¥100.00" in text
    assert response.context["totals"].total.credited == D("100.00")


def test_crediting_more_than_is_left_or_a_draft_is_refused(
    fin: Client, drafts: tuple[Invoice, Invoice]
) -> None:
    issued = invoice_issue(actor=None, invoice=drafts[0])
    response = _post(
        fin, url("credit", issued.pk), amount="9000.00", reason="too much", reason_code="allowance"
    )
    assert "Only 7441.20 of this invoice is still uncredited." in response.content.decode()
    draft = _post(
        fin, url("credit", drafts[1].pk), amount="1.00", reason="x", reason_code="returned"
    )
    assert "Credit notes are for issued or paid invoices" in draft.content.decode()
    negative = _post(fin, url("credit", issued.pk), amount="-5", reason="x", reason_code="returned")
    assert "Ensure this value is greater than or equal to 0.01." in negative.content.decode()
    assert not CreditNote.objects.exists()


def test_an_unknown_invoice_is_the_404_page(fin: Client) -> None:
    for action in ("issue", "pay", "void", "credit"):
        assert _post(fin, url(action, 999999), reason="x").status_code == 404
    assert fin.get(url("run-status", 999999)).status_code == 404


def test_every_post_needs_the_csrf_token(drafts: tuple[Invoice, Invoice], april_2nd: None) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(role=Role.FINANCE))
    assert client.post(url("issue", drafts[0].pk), {"month": "2027-03"}).status_code == 403
    assert client.post(url("run"), {"month": "2027-03"}).status_code == 403
    assert not Invoice.objects.exclude(status="draft").exists()
    assert not InvoiceRun.objects.filter(month=MARCH, status="running").exists()


# --- Previews, partial payments, credit notes ---------------------------------------------------
# Zhiyuan's March: 2 cards × 3,510.00 = 7,020.00 + 6 % VAT 421.20 = 7,441.20 due.
# Yichang's March: 1 card: 3,510.00 + 210.60 = 3,720.60 due.


def test_drafts_show_the_voucher_preview_and_the_totals_count_it(
    fin: Client, tenants: tuple[Tenant, Tenant], april_2nd: None
) -> None:
    from billing.services.vouchers import voucher_grant_create, voucher_program_create

    programme = voucher_program_create(
        actor=None, issuer="Wuhan", name="city", budget=D("100000.00"), coverage_rate=D("0.3000"),
        per_tenant_cap=D("100000.00"), valid_from=dt.date(2027, 1, 1),
        valid_to=dt.date(2027, 12, 31), lease_kinds=["long"],
    )  # fmt: skip
    voucher_grant_create(actor=None, program=programme, tenant=tenants[0], amount=D("5000.00"))
    run("2027-03")
    response = fin.get(PAGE, {"month": "2027-03"})
    rows = {row["invoice"].tenant.name: row["invoice"] for row in response.context["rows"]}
    zhiyuan = rows["Zhiyuan AI Lab"]
    # 30 % of 7,020.00 = 2,106.00 off: 7,441.20 − 2,106.00 = 5,335.20, until issued
    assert (zhiyuan.preview, zhiyuan.voucher_deduction, zhiyuan.amount_due) == (
        True, D("2106.00"), D("5335.20")
    )  # fmt: skip
    draft_totals = response.context["totals"].by_status[0]
    # 7,441.20 + 3,720.60 − 2,106.00 = 9,055.80
    assert (draft_totals.voucher_deduction, draft_totals.amount_due) == (D("2106.00"), D("9055.80"))
    assert 'data-testid="preview"' in response.content.decode()
    issued = invoice_issue(actor=None, invoice=zhiyuan)
    assert (issued.voucher_deduction, issued.amount_due) == (D("2106.00"), D("5335.20"))


def test_a_partial_then_the_final_payment_in_the_console(
    fin: Client, drafts: tuple[Invoice, Invoice]
) -> None:
    issued = invoice_issue(actor=None, invoice=drafts[0])
    page = fin.get(PAGE, {"month": "2027-03"}).content.decode()
    assert 'name="amount"' in page and 'value="7441.20"' in page  # the balance by default
    first = _post(fin, url("pay", issued.pk), amount="3000.00", paid_on="2027-04-02",
                  reference="ICBC-1")  # fmt: skip
    assert "Payment recorded." in first.content.decode()
    issued.refresh_from_db()
    assert (issued.status, issued.amount_paid, issued.paid_on) == ("issued", D("3000.00"), None)
    issued_totals = first.context["totals"].by_status[1]
    assert (issued_totals.amount_paid, issued_totals.balance) == (D("3000.00"), D("4441.20"))
    row = next(r for r in first.context["rows"] if r["invoice"].pk == issued.pk)
    assert row["invoice"].balance == D("4441.20") and row["can_pay"]
    assert 'data-testid="payments"' in first.content.decode()
    over = _post(fin, url("pay", issued.pk), amount="4441.21")
    assert "balance of 4441.20" in over.content.decode()  # in words, beside the invoice
    final = _post(fin, url("pay", issued.pk), amount="", reference="ICBC-2")  # the balance
    assert "the invoice is paid" in final.content.decode()
    issued.refresh_from_db()
    assert (issued.status, issued.amount_paid, issued.paid_on, issued.payment_reference) == (
        "paid", D("7441.20"), dt.date(2027, 4, 2), "ICBC-2"
    )  # fmt: skip
    assert issued.payments.count() == 2
    assert final.context["totals"].total.balance == D("3720.60")  # Yichang's draft left


def test_credit_notes_take_a_red_letter_reason_and_are_listed_with_their_pdf(
    fin: Client, drafts: tuple[Invoice, Invoice]
) -> None:
    issued = invoice_issue(actor=None, invoice=drafts[0])
    bad = _post(fin, url("credit", issued.pk), amount="10.00", reason="x", reason_code="goodwill")
    assert "Select a valid choice." in bad.content.decode()
    assert not CreditNote.objects.exists()
    page = fin.get(PAGE, {"month": "2027-03"}).content.decode()
    assert 'data-testid="credit-reason-code"' in page and 'data-testid="no-credit-notes"' in page
    made = _post(fin, url("credit", issued.pk), amount="10.00", reason="x", reason_code="returned")
    note = CreditNote.objects.get()
    assert note.reason_code == "returned"
    text = made.content.decode()
    assert f'href="/api/v1/credit-notes/{note.pk}/pdf/"' in text and "Returned" in text
