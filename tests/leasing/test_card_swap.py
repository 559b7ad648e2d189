import datetime as dt

import pytest

from leasing.models import Allocation, LeaseEvent
from marketplace.models import Card
from tests.factories import CardFactory
from tests.leasing.conftest import NOW, long_body, short_body

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]
LATER = NOW + dt.timedelta(hours=5)


def test_a_swap_cuts_the_card_now_and_gives_the_lease_a_free_one_on_the_same_server(
    tenant_client, operator_client, model, fleet, frozen_now
):
    lease = tenant_client.post("/api/v1/leases/", short_body(model), format="json").json()
    frozen_now.move_to(LATER)
    _, cards = fleet[0]
    out = lease["cards"][0]
    response = operator_client.post(f"/api/v1/cards/{out}/maintenance/", {"reason": "ECC errors"},
                                    format="json")  # fmt: skip
    assert response.status_code == 200, response.json()
    swap = response.json()["swaps"][0]
    assert swap["card_out"] == out
    assert swap["card_in"] in {c.pk for c in cards} - set(lease["cards"])  # same server
    assert Card.objects.get(pk=out).status == "maintenance"
    old = Allocation.objects.get(lease_id=lease["id"], card_id=out)
    assert (old.period.lower, old.period.upper) == (NOW, LATER)
    new = Allocation.objects.get(lease_id=lease["id"], card_id=swap["card_in"])
    assert new.period.lower == LATER
    assert new.period.upper is None
    body = tenant_client.get(f"/api/v1/leases/{lease['id']}/").json()
    assert out not in body["cards"]
    assert swap["card_in"] in body["cards"]
    assert body["unit_price"] == lease["unit_price"]
    assert LeaseEvent.objects.filter(lease_id=lease["id"], data__card_out=out).exists()


def test_a_reserved_lease_gets_its_card_replaced_for_its_whole_term(
    tenant_client, operator_client, model, fleet
):
    lease = tenant_client.post("/api/v1/leases/", long_body(model), format="json").json()
    out = lease["cards"][0]
    swap = operator_client.post(f"/api/v1/cards/{out}/maintenance/").json()["swaps"][0]
    assert not Allocation.objects.filter(lease_id=lease["id"], card_id=out).exists()
    assert Allocation.objects.filter(lease_id=lease["id"], card_id=swap["card_in"]).count() == 1


def test_without_a_free_card_the_operator_gets_a_409_and_nothing_changes(
    tenant_client, operator_client, model, fleet
):
    lease = tenant_client.post(
        "/api/v1/leases/", short_body(model, card_count=16), format="json"
    ).json()
    out = lease["cards"][3]
    response = operator_client.post(f"/api/v1/cards/{out}/maintenance/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_capacity"
    assert Card.objects.get(pk=out).status == "available"
    assert Allocation.objects.get(lease_id=lease["id"], card_id=out).period.upper is None


def test_a_free_card_goes_into_maintenance_without_swaps(operator_client, fleet):
    card = fleet[0][1][0]
    body = operator_client.post(f"/api/v1/cards/{card.pk}/maintenance/").json()
    assert body == {"card": card.pk, "status": "maintenance", "swaps": []}


def test_patching_a_held_card_out_of_service_is_refused(
    tenant_client, operator_client, model, fleet
):
    lease = tenant_client.post("/api/v1/leases/", short_body(model), format="json").json()
    response = operator_client.patch(
        f"/api/v1/cards/{lease['cards'][0]}/", {"status": "retired"}, format="json"
    )
    assert response.status_code == 409
    assert "maintenance" in response.json()["error"]["message"]


def test_tenants_see_the_cards_they_lease(tenant_client, model, fleet):
    lease = tenant_client.post("/api/v1/leases/", short_body(model), format="json").json()
    CardFactory()
    body = tenant_client.get("/api/v1/cards/").json()
    assert sorted(row["id"] for row in body["results"]) == sorted(lease["cards"])
    assert all(row["serial"] for row in body["results"])


def test_tenants_cannot_swap_cards(tenant_client, fleet):
    assert tenant_client.post(f"/api/v1/cards/{fleet[0][1][0].pk}/maintenance/").status_code == 403


def test_a_swap_inside_a_minute_cuts_at_the_next_whole_minute(
    tenant_client, operator_client, model, fleet, frozen_now
):
    # short leases bill whole minutes per card: a cut at :30 would bill that minute twice
    lease = tenant_client.post("/api/v1/leases/", short_body(model), format="json").json()
    frozen_now.move_to(LATER + dt.timedelta(seconds=30))
    out = lease["cards"][0]
    response = operator_client.post(f"/api/v1/cards/{out}/maintenance/", {}, format="json")
    card_in = response.json()["swaps"][0]["card_in"]
    minute = LATER + dt.timedelta(minutes=1)
    assert Allocation.objects.get(lease_id=lease["id"], card_id=out).period.upper == minute
    assert Allocation.objects.get(lease_id=lease["id"], card_id=card_in).period.lower == minute


def test_a_tenant_still_sees_the_cards_of_a_terminated_lease_until_it_takes_effect(
    tenant_client, model, fleet
):
    lease = tenant_client.post("/api/v1/leases/", long_body(model), format="json").json()
    response = tenant_client.post(
        f"/api/v1/leases/{lease['id']}/terminate/", {"effective": "2027-06-01"}, format="json"
    )
    assert response.status_code == 200, response.json()
    seen = {c["id"] for c in tenant_client.get("/api/v1/cards/?page_size=100").json()["results"]}
    assert set(lease["cards"]) <= seen
