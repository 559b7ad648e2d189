import datetime as dt

import pytest
import time_machine

from tests.factories import CardModelFactory, RackFactory, make_server_with_cards

# 2027-03-10 12:00 in Shanghai.
NOW = dt.datetime(2027, 3, 10, 4, 0, tzinfo=dt.UTC)


@pytest.fixture
def frozen_now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def model(db):
    return CardModelFactory(hourly_rate="7.5000", monthly_rate="3900.0000")


@pytest.fixture
def fleet(model):
    """One racked rack with two eight-card servers of `model`."""
    rack = RackFactory()
    return [make_server_with_cards(rack, model) for _ in range(2)]


def long_body(model, **overrides):
    return {"kind": "long", "card_model": model.pk, "card_count": 8, "term_months": 12,
            "start": "2027-03-15", **overrides}  # fmt: skip


def short_body(model, **overrides):
    return {"kind": "short", "card_model": model.pk, "card_count": 4, **overrides}
