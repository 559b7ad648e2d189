"""The API renders datetimes in the operator's time zone with its offset, and accepts any offset."""

import pytest
from django.test import override_settings

from tests.leasing.conftest import long_body, short_body

pytestmark = pytest.mark.django_db


def test_a_long_lease_reads_in_operator_time(tenant_client, model, fleet, frozen_now):
    created = tenant_client.post("/api/v1/leases/", long_body(model), format="json").json()
    assert created["start"] == "2027-03-15T00:00:00+08:00"
    assert created["end"] == "2028-03-15T00:00:00+08:00"
    listed = tenant_client.get("/api/v1/leases/").json()["results"][0]
    assert (listed["start"], listed["end"]) == (created["start"], created["end"])
    assert listed["created_at"] == "2027-03-10T12:00:00+08:00"
    event = tenant_client.get(f"/api/v1/leases/{created['id']}/events/").json()["results"][0]
    assert event["at"] == "2027-03-10T12:00:00+08:00"


def test_any_offset_is_accepted_on_input(tenant_client, model, fleet, frozen_now):
    body = short_body(model, start="2027-03-11T01:30:00Z", end="2027-03-11T12:30:00+09:00")
    created = tenant_client.post("/api/v1/leases/", body, format="json").json()
    assert created["start"] == "2027-03-11T09:30:00+08:00"
    assert created["end"] == "2027-03-11T11:30:00+08:00"


def test_the_test_clock_answers_in_operator_time(admin_client_api, frozen_now):
    with override_settings(TEST_CLOCK=True):
        body = admin_client_api.get("/api/v1/test-clock/").json()
    assert body["now"] == "2027-03-10T12:00:00+08:00"


@override_settings(OPERATOR_TIME_ZONE="Europe/Berlin")
def test_the_zone_is_the_operator_setting(tenant_client, model, fleet, frozen_now):
    created = tenant_client.post("/api/v1/leases/", short_body(model), format="json").json()
    assert created["start"] == "2027-03-10T05:00:00+01:00"
