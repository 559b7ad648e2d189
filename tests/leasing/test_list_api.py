"""Lease lists and details come from `.values()` rows with `cards`/`servers` aggregated in SQL:
the same JSON as LeaseSerializer on the instance with the original Python rule, and a page is
a constant number of queries."""

import datetime as dt
import json

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from core import clock
from leasing.api.serializers import LeaseSerializer
from leasing.models import Allocation, Lease
from leasing.services import card_swap
from marketplace.models import Card
from tests.leasing.conftest import long_body, short_body

pytestmark = pytest.mark.django_db


def held_by_rule(lease: Lease) -> tuple[list[int], list[int]]:
    """The (cards, servers) rule as it was written in Python over prefetched allocations."""
    pairs = []
    for allocation in Allocation.objects.filter(lease=lease).select_related("card"):
        upper = allocation.period.upper
        if upper is None or (lease.end is not None and upper >= lease.end):
            pairs.append((allocation.card_id, allocation.card.server_id))
    pairs.sort()
    return [card for card, _ in pairs], sorted({server for _, server in pairs})


def expected(lease: Lease) -> dict:
    """DRF's own rendering of the lease (ModelSerializer fields), as JSON text and back."""
    lease.cards, lease.servers = held_by_rule(lease)
    with timezone.override(clock.operator_tz()):  # as the API renders (in operator time)
        return json.loads(JSONRenderer().render(LeaseSerializer(lease).data))


def _post(client, path, body=None):
    response = client.post(path, body or {}, format="json")
    assert response.status_code in (200, 201), response.json()
    return response.json()


def test_rows_details_and_action_answers_match_the_serializer(
    tenant_client, tenant_user, operator, model, fleet, frozen_now, make_client, make_user
):
    with time_machine.travel(dt.datetime(2027, 1, 14, 20, tzinfo=dt.UTC), tick=False):
        terminated = _post(tenant_client, "/api/v1/leases/", long_body(model, start="2027-01-15"))
    answers = {}
    answers["terminate"] = _post(
        tenant_client, f"/api/v1/leases/{terminated['id']}/terminate/", {"effective": "2027-03-20"}
    )
    open_ended = _post(tenant_client, "/api/v1/leases/", short_body(model, card_count=4))
    stopped = _post(tenant_client, "/api/v1/leases/", short_body(model, card_count=2))
    reserved = _post(
        tenant_client,
        "/api/v1/leases/",
        short_body(model, card_count=2, start="2027-03-20T00:00:00Z", end="2027-03-21T00:00:00Z"),
    )
    frozen_now.shift(dt.timedelta(minutes=30, seconds=7))
    answers["stop"] = _post(tenant_client, f"/api/v1/leases/{stopped['id']}/stop/")
    # The open-ended lease's first card goes into maintenance: it holds the replacement from now.
    card_swap(actor=operator, card=Card.objects.get(pk=open_ended["cards"][0]))
    other = make_client(make_user("tenant"))
    _post(other, "/api/v1/leases/", short_body(model, card_count=1))

    leases = list(Lease.objects.filter(tenant=tenant_user.tenant).order_by("id"))
    assert [lease.pk for lease in leases] == sorted(
        [terminated["id"], open_ended["id"], stopped["id"], reserved["id"]]
    )
    body = tenant_client.get("/api/v1/leases/").json()
    assert body["count"] == 4
    rows = body["results"]
    assert rows == [expected(lease) for lease in leases]
    assert [list(row) for row in rows] == [list(LeaseSerializer.Meta.fields)] * 4
    # What the rule covers: open-ended (the swapped-in card), held to the end, terminated, ahead.
    by_id = {row["id"]: row for row in rows}
    assert by_id[open_ended["id"]]["end"] is None
    assert by_id[open_ended["id"]]["cards"] != open_ended["cards"]
    assert len(by_id[open_ended["id"]]["cards"]) == 4
    assert by_id[stopped["id"]]["status"] == "ended"
    assert len(by_id[stopped["id"]]["cards"]) == 2
    assert by_id[terminated["id"]]["termination_fee"] == "138135.48"
    assert len(by_id[terminated["id"]]["servers"]) == 1
    for row in rows:
        assert tenant_client.get(f"/api/v1/leases/{row['id']}/").json() == row
    # An action answers with the lease as it was then; nothing has changed those two since.
    assert answers["terminate"].pop("cancelled_renewal") is None  # the terminate answer's own
    assert answers["terminate"] == by_id[terminated["id"]]
    assert answers["stop"] == by_id[stopped["id"]]
    # Filters, ordering and pages work on the rows as before.
    ended = tenant_client.get("/api/v1/leases/?status=ended&status=terminated").json()
    assert [row["id"] for row in ended["results"]] == sorted([terminated["id"], stopped["id"]])
    desc = tenant_client.get("/api/v1/leases/?ordering=-id&page_size=3").json()
    assert [row["id"] for row in desc["results"]] == [lease.pk for lease in leases][::-1][:3]
    assert desc["next"] is not None
    bad = tenant_client.get("/api/v1/leases/?status=bogus")
    assert bad.status_code == 400
    assert "status" in bad.json()["error"]["fields"]


def test_a_list_page_is_a_constant_number_of_queries(tenant_client, model, fleet, frozen_now):
    def page_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = tenant_client.get("/api/v1/leases/?status=active")
        assert response.status_code == 200
        return len(queries)

    _post(tenant_client, "/api/v1/leases/", short_body(model, card_count=1))
    few = page_queries()
    for _ in range(6):
        _post(tenant_client, "/api/v1/leases/", short_body(model, card_count=2))
    assert tenant_client.get("/api/v1/leases/").json()["count"] == 7
    # the token with its user; the page with its count and each lease's cards and servers
    assert page_queries() == few == 2
