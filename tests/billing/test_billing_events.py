"""Billing's events in the outbox: each recorded with its change, its data what the API shows.

The March invoice: one long lease of 4 domestic cards at 3,510.00 a card-month for the whole
month: subtotal 14,040.00, VAT 6 % 842.40, amount due 14,882.40 (tests/billing/test_payments.py).
"""

from decimal import Decimal

import pytest
from django.test import override_settings

from billing.models import Invoice, VoucherGrant
from billing.services.invoicing import invoice_issue
from billing.services.vouchers import voucher_grant_create, voucher_program_create
from core.exceptions import Conflict
from events.models import Event
from tests.billing.conftest import long_lease
from tests.billing.test_payments import issued, pay
from tests.timing import at

pytestmark = pytest.mark.django_db


@pytest.fixture
def march(tenant, domestic):
    with at("2027-02-20 10:00"):
        long_lease(tenant, domestic, 4, "2027-03-01")
    return tenant


def billing_events() -> list[tuple[str, int | None, object]]:
    return [
        (e.type, e.tenant_id, e.data.get("id"))
        for e in Event.objects.exclude(type__startswith="lease.").order_by("created", "id")
    ]


def test_issue_pay_and_credit_each_record_what_the_api_shows(finance_client, march):
    invoice_id = issued(finance_client)
    event = Event.objects.get(type="invoice.issued")
    shown = finance_client.get(f"/api/v1/invoices/{invoice_id}/").json()
    assert event.tenant_id == march.pk and event.data == shown
    with at("2027-04-05 10:00"):
        pay(finance_client, invoice_id, amount="5000.00", paid_on="2027-04-05")
    assert not Event.objects.filter(type="invoice.paid").exists()  # partly paid: not yet
    with at("2027-04-10 10:00"):
        pay(finance_client, invoice_id, reference="BOC-2")  # the balance: 9,882.40
    paid = Event.objects.get(type="invoice.paid")
    assert (paid.data["status"], paid.data["balance"], len(paid.data["payments"])) == (
        "paid",
        "0.00",
        2,
    )
    with at("2027-04-11 10:00"):
        note = finance_client.post(
            "/api/v1/credit-notes/",
            {"invoice": invoice_id, "amount": "100.00", "reason": "downtime on 3 March",
             "reason_code": "allowance"},
            format="json",
        )  # fmt: skip
    assert note.status_code == 201, note.json()
    created = Event.objects.get(type="credit_note.created")
    assert created.data == finance_client.get(f"/api/v1/credit-notes/{note.json()['id']}/").json()
    assert billing_events() == [
        ("invoice.issued", march.pk, invoice_id),
        ("invoice.paid", march.pk, invoice_id),
        ("credit_note.created", march.pk, note.json()["id"]),
    ]


def test_a_void_records_invoice_voided(finance_client, march):
    invoice_id = issued(finance_client)
    with at("2027-04-02 10:00"):
        voided = finance_client.post(
            f"/api/v1/invoices/{invoice_id}/void/", {"reason": "wrong tenant"}, format="json"
        )
    assert voided.status_code == 200, voided.json()
    event = Event.objects.get(type="invoice.voided")
    assert (event.data["status"], event.data["void_reason"]) == ("void", "wrong tenant")


def test_a_refused_issue_records_nothing(march, finance_client):
    with at("2027-04-01 09:00"):
        finance_client.post("/api/v1/invoice-runs/", {"month": "2027-03"}, format="json")
    invoice = Invoice.objects.get()
    with override_settings(SELLER_TAX_ID=""), at("2027-04-01 10:00"), pytest.raises(Conflict):
        invoice_issue(actor=None, invoice=invoice)
    assert billing_events() == []


def test_a_grant_running_low_is_announced_once(finance_client, march, domestic):
    """A 2,000.00 grant at 30 % of a 14,040.00 line: covered 4,212.00, so the grant pays its
    whole 2,000.00 and has 0.00 left, below 10 % of 2,000.00 (200.00)."""
    with at("2027-01-10 10:00"):
        programme = voucher_program_create(
            actor=None, issuer="Yichang", name="2027 vouchers", budget=Decimal("100000.00"),
            coverage_rate=Decimal("0.3000"), per_tenant_cap=Decimal("50000.00"),
            valid_from="2027-01-01", valid_to="2027-12-31", lease_kinds=["long", "short"],
        )  # fmt: skip
        grant = voucher_grant_create(
            actor=None, program=programme, tenant=march, amount=Decimal("2000.00")
        )
    invoice_id = issued(finance_client)
    low = Event.objects.get(type="grant.low_balance")
    assert (low.tenant_id, low.data["id"], low.data["remaining"]) == (march.pk, grant.pk, "0.00")
    # voided (its 2,000.00 comes back) and issued again: low again, but announced once only
    with at("2027-04-02 10:00"):
        finance_client.post(
            f"/api/v1/invoices/{invoice_id}/void/", {"reason": "redo"}, format="json"
        )
        finance_client.post("/api/v1/invoice-runs/", {"month": "2027-03"}, format="json")
        again = Invoice.objects.get(status="draft")
        finance_client.post(f"/api/v1/invoices/{again.pk}/issue/")
    assert VoucherGrant.objects.get(pk=grant.pk).remaining == Decimal("0.00")
    assert Event.objects.filter(type="grant.low_balance").count() == 1
