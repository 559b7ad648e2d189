"""Nightly occupancy and revenue, worked by hand for a small fleet."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from analytics.models import OccupancyDaily, RevenueDaily
from analytics.reports import occupancy_report, revenue_report
from analytics.services import snapshots_recompute
from leasing.services import card_swap, lease_create, lease_stop
from marketplace.models import Card, Rack
from tests.analytics.conftest import DAY
from tests.timing import at

pytestmark = pytest.mark.django_db


def test_a_day_by_hand(story):
    with at("2027-03-12 01:00"):
        snapshots_recompute(day_from=DAY, day_to=DAY)
    row = OccupancyDaily.objects.get(day=DAY, rack_id=story["rack"].pk)
    assert (row.cards_installed, row.cards_in_service) == (4, 3)
    assert row.card_hours_available == Decimal("72.0000")
    assert row.card_hours_leased == Decimal("57.5000")  # 2 × 24 + 9.5
    assert row.card_hours_busy == Decimal("15.0000")  # 12 + 3
    [report] = occupancy_report(day_from=DAY, day_to=DAY, group_by="rack", granularity="day")
    assert report == {
        "period": "2027-03-10",
        "group": story["rack"].pk,
        "group_name": story["rack"].name,
        "cards_installed": 4,
        "cards_in_service": 3,
        "card_hours_available": "72.0000",
        "card_hours_leased": "57.5000",
        "card_hours_busy": "15.0000",
        "rental_rate": "0.7986",
        "utilisation": "0.2609",
        "racking_rate": "0.5000",
    }
    revenue = {r.lease_id: r.amount for r in RevenueDaily.objects.filter(day=DAY)}
    # long: 3510 × 2 / 31 = 226.4516129… ; short: 570 minutes × 7.5 / 60 = 71.25
    assert revenue == {story["long"].pk: Decimal("226.451613"), story["short"].pk: Decimal("71.25")}


def test_the_next_day_and_the_rollups(story):
    with at("2027-03-12 01:00"):
        snapshots_recompute(day_from=DAY, day_to=DAY + dt.timedelta(days=1))
    rows = occupancy_report(
        day_from=DAY, day_to=DAY + dt.timedelta(days=1), group_by="site", granularity="day"
    )
    # 11 March: the long lease all day (48 h), the short one until 03:00 → widened nothing,
    # held 3 h; busy: the other half of b2 (3 h).
    assert [(r["period"], r["card_hours_leased"], r["card_hours_busy"]) for r in rows] == [
        ("2027-03-10", "57.5000", "15.0000"),
        ("2027-03-11", "51.0000", "3.0000"),
    ]
    [month] = occupancy_report(
        day_from=DAY, day_to=DAY + dt.timedelta(days=1), group_by="fleet", granularity="month"
    )
    assert month["period"] == "2027-03"
    assert month["group"] == "fleet"
    assert month["card_hours_available"] == "144.0000"
    assert month["rental_rate"] == "0.7535"  # 108.5 / 144
    by_kind = revenue_report(
        day_from=DAY, day_to=DAY + dt.timedelta(days=1), group_by="lease_kind", granularity="month"
    )
    # long: 2 days × 226.451613 = 452.903226 → 452.90; short: (570 + 180) × 7.5 / 60 = 93.75
    assert by_kind == [
        {"period": "2027-03", "group": "long", "group_name": "Long lease", "amount": "452.90"},
        {"period": "2027-03", "group": "short", "group_name": "Short lease", "amount": "93.75"},
    ]


def test_a_rerun_replaces_and_never_duplicates(story):
    with at("2027-03-12 01:00"):
        snapshots_recompute(day_from=DAY, day_to=DAY)
        first = list(
            OccupancyDaily.objects.order_by("rack_id").values_list(
                "rack_id", "card_hours_leased", "card_hours_busy"
            )
        )
        snapshots_recompute(day_from=DAY, day_to=DAY)
    assert (
        list(
            OccupancyDaily.objects.order_by("rack_id").values_list(
                "rack_id", "card_hours_leased", "card_hours_busy"
            )
        )
        == first
    )
    assert RevenueDaily.objects.count() == 2


def _versions() -> dict[str, set]:
    """Each snapshot row's key and row version (xmin): a row rewritten gets a new one."""
    with connection.cursor() as cursor:
        found = {}
        for table, key in (
            ("analytics_occupancydaily", "day, rack_id, card_model_id"),
            ("analytics_revenuedaily", "day, lease_id"),
            ("analytics_sitedaily", "day, site_id"),
        ):
            cursor.execute(f"SELECT ({key})::text, xmin::text FROM {table}")
            found[table] = set(cursor.fetchall())
    return found


def test_a_rerun_of_an_unchanged_day_writes_nothing_and_a_change_touches_only_its_rows(story):
    with at("2027-03-12 01:00"):
        snapshots_recompute(day_from=DAY, day_to=DAY)
        before = _versions()
        snapshots_recompute(day_from=DAY, day_to=DAY)
        assert _versions() == before  # same rows, same versions: nothing written
        right = sorted(RevenueDaily.objects.values_list("day", "lease_id", "amount"))
        # a wrong row is put right, a row the day no longer computes goes
        RevenueDaily.objects.filter(lease_id=story["long"].pk).update(amount=Decimal("0.5"))
        planned = Rack.objects.get(site=story["site"], status="planned")
        OccupancyDaily.objects.create(
            day=DAY,
            rack_id=planned.pk,
            site_id=story["site"].pk,
            card_model_id=story["model"].pk,
            cards_installed=4,
            cards_in_service=4,
            card_hours_available=96,
            card_hours_leased=0,
            card_hours_busy=0,
        )
        snapshots_recompute(day_from=DAY, day_to=DAY)
    assert sorted(RevenueDaily.objects.values_list("day", "lease_id", "amount")) == right
    assert not OccupancyDaily.objects.filter(rack_id=planned.pk).exists()
    after = _versions()
    assert after["analytics_occupancydaily"] == before["analytics_occupancydaily"]
    assert after["analytics_sitedaily"] == before["analytics_sitedaily"]
    changed = after["analytics_revenuedaily"] - before["analytics_revenuedaily"]
    assert [key for key, _ in changed] == [f"({DAY},{story['long'].pk})"]


def test_a_bad_range_is_refused(story):
    from core.exceptions import InvalidInput

    with pytest.raises(InvalidInput):
        snapshots_recompute(day_from=DAY, day_to=DAY - dt.timedelta(days=1))
    with pytest.raises(InvalidInput):
        snapshots_recompute(day_from=DAY, day_to=DAY + dt.timedelta(days=3 * 366))


def test_short_revenue_counts_whole_minutes_per_day_and_a_running_hold_until_now(story, tenant):
    model = story["model"]
    with at("2027-03-12 23:30:20"):
        overnight = lease_create(
            actor=None, tenant=tenant, kind="short", card_model=model, card_count=1
        )
    with at("2027-03-13 00:10:40"):
        lease_stop(actor=None, lease=overnight)
    with at("2027-03-13 08:00:30"):
        running = lease_create(
            actor=None, tenant=tenant, kind="short", card_model=model, card_count=1
        )
    with at("2027-03-13 09:15:50"):
        snapshots_recompute(day_from=DAY + dt.timedelta(days=2), day_to=DAY + dt.timedelta(days=3))
    revenue = {
        (r.day.day, r.lease_id): r.amount
        for r in RevenueDaily.objects.filter(lease_id__in=[overnight.pk, running.pk])
    }
    # widened to 23:30 → 00:11: 30 minutes on the 12th, 11 on the 13th; the running hold from
    # 08:00 to now's whole minute, 09:15: 75 minutes (× 7.5 / 60)
    assert revenue == {
        (12, overnight.pk): Decimal("3.75"),
        (13, overnight.pk): Decimal("1.375"),
        (13, running.pk): Decimal("9.375"),
    }


def test_a_card_swapped_out_mid_day_counts_as_available_while_it_was_held(story):
    cards = list(Card.objects.filter(server__rack=story["rack"]).order_by("id"))
    with at("2027-03-12 12:00"):  # card 1 of the long lease goes to maintenance; card 3 stands in
        card_swap(actor=None, card=cards[0])
    with at("2027-03-13 01:00"):
        snapshots_recompute(day_from=DAY + dt.timedelta(days=2), day_to=DAY + dt.timedelta(days=2))
    row = OccupancyDaily.objects.get(day=DAY + dt.timedelta(days=2), rack_id=story["rack"].pk)
    # in service now: cards 2 and 3 (48 h), plus the 12 h card 1 was held before the swap;
    # leased: card 1 12 h + card 2 24 h + card 3 12 h
    assert row.cards_in_service == 2
    assert (row.card_hours_available, row.card_hours_leased) == (Decimal("60"), Decimal("48"))
