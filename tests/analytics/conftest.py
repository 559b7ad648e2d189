"""The analytics story: a small fleet through one day, worked by hand in the tests."""

import datetime as dt
from decimal import Decimal

import pytest

from billing.services.usage import usage_records_ingest
from leasing.services import lease_create, lease_stop
from tests.factories import CardModelFactory, RackFactory, SiteFactory, make_server_with_cards
from tests.timing import at

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
        lease_stop(actor=None, lease=short)
    with at("2027-03-11 07:00"):  # once the records' windows are over
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
    return {"site": site, "rack": rack, "model": model, "long": long, "short": short}
