import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from accounts.models import Tenant
from billing.models import Invoice
from billing.services.invoicing import invoice_issue, invoice_run
from core import clock
from leasing.services import lease_create
from tests.factories import CardModelFactory, RackFactory, make_server_with_cards
from tests.timing import at


@pytest.fixture
def domestic(db):
    model = CardModelFactory(
        name="Ascend-910B",
        domestic=True,
        hourly_rate=Decimal("7.5000"),
        monthly_rate=Decimal("3900.0000"),
    )
    make_server_with_cards(RackFactory(), model)
    return model


@pytest.fixture
def imported(db):
    model = CardModelFactory(
        name="H100", vendor="NVIDIA", domestic=False, hourly_rate=Decimal("22.0000"),
        monthly_rate=Decimal("9375.0000"),
    )  # fmt: skip
    make_server_with_cards(RackFactory(), model)
    return model


def long_lease(tenant: Tenant, model, cards: int, start: str, term: int = 12):
    return lease_create(
        actor=None, tenant=tenant, kind="long", card_model=model, card_count=cards,
        start=dt.date.fromisoformat(start), term_months=term,
    )  # fmt: skip


def run(month: str) -> None:
    result = invoice_run(month=clock.parse_month(month))
    assert result.status == "done", result.error


def invoice_for(tenant: Tenant, month: str) -> Invoice:
    return Invoice.objects.exclude(status="void").get(tenant=tenant, month=clock.parse_month(month))


def lines(invoice: Invoice) -> list[tuple]:
    return [
        (line.kind, line.lease_id, line.quantity, line.unit_price, line.amount,
         line.period_start.isoformat(), line.period_end.isoformat())
        for line in invoice.lines.order_by("id")
    ]  # fmt: skip


def issue(invoice: Invoice) -> Invoice:
    return invoice_issue(actor=None, invoice=invoice)


def voucher_drafts(domestic, *, grant: str, months: int) -> tuple[Tenant, Any, Any, list[Invoice]]:
    """A tenant of a 30 % programme (Hubei, long leases of 2027) with a grant of `grant`, a
    2-card long lease from 2027-01-01, and the drafts of its first `months` months (each would
    take 7,020.00 × 30 % = 2,106.00 of the grant): (tenant, programme, grant, drafts by month)."""
    from billing.services.vouchers import voucher_grant_create, voucher_program_create
    from tests.factories import TenantFactory

    tenant = TenantFactory()
    programme = voucher_program_create(
        actor=None, issuer="Hubei", name="p", budget=Decimal("100000.00"),
        coverage_rate=Decimal("0.3000"), per_tenant_cap=Decimal("100000.00"),
        valid_from=dt.date(2027, 1, 1), valid_to=dt.date(2027, 12, 31), lease_kinds=["long"],
    )  # fmt: skip
    granted = voucher_grant_create(
        actor=None, program=programme, tenant=tenant, amount=Decimal(grant)
    )
    with at("2027-01-01 08:00"):
        lease_create(actor=None, tenant=tenant, kind="long", card_model=domestic, card_count=2,
                     start=dt.date(2027, 1, 1), term_months=12)  # fmt: skip
    with at(f"2027-{months + 1:02d}-02 08:00"):
        for month in range(1, months + 1):
            run(f"2027-{month:02d}")
    drafts = list(Invoice.objects.filter(tenant=tenant).order_by("month"))
    assert len(drafts) == months
    return tenant, programme, granted, drafts


D = Decimal


@pytest.fixture
def lease(tenant, domestic):
    """A 2-card, 12-month long lease from 2027-03-01."""
    with at("2027-03-01 00:00"):
        return lease_create(
            actor=None, tenant=tenant, kind="long", card_model=domestic, card_count=2,
            start=dt.date(2027, 3, 1), term_months=12,
        )  # fmt: skip


@pytest.fixture
def reported_later():
    """The clock at 2027-04-01 (Shanghai), after the March windows usage records report."""
    with at("2027-04-01 00:00"):
        yield


def usage_record(lease_, n: int = 0, **overrides):
    """One storage record for a usage batch, inside `lease_`'s term."""
    return {
        "source": "ceph-meter", "external_id": f"r-{n}", "lease": lease_.pk, "metric":
        "storage_tb_hours", "quantity": "1.5", "start": "2027-03-10T00:00:00Z",
        "end": "2027-03-10T01:00:00Z", **overrides,
    }  # fmt: skip
