import datetime as dt

import pytest
import time_machine

from tests.factories import CardModelFactory, RackFactory, make_server_with_cards

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2027, 3, 10, 4, 0, tzinfo=dt.UTC)  # 12:00 in Shanghai


@pytest.fixture
def fleet():
    model = CardModelFactory()  # 7.5000/h, 3900.0000/month
    rack = RackFactory()
    servers = [make_server_with_cards(rack, model)[0] for _ in range(2)]
    return model, servers


@time_machine.travel(NOW, tick=False)
def test_a_short_request_is_placed_and_quoted_by_the_hour(tenant_client, fleet) -> None:
    model, servers = fleet
    response = tenant_client.get(
        "/api/v1/availability/",
        {
            "card_model": model.pk,
            "count": 8,
            "start": "2027-03-11T08:00:00+08:00",
            "end": "2027-03-11T18:30:00+08:00",
        },
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["available"] is True
    assert body["card_count"] == 8
    assert body["free_cards"] == 16
    assert [s["id"] for s in body["servers"]] == [servers[0].pk]
    assert len(body["servers"][0]["cards"]) == 8
    # 7.5 × 8 cards × 10.5 h
    assert body["quote"] == {"kind": "short", "unit_price": "7.5000", "amount": "630.00"}


@time_machine.travel(NOW, tick=False)
def test_a_long_request_is_quoted_with_the_term_discount(tenant_client, fleet) -> None:
    model, _ = fleet
    response = tenant_client.get(
        "/api/v1/availability/", {"card_model": model.pk, "count": 4, "term_months": 36}
    )
    body = response.json()
    assert body["available"] is True
    # 3900 × (1 − 0.20) = 3120.0000 per card-month; × 4 cards × 36 months
    assert body["quote"] == {"kind": "long", "unit_price": "3120.0000", "amount": "449280.00"}
    assert body["start"] == "2027-03-10T00:00:00+08:00"  # today, operator-local midnight
    assert body["end"] == "2030-03-10T00:00:00+08:00"


def test_too_many_cards_is_not_available_with_the_free_count(tenant_client, fleet) -> None:
    model, _ = fleet
    body = tenant_client.get("/api/v1/availability/", {"card_model": model.pk, "count": 17}).json()
    assert body["available"] is False
    assert body["free_cards"] == 16
    assert body["servers"] == []


MODEL = object()  # stands for the fixture's card model id


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"count": 8}, "card_model"),
        ({"card_model": 999999, "count": 8}, "card_model"),
        ({"card_model": MODEL, "count": 0}, "count"),
        ({"card_model": MODEL, "count": "many"}, "count"),
        ({"card_model": MODEL, "count": 8, "term_months": 7}, "term_months"),
        (
            {
                "card_model": MODEL,
                "count": 8,
                "start": "2027-03-11T10:00Z",
                "end": "2027-03-11T09:00Z",
            },
            "end",
        ),
        ({"card_model": MODEL, "count": 8, "colour": "red"}, "colour"),
    ],
)
def test_bad_availability_queries_are_400s(tenant_client, fleet, params, field) -> None:
    model, _ = fleet
    query = {key: model.pk if value is MODEL else value for key, value in params.items()}
    response = tenant_client.get("/api/v1/availability/", query)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


@time_machine.travel(NOW, tick=False)
def test_a_short_quote_widens_to_whole_minutes_as_billed(tenant_client, fleet) -> None:
    model, _ = fleet
    query = {"card_model": model.pk, "count": 1, "kind": "short"}
    body = tenant_client.get(
        "/api/v1/availability/",
        {**query, "start": "2027-03-11T09:00:30+08:00", "end": "2027-03-11T10:00:00+08:00"},
    ).json()
    # 01:00 → 02:00 = 60 minutes × 7.5 / 60, not 59.5 minutes (7.44)
    assert body["quote"]["amount"] == "7.50"


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    "params",
    [{"term_months": 12, "start": "2027-03-09"}, {"kind": "short", "start": "2027-03-10T03:00Z"}],
)
def test_a_start_in_the_past_is_a_400_as_it_is_for_leases(tenant_client, fleet, params) -> None:
    model, _ = fleet
    response = tenant_client.get(
        "/api/v1/availability/", {"card_model": model.pk, "count": 1, **params}
    )
    assert response.status_code == 400, response.json()
    assert "start" in response.json()["error"]["fields"]


@time_machine.travel(NOW + dt.timedelta(seconds=30), tick=False)
def test_an_open_ended_short_quote_is_one_hour(tenant_client, fleet) -> None:
    model, _ = fleet
    body = tenant_client.get(
        "/api/v1/availability/", {"card_model": model.pk, "count": 1, "kind": "short"}
    ).json()
    assert body["quote"]["amount"] == "7.50"  # 60 minutes, not 61


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    "params",
    [{"end": "2027-03-10T11:00:00+08:00"}, {"start": "2027-04-20T08:00:00+08:00"},
     {"end": "2027-07-01T08:00:00+08:00"}],
)  # fmt: skip
def test_short_windows_follow_the_lease_rules(tenant_client, fleet, params) -> None:
    model, _ = fleet
    response = tenant_client.get(
        "/api/v1/availability/", {"card_model": model.pk, "count": 1, "kind": "short", **params}
    )
    assert response.status_code == 400, response.json()
