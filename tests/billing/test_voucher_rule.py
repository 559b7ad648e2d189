"""How grants pay: grants of one programme share its rates; different programmes stack."""

import datetime as dt

import pytest

from billing.choices import LineKind
from billing.models import Invoice, InvoiceLine, VoucherGrant
from billing.services.vouchers import (
    voucher_grant_create,
    voucher_program_create,
    vouchers_apply,
    vouchers_preview,
)
from tests.billing.conftest import D, long_lease
from tests.timing import at

pytestmark = pytest.mark.django_db


def programme(domestic, *, rate: str, valid_to: str, domestic_rate: str | None = None):
    return voucher_program_create(
        actor=None, issuer="issuer", name=f"{rate} to {valid_to}", budget=D("100000.00"),
        coverage_rate=D(rate), per_tenant_cap=D("100000.00"), valid_from=dt.date(2027, 1, 1),
        valid_to=dt.date.fromisoformat(valid_to), lease_kinds=["long", "short"],
        model_rates=[{"card_model": domestic, "rate": D(domestic_rate)}] if domestic_rate else [],
    )  # fmt: skip


def grant(program, tenant, amount: str, valid_to: str) -> VoucherGrant:
    return voucher_grant_create(
        actor=None, program=program, tenant=tenant, amount=D(amount),
        valid_to=dt.date.fromisoformat(valid_to),
    )  # fmt: skip


def march_invoice(tenant, domestic, imported, domestic_amount: str, other_amount: str) -> Invoice:
    """A March 2027 invoice with one domestic and one imported long-lease fee line."""
    with at("2027-02-20 10:00"):
        ours, theirs = (
            long_lease(tenant, domestic, 1, "2027-03-01"),
            long_lease(tenant, imported, 1, "2027-03-01"),
        )
    invoice = Invoice.objects.create(
        tenant=tenant, month=dt.date(2027, 3, 1), currency="CNY", tax_rate="0.0600"
    )
    rows = ((ours, domestic, domestic_amount), (theirs, imported, other_amount))
    for lease, model, amount in rows:
        InvoiceLine.objects.create(
            invoice=invoice, kind=LineKind.LONG_LEASE_FEE, lease=lease, card_model=model,
            lease_kind="long", description="fee", quantity="1", unit="card-month",
            unit_price=amount, amount=amount, period_start=dt.date(2027, 3, 1),
            period_end=dt.date(2027, 4, 1),
        )  # fmt: skip
    return invoice


def redeemed(invoice: Invoice) -> dict[int, D]:
    return {r.grant_id: r.amount for r in invoice.redemptions.all()}


def test_grants_of_one_programme_together_pay_the_programmes_rate_once(tenant, domestic, imported):
    city = programme(domestic, rate="0.2000", domestic_rate="0.3000", valid_to="2027-12-31")
    small = grant(city, tenant, "1000.00", valid_to="2027-06-30")
    large = grant(city, tenant, "50000.00", valid_to="2027-12-31")
    invoice = march_invoice(tenant, domestic, imported, "9000.00", "27.77")
    # The programme covers 9,000.00 × 30 % + 27.77 × 20 % = 2,700 + 5.554 = 2,705.554 → 2,705.55:
    # the grant expiring first pays 1,000.00 of it, the other the rest, 1,705.55.
    with at("2027-04-01 09:00"):
        assert vouchers_preview(invoice=invoice) == D("2705.55")
        assert vouchers_apply(invoice=invoice) == D("2705.55")
    assert redeemed(invoice) == {small.pk: D("1000.00"), large.pk: D("1705.55")}


def test_grants_of_different_programmes_stack_earliest_expiring_programme_first(
    tenant, domestic, imported
):
    # the district's grant expires first, but its programme runs longer: the city's goes first
    district = programme(domestic, rate="0.1000", valid_to="2027-12-31")
    city = programme(domestic, rate="0.2000", domestic_rate="0.3000", valid_to="2027-09-30")
    district_grant = grant(district, tenant, "10000.00", valid_to="2027-06-30")
    city_grant = grant(city, tenant, "5000.00", valid_to="2027-09-30")
    invoice = march_invoice(tenant, domestic, imported, "14040.00", "16875.00")
    # City: 14,040.00 × 30 % + 16,875.00 × 20 % = 4,212.00 + 3,375.00 = 7,587.00, but its grant
    # holds 5,000.00: it pays 5,000.00 of the 30,915.00 of lines. The district covers 10 % of
    # what the city left unpaid: (30,915.00 − 5,000.00) × 10 % = 2,591.50.
    # (District first would have paid 3,091.50 and the city 5,000.00: 8,091.50.)
    with at("2027-04-01 09:00"):
        assert vouchers_preview(invoice=invoice) == D("7591.50")
        assert vouchers_apply(invoice=invoice) == D("7591.50")
    assert redeemed(invoice) == {city_grant.pk: D("5000.00"), district_grant.pk: D("2591.50")}


def test_stacked_programmes_never_pay_more_than_the_line(tenant, domestic, imported):
    full = programme(domestic, rate="1.0000", valid_to="2027-09-30")
    more = programme(domestic, rate="0.5000", valid_to="2027-12-31")
    grant(full, tenant, "50000.00", valid_to="2027-09-30")
    grant(more, tenant, "50000.00", valid_to="2027-12-31")
    invoice = march_invoice(tenant, domestic, imported, "100.00", "0.01")
    with at("2027-04-01 09:00"):
        assert vouchers_apply(invoice=invoice) == D("100.01")
