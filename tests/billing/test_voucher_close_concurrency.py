"""Real threads, real transactions: a grant revoked, or its programme closed, while invoices are
being issued. Whatever the order, nothing is redeemed after the revoke or close, the grant's
`redeemed` equals its redemptions, and the programme's `granted` equals what its grant holds."""

import pytest

from billing.models import VoucherGrant, VoucherProgram, VoucherRedemption
from billing.services.invoicing import invoice_issue
from billing.services.vouchers import (
    voucher_grant_revoke,
    voucher_program_close,
)
from tests.billing.conftest import D, voucher_drafts
from tests.concurrency import run_concurrently
from tests.timing import at

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("action", ["revoke", "close"])
def test_a_revoke_or_close_racing_issues_leaves_the_books_consistent(domestic, action):
    _, programme, grant, invoices = voucher_drafts(domestic, grant="20000.00", months=4)

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
