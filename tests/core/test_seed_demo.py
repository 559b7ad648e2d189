"""`seed_demo`: demo data with a history, so reports and the month end show something at once."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command

from analytics.models import RecomputeRun
from billing.models import Invoice, UsageRecord
from core import clock
from leasing.models import Lease, LeaseEvent

pytestmark = pytest.mark.django_db


def _last_month() -> tuple[dt.date, dt.date]:
    first_of_this = clock.month_first(clock.local_today())
    first = clock.add_months(first_of_this, -1)
    return first, first_of_this - dt.timedelta(days=1)


@pytest.fixture
def seeded() -> None:
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115


def test_last_months_occupancy_report_shows_the_fleet_leased_and_busy(seeded, finance_client):
    first, last = _last_month()
    response = finance_client.get(
        "/api/v1/reports/occupancy/",
        {"from": first, "to": last, "group_by": "fleet", "granularity": "month"},
    )
    assert response.status_code == 200, response.json()
    rows = response.json()
    rows = rows["results"] if isinstance(rows, dict) else rows
    assert len(rows) == 1
    assert Decimal(rows[0]["card_hours_leased"]) > 0
    assert Decimal(rows[0]["card_hours_busy"]) > 0  # from the meters' card_busy_hours
    assert 0 < Decimal(rows[0]["utilisation"]) <= 1


def test_last_months_revenue_report_has_long_and_short_leases(seeded, finance_client):
    first, last = _last_month()
    response = finance_client.get(
        "/api/v1/reports/revenue/",
        {"from": first, "to": last, "group_by": "lease_kind", "granularity": "month"},
    )
    assert response.status_code == 200, response.json()
    rows = response.json()
    rows = rows["results"] if isinstance(rows, dict) else rows
    amounts = {row["group"]: Decimal(row["amount"]) for row in rows}
    assert amounts.get("long", 0) > 0
    assert sum(amounts.values()) > 0


def test_months_are_paid_issued_and_last_month_is_a_draft(seeded) -> None:
    first, _ = _last_month()
    before = clock.add_months(first, -1)
    issued = Invoice.objects.filter(month=before)
    assert issued.exists()
    assert set(issued.values_list("status", flat=True)) == {"issued"}
    assert all(number.startswith("INV-") for number in issued.values_list("number", flat=True))
    drafts = Invoice.objects.filter(month=first)
    assert drafts.exists()
    assert set(drafts.values_list("status", flat=True)) == {"draft"}
    assert Invoice.objects.filter(voucher_deduction__gt=0, status="issued").exists()
    paid = Invoice.objects.filter(month=clock.add_months(first, -2))
    assert paid.exists() and set(paid.values_list("status", flat=True)) == {"paid"}
    for invoice in paid:  # issued and paid on days of the month after, as finance would
        assert clock.local_date(invoice.issued_at) < invoice.paid_on < clock.local_today()


def test_the_racks_rental_rates_spread_for_the_heat_map(seeded) -> None:
    from analytics.models import OccupancyDaily

    yesterday = clock.local_today() - dt.timedelta(days=1)
    days = OccupancyDaily.objects.filter(day__gte=yesterday - dt.timedelta(days=89))
    assert days.values("day").distinct().count() == 90  # a full 90-day trend
    rates = set()
    for rack_id in set(days.filter(day=yesterday).values_list("rack_id", flat=True)):
        rows = days.filter(day=yesterday, rack_id=rack_id)
        leased = sum(row.card_hours_leased for row in rows)
        available = sum(row.card_hours_available for row in rows)
        rates.add(int(leased / available * 5) if available else None)
    assert len(rates) >= 3  # tiles in at least three colour bands of 20 %


def test_the_history_went_through_the_services(seeded) -> None:
    history = Lease.objects.filter(start__lt=clock.day_start(_last_month()[0]))
    assert history.filter(kind="long", status="active").exists()
    assert history.filter(kind="short", status="ended").exists()
    assert UsageRecord.objects.filter(metric__code="card_busy_hours").exists()
    assert UsageRecord.objects.filter(source="platform").exists()  # metered short jobs
    created = LeaseEvent.objects.filter(reason="created").order_by("at").first()
    assert created is not None and created.at < clock.now() - dt.timedelta(days=28)
    assert RecomputeRun.objects.filter(status="done").exists()


def test_seeding_twice_changes_nothing(seeded) -> None:
    def counts() -> tuple[int, ...]:
        return (
            Lease.objects.count(),
            LeaseEvent.objects.count(),
            UsageRecord.objects.count(),
            Invoice.objects.count(),
            RecomputeRun.objects.count(),
        )

    before = counts()
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert counts() == before


def test_demo_tenants_have_billing_profiles_and_the_oldest_invoices_fapiao(seeded, finance_client):
    from stdnum.cn import uscc

    from billing.models import BillingProfile

    profiles = list(BillingProfile.objects.order_by("tenant_id"))
    assert [p.fapiao_type for p in profiles] == ["special", "ordinary", "ordinary"]
    assert all(uscc.is_valid(p.tax_id) and "DEMO" in p.invoice_title for p in profiles)
    recorded = Invoice.objects.filter(fapiao_number__isnull=False).order_by("id")
    assert recorded.exists() and all(i.status == "paid" for i in recorded)
    request = finance_client.get(f"/api/v1/invoices/{recorded[0].pk}/fapiao/").json()
    assert "DEMO" in request["seller"]["name"] and "DEMO" in request["buyer"]["name"]
