"""The invariant: for every lease and month, the daily revenue snapshots summed and rounded
equal the invoice line, over a generated month with many leases."""

import datetime as dt
import random
from decimal import Decimal

import pytest
import time_machine

from analytics.models import RevenueDaily
from analytics.services import snapshots_recompute
from billing.models import InvoiceLine
from billing.services.invoicing import invoice_run
from core import clock
from core.money import round_money
from leasing.services import lease_create, lease_stop, lease_terminate
from tests.factories import CardModelFactory, RackFactory, TenantFactory, make_server_with_cards

pytestmark = pytest.mark.django_db

MONTH = dt.date(2028, 2, 1)  # a leap February


def test_revenue_snapshots_add_up_to_the_invoice_lines():
    rng = random.Random(20280229)
    models = [
        CardModelFactory(hourly_rate=Decimal("7.5000"), monthly_rate=Decimal("3900.0000")),
        CardModelFactory(hourly_rate=Decimal("22.0000"), monthly_rate=Decimal("9375.0000")),
        CardModelFactory(hourly_rate=Decimal("3.3333"), monthly_rate=Decimal("1733.3333")),
    ]
    for model in models:
        for _ in range(3):
            make_server_with_cards(RackFactory(), model)
    tenants = [TenantFactory() for _ in range(5)]
    tz = clock.operator_tz()
    base = dt.datetime(2028, 1, 25, tzinfo=tz)
    leases = []
    for _ in range(40):
        when = base + dt.timedelta(seconds=rng.randrange(0, 30 * 24 * 3600))
        model = rng.choice(models)
        with time_machine.travel(when, tick=False):
            try:
                if rng.random() < 0.3:
                    lease = lease_create(
                        actor=None,
                        tenant=rng.choice(tenants),
                        kind="long",
                        card_model=model,
                        card_count=rng.randint(1, 4),
                        start=when.date() + dt.timedelta(days=1),
                        term_months=rng.choice([12, 24]),
                    )
                else:
                    lease = lease_create(
                        actor=None,
                        tenant=rng.choice(tenants),
                        kind="short",
                        card_model=model,
                        card_count=rng.randint(1, 3),
                    )
            except Exception:
                continue
        leases.append((lease, when))
    for lease, when in leases:
        if lease.kind == "short" and rng.random() < 0.8:
            stop_at = when + dt.timedelta(seconds=rng.randrange(60, 6 * 24 * 3600))
            with time_machine.travel(stop_at, tick=False):
                lease_stop(actor=None, lease=lease)
        elif lease.kind == "long" and rng.random() < 0.3:
            with time_machine.travel(when + dt.timedelta(days=1), tick=False):
                lease_terminate(actor=None, lease=lease, effective=dt.date(2028, 2, 20))
    # Leases still running at month end are stopped then, so both sides see a finished month.
    with time_machine.travel(dt.datetime(2028, 3, 5, tzinfo=tz), tick=False):
        for lease, _ in leases:
            lease.refresh_from_db()
            if lease.kind == "short" and lease.status == "active":
                lease_stop(actor=None, lease=lease)
        assert invoice_run(month=MONTH).status == "done"
        snapshots_recompute(day_from=MONTH, day_to=dt.date(2028, 2, 29))

    lines = InvoiceLine.objects.filter(
        invoice__month=MONTH, kind__in=["long_lease_fee", "short_lease_usage"]
    )
    assert lines.count() > 15
    for line in lines:
        daily = RevenueDaily.objects.filter(
            lease_id=line.lease_id, day__gte=MONTH, day__lt=dt.date(2028, 3, 1)
        )
        total = sum((r.amount for r in daily), Decimal(0))
        assert round_money(total) == line.amount, (line.kind, line.lease_id)


def test_a_half_cent_fee_over_a_31_day_month_still_adds_up_to_its_line():
    # 10000.05 × (1 − 10 %) = 9000.0450 a card-month: 31 days of round(9000.045 / 31, 6) =
    # 290.324032 would add up to 9000.044992 → 9000.04, a cent under the line's 9000.05
    model = CardModelFactory(monthly_rate=Decimal("10000.0500"))
    make_server_with_cards(RackFactory(), model, cards=1)
    tenant = TenantFactory()
    with time_machine.travel(dt.datetime(2028, 2, 20, tzinfo=clock.operator_tz()), tick=False):
        lease = lease_create(actor=None, tenant=tenant, kind="long", card_model=model,
                             card_count=1, start=dt.date(2028, 3, 1), term_months=12)  # fmt: skip
    with time_machine.travel(dt.datetime(2028, 4, 1, 2, tzinfo=clock.operator_tz()), tick=False):
        snapshots_recompute(day_from=dt.date(2028, 3, 1), day_to=dt.date(2028, 3, 31))
        invoice_run(month=dt.date(2028, 3, 1))
    total = sum(r.amount for r in RevenueDaily.objects.filter(lease_id=lease.pk))
    line = InvoiceLine.objects.get(lease=lease, kind="long_lease_fee")
    assert line.amount == Decimal("9000.05")
    assert round_money(total) == line.amount
