"""The console's fapiao pages without a browser: a tenant's billing profile (view, edit, errors
by field, nothing saved on a refusal) and finance's Fapiao queue (the month's requests without a
number with totals and capitals, a form per row to record the number, the recorded ones), in a
constant number of queries; the Month end issue action says `seller_not_configured` in words."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Tenant
from billing.models import BillingProfile, CreditNote, Invoice
from billing.services.invoicing import credit_note_create, invoice_issue
from core.roles import Role
from tests.billing.conftest import D, invoice_for, long_lease, run
from tests.factories import TenantFactory, UserFactory
from tests.timing import at

pytestmark = pytest.mark.django_db

PROFILE = reverse("billing-console:billing-profile")
QUEUE = reverse("billing-console:fapiao")
TAX_ID = "91420500MA4F0YL01G"


@pytest.fixture
def april_2nd() -> Iterator[None]:
    with at("2027-04-02 10:00"):
        yield


@pytest.fixture
def tenant_web(tenant: Tenant, april_2nd: None) -> Client:
    client = Client()
    client.force_login(UserFactory(role=Role.TENANT, tenant=tenant))
    return client


@pytest.fixture
def fin(april_2nd: None) -> Client:
    client = Client()
    client.force_login(UserFactory(username="fin.qian", role=Role.FINANCE))
    return client


@pytest.fixture
def issued(domestic: Any, april_2nd: None) -> list[Invoice]:
    """Two tenants' March invoices (2 cards and 1 card at 3,510.00 a month), issued on April 2."""
    invoices = []
    for name, cards in (("Zhiyuan AI Lab", 2), ("Yichang Compute", 1)):
        tenant = TenantFactory(name=name)
        with at("2027-02-20 10:00"):
            long_lease(tenant, domestic, cards=cards, start="2027-03-01")
        invoices.append(tenant)
    run("2027-03")
    return [invoice_issue(actor=None, invoice=invoice_for(t, "2027-03")) for t in invoices]


# --- Billing profile ---


def test_a_tenant_sees_the_empty_state_then_saves_a_profile(tenant_web: Client, tenant) -> None:
    page = tenant_web.get(PROFILE)
    assert page.status_code == 200
    assert page.context["profile"] is None
    assert 'data-testid="profile-empty"' in page.content.decode()
    response = tenant_web.post(
        PROFILE, {"invoice_title": "宜昌智源", "tax_id": TAX_ID, "fapiao_type": "ordinary"}
    )
    assert response.status_code == 302
    page = tenant_web.get(PROFILE)
    assert page.context["profile"].invoice_title == "宜昌智源"
    assert "Billing profile saved." in page.content.decode()
    assert page.context["form"].initial["tax_id"] == TAX_ID


def test_errors_show_by_field_and_nothing_is_saved(tenant_web: Client) -> None:
    response = tenant_web.post(
        PROFILE,
        {"invoice_title": "宜昌智源", "tax_id": TAX_ID[:-1] + "H", "fapiao_type": "special"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "check digit" in errors["tax_id"][0]
    assert set(errors) >= {"tax_id", "bank_name", "bank_account", "registered_address", "email"}
    assert not BillingProfile.objects.exists()
    assert 'class="field-error"' in response.content.decode()


def test_staff_get_the_403_page_and_the_nav_has_the_entry(tenant_web: Client, fin: Client) -> None:
    assert fin.get(PROFILE).status_code == 403
    assert 'href="/console/billing/profile/"' in tenant_web.get(PROFILE).content.decode()
    assert tenant_web.get(QUEUE).status_code == 403


# --- The Fapiao queue ---


def test_the_queue_lists_the_months_requests_and_records_a_number(
    fin: Client, issued: list[Invoice]
) -> None:
    page = fin.get(QUEUE, {"month": "2027-04"})
    assert page.status_code == 200
    rows = page.context["pending"]
    # 2 × 3510.00 = 7020.00 + 421.20 tax = 7441.20; 3510.00 + 210.60 = 3720.60
    assert [(r["request"].document_number, r["request"].total_with_tax) for r in rows] == [
        ("INV-2027-000001", D("7441.20")),
        ("INV-2027-000002", D("3720.60")),
    ]
    html = page.content.decode()
    assert "柒仟肆佰肆拾壹元贰角" in html and "叁仟柒佰贰拾元陆角" in html
    assert f'href="/api/v1/invoices/{issued[0].pk}/fapiao/?format=csv"' in html
    assert 'href="/console/billing/fapiao/"' in html  # the nav entry
    first = reverse("billing-console:fapiao-invoice", args=[issued[0].pk])
    # a 19-digit number: the error beside the row, nothing written
    bad = fin.post(first, {"month": "2027-04", "number": "1" * 19, "issued_on": "2027-04-02"})
    assert bad.status_code == 200
    assert "A fapiao number is 20 digits." in bad.content.decode()
    assert Invoice.objects.filter(fapiao_number__isnull=False).count() == 0
    # a date before the invoice was issued: the service's refusal in words
    early = fin.post(first, {"month": "2027-04", "number": "2" * 20, "issued_on": "2027-04-01"})
    assert "issued_on is before the document was issued." in early.content.decode()
    done = fin.post(first, {"month": "2027-04", "number": "2" * 20, "issued_on": "2027-04-02"})
    assert done.status_code == 302
    page = fin.get(done["Location"])
    assert [r["request"].document_number for r in page.context["pending"]] == ["INV-2027-000002"]
    assert [r["request"].fapiao_number for r in page.context["recorded"]] == ["2" * 20]


def test_a_red_request_joins_the_queue_after_the_invoices_number(
    fin: Client, issued: list[Invoice]
) -> None:
    fin.post(
        reverse("billing-console:fapiao-invoice", args=[issued[0].pk]),
        {"month": "2027-04", "number": "2" * 20, "issued_on": "2027-04-02"},
    )
    note = credit_note_create(
        actor=None, invoice=issued[0], amount="106.00", reason="SLA", reason_code="allowance"
    )
    page = fin.get(QUEUE, {"month": "2027-04"})
    red = [r for r in page.context["pending"] if r["request"].kind == "red"]
    assert [(r["request"].document_number, r["request"].total_with_tax) for r in red] == [
        (note.number, D("-106.00"))
    ]
    assert "负壹佰零陆元整" in page.content.decode()
    response = fin.post(
        reverse("billing-console:fapiao-credit", args=[note.pk]),
        {"month": "2027-04", "number": "3" * 20, "issued_on": "2027-04-02"},
    )
    assert response.status_code == 302


def test_an_empty_month_says_what_to_do(fin: Client) -> None:
    page = fin.get(QUEUE, {"month": "2027-01"})
    assert 'data-testid="pending-empty"' in page.content.decode()
    assert fin.get(QUEUE, {"month": "bad"}).context["selection_error"]


def test_the_queue_is_a_constant_number_of_queries(
    fin: Client, issued: list[Invoice], domestic: Any, django_assert_max_num_queries: Any
) -> None:
    """Every list holds a row before and more after: the queries stay as many."""
    first = issued[0]
    Invoice.objects.filter(pk=first.pk).update(
        fapiao_number="4" * 20, fapiao_issued_on=dt.date(2027, 4, 2)
    )
    first.refresh_from_db()
    for amount in ("1.06", "2.12"):
        credit_note_create(
            actor=None, invoice=first, amount=amount, reason="x", reason_code="allowance"
        )
    CreditNote.objects.filter(amount="2.12").update(
        fapiao_number="5" * 20, fapiao_issued_on=dt.date(2027, 4, 2)
    )
    with django_assert_max_num_queries(20) as one:
        fin.get(QUEUE, {"month": "2027-04"})
    with at("2027-02-20 10:00"):
        for _ in range(5):
            long_lease(TenantFactory(), domestic, cards=1, start="2027-03-01")
    run("2027-03")
    for invoice in Invoice.objects.filter(status="draft"):
        invoice_issue(actor=None, invoice=invoice)
    credit_note_create(actor=None, invoice=first, amount="3.18", reason="y", reason_code="returned")
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = fin.get(QUEUE, {"month": "2027-04"})
    assert len(page.context["pending"]) == 6 + 2  # 6 invoices, 2 credit notes
    assert len(page.context["recorded"]) == 2


# --- Month end says the seller is missing ---


def test_month_end_issue_says_the_seller_is_not_configured(
    fin: Client, domestic: Any, april_2nd: None, settings: Any
) -> None:
    tenant = TenantFactory()
    with at("2027-02-20 10:00"):
        long_lease(tenant, domestic, cards=1, start="2027-03-01")
    run("2027-03")
    draft = invoice_for(tenant, "2027-03")
    settings.SELLER_TAX_ID = ""
    response = fin.post(
        reverse("billing-console:month-end-issue", args=[draft.pk]),
        {"month": "2027-03"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "The seller is not configured" in response.content.decode()
    assert Invoice.objects.get(pk=draft.pk).status == "draft"


def test_the_tenants_invoice_page_shows_the_fapiao_number(
    tenant_web: Client, tenant: Tenant, domestic: Any
) -> None:
    with at("2027-02-20 10:00"):
        long_lease(tenant, domestic, cards=1, start="2027-03-01")
    run("2027-03")
    invoice = invoice_issue(actor=None, invoice=invoice_for(tenant, "2027-03"))
    Invoice.objects.filter(pk=invoice.pk).update(
        fapiao_number="6" * 20, fapiao_issued_on=dt.date(2027, 4, 2)
    )
    page = tenant_web.get(reverse("billing-console:invoice", args=[invoice.pk]))
    assert f"{'6' * 20} (2027-04-02)" in page.content.decode()
