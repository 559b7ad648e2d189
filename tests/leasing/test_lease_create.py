import datetime as dt

import pytest

from core.models import AuditLog
from events.models import Event
from leasing.models import Allocation, Lease, LeaseEvent
from marketplace.models import Site
from tests.factories import CardModelFactory, RackFactory, make_server_with_cards
from tests.leasing.conftest import long_body, short_body

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


def test_a_long_lease_freezes_the_discounted_fee_and_holds_one_server(
    tenant_client, tenant_user, model, fleet
) -> None:
    response = tenant_client.post("/api/v1/leases/", long_body(model), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    server, cards = fleet[0]
    assert body["tenant"] == tenant_user.tenant_id
    assert body["status"] == "reserved"
    assert body["unit_price"] == "3510.0000"  # 3900 × (1 − 10 %)
    assert body["start"] == "2027-03-15T00:00:00+08:00"  # 2027-03-15 00:00 in Shanghai
    assert body["end"] == "2028-03-15T00:00:00+08:00"
    assert body["cards"] == [c.pk for c in cards]
    assert body["servers"] == [server.pk]
    assert body["termination_fee"] is None
    assert Allocation.objects.filter(lease_id=body["id"]).count() == 8
    event = LeaseEvent.objects.get(lease_id=body["id"])
    assert (event.from_status, event.to_status, event.actor_id) == ("", "reserved", tenant_user.pk)
    assert AuditLog.objects.filter(action="lease.create", object_id=str(body["id"])).exists()


@pytest.mark.parametrize(("term", "price"), [(24, "3315.0000"), (36, "3120.0000"),
                                              (48, "2925.0000"), (60, "2730.0000")])  # fmt: skip
def test_term_discounts(tenant_client, model, fleet, term, price) -> None:
    body = tenant_client.post(
        "/api/v1/leases/", long_body(model, term_months=term), format="json"
    ).json()
    assert body["unit_price"] == price


def test_a_long_lease_starting_today_is_active(tenant_client, model, fleet) -> None:
    body = tenant_client.post(
        "/api/v1/leases/", long_body(model, start="2027-03-10"), format="json"
    ).json()
    assert body["status"] == "active"
    assert body["start"] == "2027-03-10T00:00:00+08:00"


def test_a_short_lease_starts_now_at_the_hourly_rate(tenant_client, model, fleet) -> None:
    response = tenant_client.post("/api/v1/leases/", short_body(model), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "active"
    assert body["unit_price"] == "7.5000"
    assert body["start"] == "2027-03-10T12:00:00+08:00"
    assert body["end"] is None
    assert len(body["cards"]) == 4


def test_a_short_lease_can_be_reserved_ahead(tenant_client, model, fleet) -> None:
    body = tenant_client.post(
        "/api/v1/leases/",
        short_body(model, start="2027-03-20T08:00:00+08:00", end="2027-03-22T08:00:00+08:00"),
        format="json",
    ).json()
    assert body["status"] == "reserved"
    assert body["end"] == "2027-03-22T08:00:00+08:00"


def test_the_price_is_frozen_when_the_list_price_changes(tenant_client, model, fleet) -> None:
    lease_id = tenant_client.post("/api/v1/leases/", long_body(model), format="json").json()["id"]
    model.monthly_rate = "9999.0000"
    model.save()
    assert tenant_client.get(f"/api/v1/leases/{lease_id}/").json()["unit_price"] == "3510.0000"


def test_no_capacity_is_a_409_with_the_free_count_and_writes_nothing(
    tenant_client, model, fleet
) -> None:
    tenant_client.post("/api/v1/leases/", long_body(model, card_count=10), format="json")
    leases = Lease.objects.count()
    response = tenant_client.post("/api/v1/leases/", long_body(model, card_count=8), format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "no_capacity"
    assert error["free"] == 6
    assert Lease.objects.count() == leases
    assert Allocation.objects.count() == 10


def test_staff_lease_for_a_named_tenant(operator_client, tenant, model, fleet) -> None:
    response = operator_client.post(
        "/api/v1/leases/", short_body(model, tenant=tenant.pk), format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["tenant"] == tenant.pk


def test_finance_cannot_take_leases(finance_client, tenant, model, fleet) -> None:
    response = finance_client.post(
        "/api/v1/leases/", short_body(model, tenant=tenant.pk), format="json"
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"term_months": 18}, "term_months"),
        ({"start": "2027-03-09"}, "start"),
        ({"card_count": 0}, "card_count"),
        ({"card_count": "eight"}, "card_count"),
        ({"card_model": 999999}, "card_model"),
        ({"end": "2027-06-01T08:00:00+08:00"}, "end"),
        ({"kind": "medium"}, "kind"),
        ({"tenant": 1}, "tenant"),
        ({"discount": "99"}, "discount"),
    ],
)
def test_bad_long_requests_are_400s_that_write_nothing(
    tenant_client, model, fleet, overrides, field
) -> None:
    response = tenant_client.post("/api/v1/leases/", long_body(model, **overrides), format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert not Lease.objects.exists()


def test_more_cards_than_installed_is_no_capacity(tenant_client, model, fleet) -> None:
    response = tenant_client.post("/api/v1/leases/", long_body(model, card_count=17), format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_capacity"
    assert response.json()["error"]["fields"] == {"card_count": ["At most 16."]}
    assert not Lease.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"start": "2027-04-10T12:00:01+08:00"}, "start"),  # more than 30 days ahead
        ({"start": "2027-03-10T11:00:00+08:00"}, "start"),  # in the past
        ({"end": "2027-03-10T11:59:00+08:00"}, "end"),  # before start
        ({"end": "2027-06-08T12:00:01+08:00"}, "end"),  # more than 90 days
        ({"term_months": 12}, "term_months"),
    ],
)
def test_bad_short_requests_are_400s(tenant_client, model, fleet, overrides, field) -> None:
    response = tenant_client.post("/api/v1/leases/", short_body(model, **overrides), format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert not Lease.objects.exists()


def test_a_retired_card_model_cannot_be_leased(tenant_client, model, fleet) -> None:
    model.is_active = False
    model.save()
    response = tenant_client.post("/api/v1/leases/", short_body(model), format="json")
    assert response.status_code == 400
    assert "card_model" in response.json()["error"]["fields"]


def test_placement_goes_through_leases(tenant_client, fleet, model) -> None:
    other_rack = RackFactory()
    pair = [make_server_with_cards(other_rack, model, cards=6)[0] for _ in range(2)]
    # 12 cards: two servers either way; fleet's rack is lower, so its two servers are chosen.
    body = tenant_client.post(
        "/api/v1/leases/", long_body(model, card_count=12), format="json"
    ).json()
    assert body["servers"] == [fleet[0][0].pk, fleet[1][0].pk]
    assert not set(body["servers"]) & {s.pk for s in pair}


def test_another_tenants_lease_is_a_404(
    tenant_client, make_user, make_client, model, fleet
) -> None:
    lease_id = tenant_client.post("/api/v1/leases/", short_body(model), format="json").json()["id"]
    stranger = make_client(make_user("tenant"))
    assert stranger.get(f"/api/v1/leases/{lease_id}/").status_code == 404
    assert stranger.post(f"/api/v1/leases/{lease_id}/stop/").status_code == 404
    assert stranger.get("/api/v1/leases/").json()["count"] == 0


def test_the_same_idempotency_key_creates_one_lease(tenant_client, model, fleet) -> None:
    first = tenant_client.post(
        "/api/v1/leases/", short_body(model), format="json", HTTP_IDEMPOTENCY_KEY="abc"
    )
    again = tenant_client.post(
        "/api/v1/leases/", short_body(model), format="json", HTTP_IDEMPOTENCY_KEY="abc"
    )
    assert first.json() == again.json()
    assert Lease.objects.count() == 1


def test_operators_filter_leases(operator_client, tenant, model, fleet) -> None:
    other_model = CardModelFactory()
    make_server_with_cards(RackFactory(), other_model)
    operator_client.post("/api/v1/leases/", short_body(model, tenant=tenant.pk), format="json")
    operator_client.post("/api/v1/leases/", long_body(other_model, tenant=tenant.pk), format="json")

    def count(query: str) -> int:
        return operator_client.get(f"/api/v1/leases/?{query}").json()["count"]

    assert count(f"tenant={tenant.pk}") == 2
    assert count("kind=short") == 1
    assert count(f"card_model={other_model.pk}") == 1
    assert count("status=reserved") == 1
    assert count("active_at=2027-03-10T05:00:00Z") == 1
    assert count("active_at=2027-03-20T00:00:00Z") == 2
    when = dt.datetime(2027, 3, 10, 5, tzinfo=dt.UTC).isoformat()
    assert count(f"active_at={when.replace('+00:00', 'Z')}") == 1


@pytest.mark.parametrize("start", ["2028-03-11", "9999-06-01", "9999-12-31T23:59:59Z"])
def test_a_long_lease_starts_at_most_a_year_ahead(tenant_client, model, fleet, start) -> None:
    response = tenant_client.post("/api/v1/leases/", long_body(model, start=start), format="json")
    assert response.status_code == 400, response.json()
    assert "start" in response.json()["error"]["fields"]
    assert not Lease.objects.exists()


def _site_short_body(model):
    """Twelve cards (both servers) at the fleet's site, reserved ahead with an end."""
    site = Site.objects.get()
    return short_body(
        model, card_count=12, site=site.pk, start="2027-03-11T01:30:15Z", end="2027-03-11T05:00:00Z"
    )


@pytest.mark.parametrize("body", [short_body, long_body, _site_short_body])
def test_the_created_lease_is_answered_as_the_api_shows_it(tenant_client, model, fleet, body):
    """The 201's body is the lease rendered, from what creation has in hand, for its
    `lease.created` event in the same transaction: exactly what reading it back shows."""
    created = tenant_client.post("/api/v1/leases/", body(model), format="json")
    assert created.status_code == 201, created.json()
    shown = tenant_client.get(f"/api/v1/leases/{created.json()['id']}/")
    assert created.json() == shown.json()
    assert Event.objects.get(type="lease.created").data == shown.json()
    assert created.json()["cards"] and created.json()["servers"]
    if body is _site_short_body:
        assert len(shown.json()["servers"]) == 2 and shown.json()["site_name"]
