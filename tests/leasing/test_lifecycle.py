import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from leasing.models import Allocation, Lease, LeaseEvent
from leasing.services import leases_advance
from tests.factories import TenantFactory
from tests.leasing.conftest import NOW, long_body, short_body

pytestmark = pytest.mark.django_db


def _post(client, path, body=None):
    return client.post(path, body or {}, format="json")


def _events(lease_id):
    return list(
        LeaseEvent.objects.filter(lease_id=lease_id)
        .order_by("at", "id")
        .values_list("from_status", "to_status")
    )


def test_stop_ends_a_short_lease_now_and_frees_its_cards(tenant_client, model, fleet, frozen_now):
    lease = _post(tenant_client, "/api/v1/leases/", short_body(model, card_count=16)).json()
    frozen_now.shift(dt.timedelta(minutes=90, seconds=17))
    response = _post(tenant_client, f"/api/v1/leases/{lease['id']}/stop/", {"reason": "done"})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ended"
    assert body["end"] == "2027-03-10T13:30:17+08:00"
    assert len(body["cards"]) == 16
    periods = {a.period.upper for a in Allocation.objects.filter(lease_id=lease["id"])}
    assert periods == {NOW + dt.timedelta(minutes=90, seconds=17)}
    assert _events(lease["id"]) == [("", "active"), ("active", "ended")]
    # The cards are free again from now on.
    again = _post(tenant_client, "/api/v1/leases/", short_body(model, card_count=16))
    assert again.status_code == 201


def test_wrong_state_actions_are_409s(tenant_client, model, fleet, frozen_now):
    short = _post(tenant_client, "/api/v1/leases/", short_body(model)).json()
    long = _post(tenant_client, "/api/v1/leases/", long_body(model)).json()
    _post(tenant_client, f"/api/v1/leases/{short['id']}/stop/")
    for path in (
        f"/api/v1/leases/{short['id']}/stop/",
        f"/api/v1/leases/{long['id']}/stop/",
    ):
        response = _post(tenant_client, path)
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "invalid_state"
    response = _post(tenant_client, f"/api/v1/leases/{short['id']}/terminate/",
                     {"effective": "2027-04-01"})  # fmt: skip
    assert response.status_code == 409


def test_terminate_charges_half_the_remaining_committed_value(
    tenant_client, model, fleet, frozen_now
):
    # 8 cards × 3510.0000 (12 months, 10 % off 3900) from 2027-01-15 to 2028-01-15.
    with time_machine.travel(dt.datetime(2027, 1, 14, 20, tzinfo=dt.UTC), tick=False):
        lease = _post(tenant_client, "/api/v1/leases/", long_body(model, start="2027-01-15")).json()
    response = _post(
        tenant_client, f"/api/v1/leases/{lease['id']}/terminate/", {"effective": "2027-03-20"}
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    # Remaining: 12/31 of March + April..December (9 months) + 14/31 of January 2028,
    # × 28,080.00 a month = 276,270.9677…; half of it = 138,135.4838… → 138,135.48.
    assert body["termination_fee"] == "138135.48"
    assert body["status"] == "terminated"
    assert body["terminated_on"] == "2027-03-20"
    assert body["end"] == "2027-03-20T00:00:00+08:00"
    uppers = {a.period.upper for a in Allocation.objects.filter(lease_id=lease["id"])}
    assert uppers == {dt.datetime(2027, 3, 19, 16, tzinfo=dt.UTC)}
    assert _events(lease["id"])[-1] == ("active", "terminated")


def test_terminate_across_a_leap_february(tenant_client, model, fleet):
    with time_machine.travel(dt.datetime(2028, 1, 9, 20, tzinfo=dt.UTC), tick=False):
        lease = _post(tenant_client, "/api/v1/leases/", long_body(model, start="2028-01-10")).json()
    with time_machine.travel(dt.datetime(2028, 2, 1, 4, tzinfo=dt.UTC), tick=False):
        body = _post(
            tenant_client, f"/api/v1/leases/{lease['id']}/terminate/", {"effective": "2028-02-10"}
        ).json()
    # 20/29 of February 2028 + March..December (10 months) + 9/31 of January 2029,
    # × 28,080.00 = 308,317.7753…; half = 154,158.8876… → 154,158.89.
    assert body["termination_fee"] == "154158.89"


@pytest.mark.parametrize("effective", ["2027-03-10", "2027-03-09", "2028-03-15", "2030-01-01"])
def test_terminate_needs_a_date_after_today_inside_the_term(
    tenant_client, model, fleet, frozen_now, effective
):
    lease = _post(tenant_client, "/api/v1/leases/", long_body(model, start="2027-03-10")).json()
    response = _post(
        tenant_client, f"/api/v1/leases/{lease['id']}/terminate/", {"effective": effective}
    )
    assert response.status_code == 400
    assert "effective" in response.json()["error"]["fields"]
    assert Lease.objects.get(pk=lease["id"]).status == "active"


def test_renew_on_the_same_cards_when_they_are_free(tenant_client, model, fleet, frozen_now):
    lease = _post(tenant_client, "/api/v1/leases/", long_body(model)).json()
    response = _post(tenant_client, f"/api/v1/leases/{lease['id']}/renew/", {"term_months": 24})
    assert response.status_code == 201, response.json()
    renewal = response.json()
    assert renewal["cards"] == lease["cards"]
    assert renewal["start"] == lease["end"]
    assert renewal["end"] == "2030-03-15T00:00:00+08:00"
    assert renewal["unit_price"] == "3315.0000"
    assert renewal["renewed_from"] == lease["id"]
    again = _post(tenant_client, f"/api/v1/leases/{lease['id']}/renew/")
    assert again.status_code == 409


def test_renew_fails_when_the_cards_are_taken_after_the_end(
    tenant_client, operator_client, tenant, model, fleet, frozen_now
):
    lease = _post(tenant_client, "/api/v1/leases/", long_body(model, card_count=16)).json()
    # Someone reserves those cards from the day the lease ends.
    later = {"kind": "short", "card_model": model.pk, "card_count": 16}
    with time_machine.travel(dt.datetime(2028, 3, 1, tzinfo=dt.UTC), tick=False):
        taken = _post(tenant_client, "/api/v1/leases/",
                      {**later, "start": "2028-03-15T08:00:00+08:00"})  # fmt: skip
        assert taken.status_code == 201, taken.json()
    response = _post(tenant_client, f"/api/v1/leases/{lease['id']}/renew/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_capacity"
    assert Lease.objects.filter(renewed_from_id=lease["id"]).count() == 0


def test_staff_cancel_a_reserved_lease_and_its_cards_are_released(
    tenant_client, operator_client, model, fleet, frozen_now
):
    lease = _post(tenant_client, "/api/v1/leases/", long_body(model, card_count=16)).json()
    assert _post(tenant_client, f"/api/v1/leases/{lease['id']}/cancel/").status_code == 403
    response = _post(operator_client, f"/api/v1/leases/{lease['id']}/cancel/", {"reason": "typo"})
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert not Allocation.objects.filter(lease_id=lease["id"]).exists()
    assert (
        _post(tenant_client, "/api/v1/leases/", long_body(model, card_count=16)).status_code == 201
    )
    event = LeaseEvent.objects.filter(lease_id=lease["id"]).latest("id")
    assert (event.to_status, event.reason) == ("cancelled", "typo")


def test_events_list_every_change_with_who_when_and_why(
    tenant_client, tenant_user, model, fleet, frozen_now
):
    lease = _post(tenant_client, "/api/v1/leases/", short_body(model)).json()
    _post(tenant_client, f"/api/v1/leases/{lease['id']}/stop/", {"reason": "job finished"})
    body = tenant_client.get(f"/api/v1/leases/{lease['id']}/events/").json()
    rows = [(e["from_status"], e["to_status"], e["actor"], e["reason"]) for e in body["results"]]
    assert rows == [
        ("", "active", tenant_user.username, "created"),
        ("active", "ended", tenant_user.username, "job finished"),
    ]


def test_beat_transitions_follow_the_test_clock(
    tenant_client, admin_client_api, model, fleet, settings
):
    settings.TEST_CLOCK = True
    admin_client_api.post("/api/v1/test-clock/", {"now": "2027-03-10T04:00:00Z"}, format="json")
    reserved = _post(
        tenant_client,
        "/api/v1/leases/",
        short_body(model, start="2027-03-11T08:00:00+08:00", end="2027-03-12T08:00:00+08:00"),
    ).json()
    long = _post(tenant_client, "/api/v1/leases/", long_body(model, start="2027-03-12")).json()
    assert leases_advance() == {"activated": 0, "ended": 0}

    admin_client_api.post("/api/v1/test-clock/", {"now": "2027-03-11T00:00:00Z"}, format="json")
    assert leases_advance() == {"activated": 1, "ended": 0}
    assert leases_advance() == {"activated": 0, "ended": 0}  # idempotent
    admin_client_api.post("/api/v1/test-clock/", {"now": "2027-03-12T00:00:00Z"}, format="json")
    assert leases_advance() == {"activated": 1, "ended": 1}
    assert Lease.objects.get(pk=reserved["id"]).status == "ended"
    assert Lease.objects.get(pk=long["id"]).status == "active"
    admin_client_api.post("/api/v1/test-clock/", {"now": "2028-03-12T00:00:00Z"}, format="json")
    leases_advance()
    assert Lease.objects.get(pk=long["id"]).status == "ended"
    assert _events(reserved["id"]) == [
        ("", "reserved"),
        ("reserved", "active"),
        ("active", "ended"),
    ]


def test_termination_fee_is_stored_as_money(tenant_client, model, fleet, frozen_now):
    lease = _post(tenant_client, "/api/v1/leases/", long_body(model, start="2027-03-10")).json()
    _post(tenant_client, f"/api/v1/leases/{lease['id']}/terminate/", {"effective": "2027-04-01"})
    fee = Lease.objects.get(pk=lease["id"]).termination_fee
    assert isinstance(fee, Decimal)
    assert fee == fee.quantize(Decimal("0.01"))


def test_tenants_cancel_their_short_reservations_but_not_long_commitments(
    tenant_client, make_client, make_user, model, fleet, frozen_now
):
    later = (NOW + dt.timedelta(days=2)).isoformat()
    short = _post(tenant_client, "/api/v1/leases/", {**short_body(model), "start": later}).json()
    assert short["status"] == "reserved", short
    long = _post(tenant_client, "/api/v1/leases/", long_body(model, card_count=8)).json()
    other = make_client(make_user(tenant=TenantFactory()))
    # another tenant's lease is not there at all, whatever the action
    assert _post(other, f"/api/v1/leases/{short['id']}/cancel/").status_code == 404
    response = _post(tenant_client, f"/api/v1/leases/{long['id']}/cancel/")
    assert response.status_code == 403
    assert "terminate" in response.json()["error"]["message"]
    response = _post(tenant_client, f"/api/v1/leases/{short['id']}/cancel/", {"reason": "plans"})
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "cancelled"
    assert not Allocation.objects.filter(lease_id=short["id"]).exists()


def test_stopping_a_reservation_before_its_start_cancels_it(
    tenant_client, model, fleet, frozen_now
):
    later = (NOW + dt.timedelta(hours=5)).isoformat()
    lease = _post(tenant_client, "/api/v1/leases/", {**short_body(model), "start": later}).json()
    response = _post(tenant_client, f"/api/v1/leases/{lease['id']}/stop/")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "cancelled"
    assert not Allocation.objects.filter(lease_id=lease["id"]).exists()


def test_a_lease_past_its_end_cannot_be_stopped_before_the_status_task_runs(
    tenant_client, model, fleet, frozen_now
):
    end = (NOW + dt.timedelta(hours=1)).isoformat()
    lease = _post(tenant_client, "/api/v1/leases/", {**short_body(model), "end": end}).json()
    with time_machine.travel(NOW + dt.timedelta(hours=1, minutes=10), tick=False):
        response = _post(tenant_client, f"/api/v1/leases/{lease['id']}/stop/")
    assert response.status_code == 409
    assert "already ended" in response.json()["error"]["message"]
    detail = tenant_client.get(f"/api/v1/leases/{lease['id']}/").json()
    assert (detail["end"], len(detail["cards"])) == (lease["end"], len(lease["cards"]))


def test_a_reservation_past_its_start_is_not_cancelled_before_the_status_task_runs(
    tenant_client, model, fleet, frozen_now
):
    later = (NOW + dt.timedelta(hours=1)).isoformat()
    lease = _post(tenant_client, "/api/v1/leases/", {**short_body(model), "start": later}).json()
    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
        response = _post(tenant_client, f"/api/v1/leases/{lease['id']}/cancel/")
    assert response.status_code == 409
    assert Allocation.objects.filter(lease_id=lease["id"]).count() == 4


def test_a_lease_past_its_end_is_not_renewed_before_the_status_task_runs(
    tenant_client, model, fleet, frozen_now
):
    lease = _post(tenant_client, "/api/v1/leases/", long_body(model)).json()
    with time_machine.travel(dt.datetime.fromisoformat(lease["end"]) + dt.timedelta(seconds=5)):
        response = _post(tenant_client, f"/api/v1/leases/{lease['id']}/renew/")
    assert response.status_code == 409
    assert not Lease.objects.filter(renewed_from_id=lease["id"]).exists()


def test_terminating_a_renewed_lease_cancels_its_renewal(tenant_client, model, fleet, frozen_now):
    lease = _post(tenant_client, "/api/v1/leases/", long_body(model)).json()
    renewal = _post(tenant_client, f"/api/v1/leases/{lease['id']}/renew/").json()
    response = _post(tenant_client, f"/api/v1/leases/{lease['id']}/terminate/",
                     {"effective": "2027-06-01"})  # fmt: skip
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "terminated"
    assert response.json()["cancelled_renewal"] == renewal["id"]
    assert Lease.objects.get(pk=renewal["id"]).status == "cancelled"
    assert not Allocation.objects.filter(lease_id=renewal["id"]).exists()
    cancelled = LeaseEvent.objects.filter(lease_id=renewal["id"]).latest("id")
    assert (cancelled.from_status, cancelled.to_status) == ("reserved", "cancelled")
    assert f"lease {lease['id']} terminated" in cancelled.reason
    terminated = LeaseEvent.objects.filter(lease_id=lease["id"]).latest("id")
    assert terminated.to_status == "terminated"
    assert terminated.data["cancelled_renewal"] == renewal["id"]
    assert f"renewal {renewal['id']} cancelled" in terminated.reason


def test_a_full_length_reason_still_terminates_a_renewed_lease(
    tenant_client, model, fleet, frozen_now
):
    lease = _post(tenant_client, "/api/v1/leases/", long_body(model)).json()
    renewal = _post(tenant_client, f"/api/v1/leases/{lease['id']}/renew/").json()
    response = _post(tenant_client, f"/api/v1/leases/{lease['id']}/terminate/",
                     {"effective": "2027-06-01", "reason": "x" * 500})  # fmt: skip
    assert response.status_code == 200, response.content[:300]
    terminated = LeaseEvent.objects.filter(lease_id=lease["id"]).latest("id")
    assert len(terminated.reason) == 500
    assert terminated.reason.endswith(f"; renewal {renewal['id']} cancelled")


def test_terminating_a_lease_without_renewal_cancels_nothing(
    tenant_client, model, fleet, frozen_now
):
    lease = _post(tenant_client, "/api/v1/leases/", long_body(model)).json()
    response = _post(tenant_client, f"/api/v1/leases/{lease['id']}/terminate/",
                     {"effective": "2027-06-01"})  # fmt: skip
    assert response.status_code == 200, response.json()
    assert response.json()["cancelled_renewal"] is None


def test_cancelling_a_reserved_lease_cancels_its_renewal(
    tenant_client, operator_client, model, fleet, frozen_now
):
    lease = _post(tenant_client, "/api/v1/leases/", long_body(model)).json()
    renewal = _post(tenant_client, f"/api/v1/leases/{lease['id']}/renew/").json()
    response = _post(operator_client, f"/api/v1/leases/{lease['id']}/cancel/")
    assert response.status_code == 200, response.json()
    assert Lease.objects.get(pk=renewal["id"]).status == "cancelled"
    event = LeaseEvent.objects.filter(lease_id=lease["id"]).latest("id")
    assert event.data["cancelled_renewal"] == renewal["id"]
