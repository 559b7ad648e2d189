"""Wherever a response names another object by id, it carries its display name too, without a
query per row."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketplace.models import Card, Server
from tests.leasing.conftest import long_body, short_body

pytestmark = pytest.mark.django_db


def test_leases_name_their_tenant_card_model_and_site(tenant_client, tenant, model, fleet,
                                                       frozen_now):  # fmt: skip
    server = fleet[0][0]
    site = server.rack.site
    created = tenant_client.post(
        "/api/v1/leases/", long_body(model, site=site.pk), format="json"
    ).json()
    assert (created["tenant_name"], created["card_model_name"], created["site_name"]) == (
        tenant.name, model.name, site.name,
    )  # fmt: skip
    tenant_client.post("/api/v1/leases/", short_body(model), format="json")
    rows = tenant_client.get("/api/v1/leases/").json()["results"]
    assert [row["site_name"] for row in rows] == [site.name, None]
    assert {row["card_model_name"] for row in rows} == {model.name}


def test_cards_racks_and_servers_name_what_they_point_at(operator_client, model, fleet):
    server = fleet[0][0]
    card = operator_client.get(f"/api/v1/cards/{fleet[0][1][0].pk}/").json()
    assert (card["server_name"], card["card_model_name"]) == (server.name, model.name)
    srv = operator_client.get(f"/api/v1/servers/{server.pk}/").json()
    assert srv["rack_name"] == server.rack.name
    rack = operator_client.get(f"/api/v1/racks/{server.rack_id}/").json()
    assert rack["site_name"] == server.rack.site.name
    operator_client.get("/api/v1/cards/")  # warm: nothing left to load lazily
    with CaptureQueriesContext(connection) as queries:
        assert len(operator_client.get("/api/v1/cards/").json()["results"]) == Card.objects.count()
    assert len(queries) <= 4  # token, count, page (names joined), nothing per row


def test_capacity_and_availability_name_their_groups_and_servers(
    operator_client, tenant_client, model, fleet, frozen_now
):
    rows = operator_client.get("/api/v1/inventory/capacity/?group_by=card_model").json()
    assert rows[0]["group_name"] == model.name
    quote = tenant_client.get(f"/api/v1/availability/?card_model={model.pk}&count=8").json()
    server = quote["servers"][0]
    assert server["name"] == Server.objects.get(pk=server["id"]).name
