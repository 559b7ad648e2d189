"""The benchmark lease generator: a plausible, consistent year of leasing on a small fleet."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from accounts.models import Tenant
from bench.fleet.inventory import generate_inventory
from bench.fleet.leases import (
    TENANTS,
    Window,
    generate_leases,
    load_cards,
    load_prices,
    plan_leases,
)
from core import clock
from leasing.choices import LeaseKind, LeaseStatus
from leasing.models import Allocation, Lease, LeaseEvent
from leasing.terms import long_lease_monthly_fee
from marketplace.choices import CardStatus
from marketplace.models import Card

NOW = dt.datetime(2027, 3, 10, 4, 0, 17, tzinfo=dt.UTC)
DAYS = 60


def scalar(sql: str, params: list[object] | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()[0]


@pytest.fixture
def generated(db):
    with time_machine.travel(NOW, tick=False):
        generate_inventory(cards=320)
        # Cards that must never be allocated: one in maintenance, one retired.
        Card.objects.filter(serial="GF-0000003").update(status=CardStatus.MAINTENANCE)
        Card.objects.filter(serial="GF-0000100").update(status=CardStatus.RETIRED)
        return generate_leases(days=DAYS, seed=1)


def test_counts_match_what_was_written(generated):
    assert generated["tenants"] == TENANTS == Tenant.objects.filter(name__startswith="Gen ").count()
    assert 0 < generated["leases"] == Lease.objects.count()
    assert 0 < generated["allocations"] == Allocation.objects.count()
    assert LeaseEvent.objects.count() == generated["leases"]
    assert set(Lease.objects.values_list("kind", flat=True)) == {LeaseKind.LONG, LeaseKind.SHORT}
    assert Tenant.objects.get(name="Gen tenant 0001").category == "startup"
    assert Tenant.objects.get(name="Gen tenant 0002").category == "sme"


def test_no_card_is_double_booked(generated):
    overlaps = scalar(
        """
        SELECT count(*) FROM leasing_allocation a
        JOIN leasing_allocation b ON a.card_id = b.card_id AND a.id < b.id
                                  AND a.period && b.period
        """
    )
    assert overlaps == 0


def test_cards_are_of_the_lease_model_and_allocatable(generated):
    wrong_model = scalar(
        """
        SELECT count(*) FROM leasing_allocation a
        JOIN leasing_lease l ON l.id = a.lease_id
        JOIN marketplace_card c ON c.id = a.card_id
        WHERE c.card_model_id <> l.card_model_id OR a.card_model_id <> c.card_model_id
        """
    )
    assert wrong_model == 0  # the allocations' own card model (filled as they are copied) too
    assert not Allocation.objects.filter(card__status__in=["maintenance", "retired"]).exists()


def test_every_lease_holds_card_count_cards_over_its_term(generated):
    mismatched = scalar(
        """
        SELECT count(*) FROM leasing_lease l
        WHERE l.card_count <> (SELECT count(*) FROM leasing_allocation a WHERE a.lease_id = l.id)
           OR EXISTS (SELECT 1 FROM leasing_allocation a WHERE a.lease_id = l.id
                      AND a.period <> tstzrange(l.start, l."end", '[)'))
        """
    )
    assert mismatched == 0
    assert Lease.objects.filter(card_count__gt=16).count() == 0


def test_statuses_follow_the_clock(generated):
    leases = list(Lease.objects.all())
    for lease in leases:
        assert lease.end is not None
        if lease.end <= NOW:
            expected = LeaseStatus.ENDED
        elif lease.start <= NOW:
            expected = LeaseStatus.ACTIVE
        else:
            expected = LeaseStatus.RESERVED
        assert lease.status == expected, lease
    statuses = {lease.status for lease in leases}
    assert {LeaseStatus.ENDED, LeaseStatus.ACTIVE, LeaseStatus.RESERVED} <= statuses
    events = LeaseEvent.objects.filter(from_status="").values_list("lease_id", "to_status")
    assert dict(events) == {lease.pk: lease.status for lease in leases}


def test_long_and_short_terms(generated):
    horizon = clock.day_start(clock.local_date(NOW) + dt.timedelta(days=30))
    for lease in Lease.objects.select_related("card_model"):
        assert lease.end is not None
        assert lease.start < horizon
        assert lease.created_at <= NOW
        if lease.kind == LeaseKind.LONG:
            assert lease.term_months in {12, 24, 36}
            first_day = clock.local_date(lease.start)
            assert lease.start == clock.day_start(first_day)
            assert lease.end == clock.day_start(clock.add_months(first_day, lease.term_months))
            assert lease.committed_end == lease.end
            assert lease.unit_price == long_lease_monthly_fee(lease.card_model, lease.term_months)
        else:
            assert lease.term_months is None and lease.committed_end is None
            assert lease.unit_price == lease.card_model.hourly_rate
            assert dt.timedelta(hours=1) <= lease.end - lease.start <= dt.timedelta(days=14)
            assert lease.start.second != 0


def test_rental_rate_is_plausible(generated):
    with time_machine.travel(NOW, tick=False):
        first = clock.day_start(clock.local_today() - dt.timedelta(days=DAYS))
    leased = scalar(
        """
        SELECT sum(extract(epoch FROM upper(a.period * tstzrange(%s, %s))
                                    - lower(a.period * tstzrange(%s, %s))))
        FROM leasing_allocation a WHERE a.period && tstzrange(%s, %s)
        """,
        [first, NOW] * 3,
    )
    cards = Card.objects.allocatable().count()
    rate = Decimal(leased) / Decimal(cards * (NOW - first).total_seconds())
    assert Decimal("0.55") < rate < Decimal("0.95")


def test_the_plan_is_deterministic(db):
    with time_machine.travel(NOW, tick=False):
        generate_inventory(cards=96)
        cards, prices = load_cards(), load_prices()
        window = Window.around(clock.now(), DAYS)

        def plan(seed: int) -> list[tuple[object, ...]]:
            leases = plan_leases(cards=cards, prices=prices, tenants=50, window=window, seed=seed)
            return [(x.kind, x.tenant, x.start, x.end, tuple(x.cards), x.status) for x in leases]

        assert plan(7) == plan(7)
        assert plan(7) != plan(8)
