"""Real threads, real transactions: vouchers never over-redeem, numbers stay gapless, retried
batches never duplicate."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from billing.models import Invoice, UsageRecord, VoucherGrant, VoucherRedemption
from billing.services.invoicing import invoice_issue
from core import clock
from leasing.services import lease_create
from tests.billing.conftest import D, run, voucher_drafts
from tests.concurrency import run_concurrently
from tests.factories import RackFactory, TenantFactory, api_key, make_server_with_cards
from tests.timing import at

pytestmark = pytest.mark.django_db(transaction=True)


def test_invoices_sharing_a_grant_issued_at_once_never_over_redeem(domestic):
    # six drafts, each of which would take 2106.00 of the 5000.00
    _, _, grant, invoices = voucher_drafts(domestic, grant="5000.00", months=6)

    with at("2027-07-02 09:00"):
        results = run_concurrently(6, lambda i: invoice_issue(actor=None, invoice=invoices[i]))
    assert all(isinstance(r, Invoice) for r in results), results
    grant.refresh_from_db()
    redeemed = sum(r.amount for r in VoucherRedemption.objects.filter(grant=grant))
    assert redeemed == grant.redeemed == D("5000.00")
    assert sorted(r.voucher_deduction for r in results) == [
        D("0.00"), D("0.00"), D("0.00"), D("788.00"), D("2106.00"), D("2106.00")
    ]  # fmt: skip


def test_concurrent_issuing_gives_gapless_unique_numbers(domestic):
    make_server_with_cards(RackFactory(), domestic)  # 16 cards in all
    tenants = [TenantFactory() for _ in range(12)]
    with at("2027-03-01 08:00"):
        for tenant in tenants:
            lease_create(
                actor=None,
                tenant=tenant,
                kind="long",
                card_model=domestic,
                card_count=1,
                start=dt.date(2027, 3, 1),
                term_months=12,
            )
    with at("2027-04-01 08:00"):
        run("2027-03")
    drafts = list(Invoice.objects.filter(month=dt.date(2027, 3, 1)))
    assert len(drafts) == 12
    with at("2027-04-01 09:00"):
        results = run_concurrently(12, lambda i: invoice_issue(actor=None, invoice=drafts[i]))
    numbers = sorted(r.number for r in results)
    assert numbers == [f"INV-2027-{n:06d}" for n in range(1, 13)]
    by_issue_time = [i.number for i in Invoice.objects.order_by("issued_at", "number")]
    assert by_issue_time == sorted(by_issue_time)


def test_a_batch_retried_in_parallel_never_duplicates(operator, domestic):
    tenant = TenantFactory()
    with at("2027-03-01 08:00"):
        lease = lease_create(actor=None, tenant=tenant, kind="long", card_model=domestic,
                             card_count=1, start=dt.date(2027, 3, 1), term_months=12)  # fmt: skip
    start = clock.day_start(dt.date(2027, 3, 2))
    batch = [
        {"source": "ceph", "external_id": f"e-{n}", "lease": lease.pk, "metric": "egress_tb",
         "quantity": "0.25", "start": (start + dt.timedelta(hours=n)).isoformat(),
         "end": (start + dt.timedelta(hours=n + 1)).isoformat()}
        for n in range(200)
    ]  # fmt: skip
    token = api_key(operator)

    def post(_):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return client.post("/api/v1/usage-records/", {"records": batch}, format="json").json()

    with at("2027-03-20 08:00"):  # usage is reported once its window is over
        results = run_concurrently(8, post)
    assert sum(r["accepted"] for r in results) == 200
    assert sum(r["duplicates"] for r in results) == 7 * 200
    assert UsageRecord.objects.filter(source="ceph").count() == 200
    assert VoucherGrant.objects.count() == 0


# --- Payments racing for the last balance ---


def _issued_march(domestic):
    """An issued March invoice of 4 domestic cards: 14,040.00 + 6 % VAT = 14,882.40 due."""
    tenant = TenantFactory()
    with at("2027-02-20 10:00"):
        lease_create(actor=None, tenant=tenant, kind="long", card_model=domestic, card_count=4,
                     start=dt.date(2027, 3, 1), term_months=12)  # fmt: skip
    with at("2027-04-01 09:00"):
        run("2027-03")
        return invoice_issue(actor=None, invoice=Invoice.objects.get(tenant=tenant))


def test_payments_racing_for_the_last_balance_never_overpay(domestic):
    from billing.services.invoicing import invoice_pay
    from core.exceptions import InvalidInput

    invoice = _issued_march(domestic)
    # 6 payments of 10,000.00 at once: only one fits in 14,882.40
    with at("2027-04-05 09:00"):
        results = run_concurrently(
            6,
            lambda i: invoice_pay(
                actor=None, invoice=invoice, amount=D("10000.00"), paid_on=None, reference=f"R{i}"
            ),
        )
    assert sum(isinstance(r, Invoice) for r in results) == 1, results
    assert all(isinstance(r, Invoice | InvalidInput) for r in results), results
    invoice.refresh_from_db()
    assert invoice.amount_paid == D("10000.00") == sum(p.amount for p in invoice.payments.all())
    assert invoice.status == "issued"


def test_the_database_alone_refuses_racing_inserts_beyond_the_balance(domestic):
    from django.db import IntegrityError

    from billing.models import Payment

    invoice = _issued_march(domestic)
    # past the service (no row lock taken first): the trigger's update of the invoice row
    # queues the inserts, and the second sees the first's amount
    results = run_concurrently(
        4,
        lambda i: Payment.objects.create(
            invoice_id=invoice.pk, amount=D("5000.00"), paid_on=dt.date(2027, 4, 5)
        ),
    )
    assert sum(isinstance(r, Payment) for r in results) == 2, results  # 2 × 5,000 ≤ 14,882.40
    assert sum(isinstance(r, IntegrityError) for r in results) == 2, results
    invoice.refresh_from_db()
    assert invoice.amount_paid == D("10000.00") == sum(p.amount for p in invoice.payments.all())
