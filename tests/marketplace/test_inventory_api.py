from decimal import Decimal

import pytest

from core.models import AuditLog
from marketplace.models import Card, CardModel
from tests.factories import (
    CardFactory,
    CardModelFactory,
    RackFactory,
    ServerFactory,
    SiteFactory,
    make_server_with_cards,
)

pytestmark = pytest.mark.django_db

MODEL_BODY = {
    "vendor": "Huawei",
    "name": "Ascend-910C",
    "memory_gb": 128,
    "bf16_tflops": "780.00",
    "domestic": True,
    "hourly_rate": "12.5000",
    "monthly_rate": "6500.0000",
}


def test_operators_create_card_models_with_4_place_prices(operator_client) -> None:
    response = operator_client.post("/api/v1/card-models/", MODEL_BODY, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["hourly_rate"] == "12.5000"
    assert body["monthly_rate"] == "6500.0000"
    assert body["domestic"] is True
    assert AuditLog.objects.filter(action="card_model.create").count() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [("hourly_rate", "-1"), ("monthly_rate", "abc"), ("memory_gb", 0), ("bf16_tflops", "-3")],
)
def test_bad_prices_and_specs_are_400s_that_write_nothing(operator_client, field, value) -> None:
    response = operator_client.post(
        "/api/v1/card-models/", {**MODEL_BODY, field: value}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not CardModel.objects.exists()


def test_tenants_read_card_models_with_prices_but_cannot_write(tenant_client) -> None:
    CardModelFactory(name="Ascend-910B")
    body = tenant_client.get("/api/v1/card-models/").json()
    assert body["count"] == 1
    assert body["results"][0]["hourly_rate"] == "7.5000"
    assert tenant_client.post("/api/v1/card-models/", MODEL_BODY, format="json").status_code == 403


def test_tenants_cannot_write_or_read_racks_servers(tenant_client) -> None:
    rack = RackFactory()
    assert tenant_client.get("/api/v1/racks/").status_code == 403
    assert tenant_client.get("/api/v1/servers/").status_code == 403
    response = tenant_client.post(
        "/api/v1/servers/", {"rack": rack.pk, "name": "x", "position": 1}, format="json"
    )
    assert response.status_code == 403
    assert tenant_client.post("/api/v1/sites/", {"name": "x", "code": "x"}).status_code == 403


def test_tenants_do_not_see_serials_of_cards_they_do_not_lease(tenant_client) -> None:
    card = CardFactory()
    body = tenant_client.get("/api/v1/cards/").json()
    assert body["count"] == 0
    assert tenant_client.get(f"/api/v1/cards/{card.pk}/").status_code == 404


def _card_body(server, model, serial="SN-NEW-1"):
    return {
        "server": server.pk,
        "card_model": model.pk,
        "serial": serial,
        "status": "available",
        "capex_cost": "120000.00",
        "commissioned_on": "2025-06-01",
    }


def test_operators_add_a_card(operator_client) -> None:
    server, model = ServerFactory(), CardModelFactory()
    response = operator_client.post("/api/v1/cards/", _card_body(server, model), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["capex_cost"] == "120000.00"
    assert AuditLog.objects.filter(action="card.create").count() == 1


def test_a_duplicate_serial_is_a_409(operator_client) -> None:
    server, model = ServerFactory(), CardModelFactory()
    operator_client.post("/api/v1/cards/", _card_body(server, model), format="json")
    response = operator_client.post("/api/v1/cards/", _card_body(server, model), format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "duplicate"
    assert Card.objects.count() == 1


def test_an_unknown_card_model_is_a_400(operator_client) -> None:
    server = ServerFactory()
    body = {**_card_body(server, CardModelFactory()), "card_model": 999999}
    response = operator_client.post("/api/v1/cards/", body, format="json")
    assert response.status_code == 400
    assert "card_model" in response.json()["error"]["fields"]


def test_a_card_in_a_decommissioned_rack_is_refused(operator_client) -> None:
    server = ServerFactory(rack=RackFactory(status="decommissioned"))
    response = operator_client.post(
        "/api/v1/cards/", _card_body(server, CardModelFactory()), format="json"
    )
    assert response.status_code == 400
    assert "server" in response.json()["error"]["fields"]
    assert not Card.objects.exists()


def test_a_server_position_taken_twice_is_a_409(operator_client) -> None:
    rack = RackFactory()
    ServerFactory(rack=rack, position=4)
    response = operator_client.post(
        "/api/v1/servers/", {"rack": rack.pk, "name": "other", "position": 4}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "duplicate"


def test_a_retired_card_never_comes_back(operator_client) -> None:
    card = CardFactory(status="retired")
    response = operator_client.patch(
        f"/api/v1/cards/{card.pk}/", {"status": "available"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_state"
    card.refresh_from_db()
    assert card.status == "retired"


def test_a_decommissioned_rack_stays_decommissioned(operator_client) -> None:
    rack = RackFactory(status="decommissioned")
    response = operator_client.patch(
        f"/api/v1/racks/{rack.pk}/", {"status": "racked"}, format="json"
    )
    assert response.status_code == 400


def test_cards_filter_by_site_status_model_and_domestic(operator_client) -> None:
    site = SiteFactory()
    domestic = CardModelFactory(domestic=True)
    imported = CardModelFactory(domestic=False, vendor="NVIDIA")
    _, cards = make_server_with_cards(RackFactory(site=site), domestic, cards=3)
    make_server_with_cards(RackFactory(), imported, cards=2)
    cards[0].status = "maintenance"
    cards[0].save()

    def ids(query: str) -> set[int]:
        return {
            row["id"] for row in operator_client.get(f"/api/v1/cards/?{query}").json()["results"]
        }

    assert ids(f"site={site.pk}") == {c.pk for c in cards}
    assert ids("status=maintenance") == {cards[0].pk}
    assert ids(f"card_model={imported.pk}") == set(
        Card.objects.filter(card_model=imported).values_list("pk", flat=True)
    )
    assert ids("domestic=true") == {c.pk for c in cards}
    assert ids(f"search={cards[1].serial}") == {cards[1].pk}


def test_capacity_figures_by_site_rack_and_model(operator_client) -> None:
    site_a, site_b = SiteFactory(), SiteFactory()
    h100 = CardModelFactory(bf16_tflops=Decimal("989.00"))
    ascend = CardModelFactory(bf16_tflops=Decimal("320.00"))
    rack_a = RackFactory(site=site_a)
    make_server_with_cards(rack_a, h100, cards=8)
    _, ascend_cards = make_server_with_cards(RackFactory(site=site_b), ascend, cards=8)
    make_server_with_cards(RackFactory(site=site_b, status="planned"), ascend, cards=8)
    ascend_cards[0].status = "retired"
    ascend_cards[0].save()
    ascend_cards[1].status = "maintenance"
    ascend_cards[1].save()

    by_site = operator_client.get("/api/v1/inventory/capacity/?group_by=site").json()
    assert by_site == [
        {
            "group": site_a.pk,
            "group_name": site_a.name,
            "cards": 8,
            "cards_available": 8,
            "cards_in_maintenance": 0,
            "pflops": "7.912",
        },
        {
            "group": site_b.pk,
            "group_name": site_b.name,
            "cards": 7,
            "cards_available": 6,
            "cards_in_maintenance": 1,
            "pflops": "2.240",
        },
    ]
    by_model = operator_client.get("/api/v1/inventory/capacity/?group_by=card_model").json()
    assert [(r["group"], r["cards"]) for r in by_model] == [(h100.pk, 8), (ascend.pk, 7)]
    by_rack = operator_client.get("/api/v1/inventory/capacity/?group_by=rack").json()
    assert (by_rack[0]["group"], by_rack[0]["pflops"]) == (rack_a.pk, "7.912")
    bad = operator_client.get("/api/v1/inventory/capacity/?group_by=galaxy")
    assert bad.status_code == 400


def test_tenants_cannot_read_capacity(tenant_client) -> None:
    assert tenant_client.get("/api/v1/inventory/capacity/").status_code == 403


def test_deleting_what_is_still_referenced_is_a_409_that_deletes_nothing(operator_client) -> None:
    rack = RackFactory()
    server, cards = make_server_with_cards(rack, CardModelFactory(), cards=2)
    for path in (
        f"/api/v1/sites/{rack.site_id}/",
        f"/api/v1/racks/{rack.pk}/",
        f"/api/v1/servers/{server.pk}/",
        f"/api/v1/card-models/{cards[0].card_model_id}/",
    ):
        response = operator_client.delete(path)
        assert response.status_code == 409, (path, response.content)
        assert response.json()["error"]["code"] == "in_use"
    assert Card.objects.count() == 2
    assert operator_client.delete(f"/api/v1/cards/{cards[0].pk}/").status_code == 204


def test_pflops_are_exact_so_racks_add_up_to_their_site(operator_client) -> None:
    site = SiteFactory()
    model = CardModelFactory(bf16_tflops=Decimal("862.50"))
    for rack in (RackFactory(site=site), RackFactory(site=site)):
        make_server_with_cards(rack, model, cards=1)
    by_rack = operator_client.get("/api/v1/inventory/capacity/?group_by=rack").json()
    assert [r["pflops"] for r in by_rack] == ["0.8625", "0.8625"]
    [by_site] = operator_client.get("/api/v1/inventory/capacity/?group_by=site").json()
    assert by_site["pflops"] == "1.725"


def test_a_boolean_filter_takes_true_or_false_and_nothing_else(operator_client) -> None:
    make_server_with_cards(RackFactory(), CardModelFactory(domestic=True), cards=2)
    assert operator_client.get("/api/v1/cards/?domestic=true").json()["count"] == 2
    assert operator_client.get("/api/v1/cards/?domestic=false").json()["count"] == 0
    bad = operator_client.get("/api/v1/cards/?domestic=abc")
    assert bad.status_code == 400
    assert "domestic" in bad.json()["error"]["fields"]
