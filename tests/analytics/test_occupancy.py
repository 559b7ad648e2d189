"""Nightly occupancy and revenue, worked by hand for a small fleet."""

import datetime as dt
from decimal import Decimal

import pytest

from analytics.models import OccupancyDaily, RevenueDaily
from analytics.reports import occupancy_report, revenue_report
from analytics.services import snapshots_recompute
from billing.services.usage import usage_records_ingest
from leasing.services import lease_create, lease_stop
from tests.billing.conftest import at
from tests.factories import CardModelFactory, RackFactory, SiteFactory, make_server_with_cards

pytestmark = pytest.mark.django_db

DAY = dt.date(2027, 3, 10)


@pytest.fixture
def story(tenant):
    """Site with a racked rack (4 cards, one in maintenance) and a planned rack (4 cards).

    On 2027-03-10 (Shanghai): a long lease holds cards 1–2 all day (48 h); a short lease holds
    card 3 from 14:30 (9.5 h); busy: card 1 12 h in the day, card 2 6 h over 18:00 → 06:00
    (half of it, 3 h, on the day).
    """
    model = CardModelFactory(hourly_rate=Decimal("7.5000"), monthly_rate=Decimal("3900.0000"))
    site = SiteFactory()
    rack = RackFactory(site=site)
    planned = RackFactory(site=site, status="planned")
    _, cards = make_server_with_cards(rack, model, cards=4)
    make_server_with_cards(planned, model, cards=4)
    cards[3].status = "maintenance"
    cards[3].save()
    with at("2027-03-09 12:00"):
        long = lease_create(
            actor=None,
            tenant=tenant,
            kind="long",
            card_model=model,
            card_count=2,
            start=DAY,
            term_months=12,
        )
    with at("2027-03-10 14:30"):
        short = lease_create(
            actor=None, tenant=tenant, kind="short", card_model=model, card_count=1
        )
    with at("2027-03-11 03:00"):
        result = usage_records_ingest(
            records=[
                {
                    "source": "dcgm",
                    "external_id": "b1",
                    "lease": long.pk,
                    "card": cards[0].pk,
                    "metric": "card_busy_hours",
                    "quantity": Decimal("12"),
                    "start": "2027-03-10T00:00:00+08:00",
                    "end": "2027-03-11T00:00:00+08:00",
                },
                {
                    "source": "dcgm",
                    "external_id": "b2",
                    "lease": long.pk,
                    "card": cards[1].pk,
                    "metric": "card_busy_hours",
                    "quantity": Decimal("6"),
                    "start": "2027-03-10T18:00:00+08:00",
                    "end": "2027-03-11T06:00:00+08:00",
                },
            ]
        )
        assert result.accepted == 2, result.errors
        lease_stop(actor=None, lease=short)
    return {"site": site, "rack": rack, "model": model, "long": long, "short": short}


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
        {"period": "2027-03", "group": "long", "amount": "452.90"},
        {"period": "2027-03", "group": "short", "amount": "93.75"},
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


def test_a_bad_range_is_refused(story):
    from core.exceptions import InvalidInput

    with pytest.raises(InvalidInput):
        snapshots_recompute(day_from=DAY, day_to=DAY - dt.timedelta(days=1))
    with pytest.raises(InvalidInput):
        snapshots_recompute(day_from=DAY, day_to=DAY + dt.timedelta(days=3 * 366))
