"""Real threads, real transactions: a fapiao number is recorded once per invoice and on one
invoice only, whoever records it at the same moment."""

import datetime as dt

import pytest

from billing.models import Invoice
from billing.services.fapiao import invoice_fapiao_record
from billing.services.invoicing import invoice_issue
from core.exceptions import ApplicationError
from tests.billing.conftest import invoice_for, long_lease, run
from tests.concurrency import run_concurrently
from tests.factories import TenantFactory
from tests.timing import at

pytestmark = pytest.mark.django_db(transaction=True)

APRIL_2ND = dt.date(2027, 4, 2)


@pytest.fixture
def two_issued(domestic):
    tenants = [TenantFactory(), TenantFactory()]
    with at("2027-02-20 10:00"):
        for tenant in tenants:
            long_lease(tenant, domestic, 1, "2027-03-01")
    with at("2027-04-02 09:00"):
        run("2027-03")
        return [invoice_issue(actor=None, invoice=invoice_for(t, "2027-03")) for t in tenants]


def _outcome(result):
    if isinstance(result, ApplicationError):
        return result.code
    return "recorded" if isinstance(result, Invoice) else repr(result)


def test_two_numbers_for_one_invoice_at_once_record_one(two_issued):
    invoice = two_issued[0]
    with at("2027-04-02 10:00"):
        results = run_concurrently(
            2,
            lambda i: invoice_fapiao_record(
                actor=None, invoice=invoice, number=f"{i + 1}" * 20, issued_on=APRIL_2ND
            ),
        )
    assert sorted(_outcome(r) for r in results) == ["fapiao_recorded", "recorded"]
    assert Invoice.objects.get(pk=invoice.pk).fapiao_number in ("1" * 20, "2" * 20)


def test_one_number_for_two_invoices_at_once_lands_on_one(two_issued):
    with at("2027-04-02 10:00"):
        results = run_concurrently(
            2,
            lambda i: invoice_fapiao_record(
                actor=None, invoice=two_issued[i], number="7" * 20, issued_on=APRIL_2ND
            ),
        )
    assert sorted(_outcome(r) for r in results) == ["duplicate", "recorded"]
    assert Invoice.objects.filter(fapiao_number="7" * 20).count() == 1
