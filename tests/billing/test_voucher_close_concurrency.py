"""Real threads, real transactions: a grant revoked, or its programme closed, while invoices are
being issued. Whatever the order, nothing is redeemed after the revoke or close, the grant's
`redeemed` equals its redemptions, and the programme's `granted` equals what its grant holds."""

import datetime as dt

import pytest

from billing.models import Invoice, VoucherGrant, VoucherProgram, VoucherRedemption
from billing.services.invoicing import invoice_issue
from billing.services.vouchers import (
    voucher_grant_create,
    voucher_grant_revoke,
    voucher_program_close,
    voucher_program_create,
)
from leasing.services import lease_create
from tests.billing.conftest import D, run
from tests.concurrency import run_concurrently
from tests.factories import TenantFactory
from tests.timing import at

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("action", ["revoke", "close"])
def test_a_revoke_or_close_racing_issues_leaves_the_books_consistent(domestic, action):
    tenant = TenantFactory()
    programme = voucher_program_create(
        actor=None, issuer="Hubei", name="p", budget=D("100000.00"), coverage_rate=D("0.3000"),
        per_tenant_cap=D("100000.00"), valid_from=dt.date(2027, 1, 1),
        valid_to=dt.date(2027, 12, 31), lease_kinds=["long"],
    )  # fmt: skip
    grant = voucher_grant_create(actor=None, program=programme, tenant=tenant, amount=D("20000.00"))
    with at("2027-01-01 08:00"):
        lease_create(actor=None, tenant=tenant, kind="long", card_model=domestic, card_count=2,
                     start=dt.date(2027, 1, 1), term_months=12)  # fmt: skip
    with at("2027-05-02 08:00"):
        for month in ("2027-01", "2027-02", "2027-03", "2027-04"):
            run(month)
    invoices = list(Invoice.objects.filter(tenant=tenant).order_by("month"))
    assert len(invoices) == 4  # each would take 7020.00 × 30 % = 2106.00

    def work(index):
        if index == 4:
            if action == "revoke":
                return voucher_grant_revoke(actor=None, grant=grant)
            return voucher_program_close(actor=None, program=programme)
        return invoice_issue(actor=None, invoice=invoices[index])

    with at("2027-05-02 09:00"):
        results = run_concurrently(5, work)
    assert all(not isinstance(r, Exception) for r in results), results
    grant.refresh_from_db()
    programme.refresh_from_db()
    stopped = grant.revoked_at if action == "revoke" else programme.closed_at
    redemptions = list(VoucherRedemption.objects.filter(grant=grant))
    assert all(r.created_at <= stopped for r in redemptions)
    redeemed = sum((r.amount for r in redemptions), D("0.00"))
    assert redeemed == grant.redeemed == D("2106.00") * len(redemptions)
    assert sorted(r.voucher_deduction for r in results[:4]).count(D("2106.00")) == len(redemptions)
    expected_granted = grant.redeemed if action == "revoke" else grant.amount
    assert VoucherProgram.objects.get().granted == expected_granted
    assert VoucherGrant.objects.count() == 1
