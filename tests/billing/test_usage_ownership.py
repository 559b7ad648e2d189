"""Usage ids belong to whoever posts them: the platform's meter, the operator, or one tenant."""

import datetime as dt

import pytest

from billing.models import UsageRecord
from leasing.models import Allocation
from leasing.services import lease_create, lease_stop
from tests.billing.conftest import D, invoice_for, run
from tests.billing.conftest import usage_record as record
from tests.factories import TenantFactory
from tests.timing import at

pytestmark = pytest.mark.django_db


def post(client, records, atomic=None):
    body = {"records": records} if atomic is None else {"records": records, "atomic": atomic}
    return client.post("/api/v1/usage-records/", body, format="json")


def short_lease(tenant, model):
    """A 1-card short lease held 2027-03-02 10:00 → 12:00 (Shanghai): 120 card-minutes."""
    with at("2027-03-02 10:00"):
        lease = lease_create(
            actor=None, tenant=tenant, kind="short", card_model=model, card_count=1
        )
    return lease


def test_a_tenant_cannot_erase_its_short_lease_billing_with_the_meters_ids(
    tenant, tenant_client, operator_client, domestic
):
    mine, twin = short_lease(tenant, domestic), short_lease(tenant, domestic)
    allocation = Allocation.objects.get(lease=mine)
    meter_id = f"short:{allocation.pk}:2027-03-02"
    exploit = {
        "source": "platform", "external_id": meter_id, "lease": mine.pk,
        "metric": "storage_tb_hours", "quantity": "0.000001",
        "start": "2027-03-02T02:00:00Z", "end": "2027-03-02T02:01:00Z",
    }  # fmt: skip
    with at("2027-03-02 11:00"):
        response = post(tenant_client, [exploit])
        by_operator = post(operator_client, [exploit])
    assert response.status_code == 400
    assert [e["code"] for e in response.json()["errors"]] == ["reserved_source"]
    assert [e["code"] for e in by_operator.json()["errors"]] == ["reserved_source"]
    assert not UsageRecord.objects.exists()
    with at("2027-03-02 12:00"):
        lease_stop(actor=None, lease=mine)
        lease_stop(actor=None, lease=twin)
    with at("2027-04-01 08:00"):
        run("2027-03")
    # each lease: 120 card-minutes × 7.50 / 60 = 15.00
    amounts = {line.lease_id: line.amount for line in invoice_for(tenant, "2027-03").lines.all()}
    assert amounts == {mine.pk: D("15.00"), twin.pk: D("15.00")}
    assert UsageRecord.objects.get(external_id=meter_id).source == "platform"


def test_tenants_ids_never_collide_and_a_duplicate_is_only_ones_own(
    tenant, tenant_client, domestic, make_user, make_client, lease
):
    other = TenantFactory()
    other_client = make_client(make_user("tenant", tenant=other))
    with at("2027-03-01 00:00"):
        theirs = lease_create(
            actor=None, tenant=other, kind="long", card_model=domestic, card_count=1,
            start=dt.date(2027, 3, 1), term_months=12,
        )  # fmt: skip
    with at("2027-04-01 00:00"):
        first = post(other_client, [record(theirs, 0)])
        mine = post(tenant_client, [record(lease, 0)])
        again = post(tenant_client, [record(lease, 0)])
    assert first.json() == {"accepted": 1, "duplicates": 0, "errors": []}
    assert mine.json() == {"accepted": 1, "duplicates": 0, "errors": []}
    assert again.json() == {"accepted": 0, "duplicates": 1, "errors": []}
    assert sorted(UsageRecord.objects.values_list("tenant_id", flat=True)) == sorted(
        [tenant.pk, other.pk]
    )


def test_a_tenant_cannot_shadow_or_correct_the_operators_records(
    tenant_client, operator_client, lease
):
    with at("2027-04-01 00:00"):
        assert post(tenant_client, [record(lease, 0, quantity="0.5")]).status_code == 201
        # the operator's meter reports the same id later: it is billed, not a duplicate
        assert post(operator_client, [record(lease, 0, quantity="10")]).json()["accepted"] == 1
        # a tenant's correction resolves among its own records only
        response = post(tenant_client, [record(lease, 1, quantity="-10", corrects="r-0")])
        own = post(tenant_client, [record(lease, 2, quantity="-0.5", corrects="r-0")])
    assert [e["code"] for e in response.json()["errors"]] == ["over_correction"]
    assert own.status_code == 201, own.json()
    operators = UsageRecord.objects.get(external_id="r-0", poster="operator")
    assert operators.quantity == 10 and not operators.corrections.exists()
    assert UsageRecord.objects.get(external_id="r-2").corrects.poster == "tenant"


def test_a_correction_resolves_within_the_tenant_of_its_lease(
    tenant, operator_client, domestic, lease
):
    other = TenantFactory()
    with at("2027-03-01 00:00"):
        theirs = lease_create(
            actor=None, tenant=other, kind="long", card_model=domestic, card_count=1,
            start=dt.date(2027, 3, 1), term_months=12,
        )  # fmt: skip
    with at("2027-04-01 00:00"):
        post(operator_client, [record(lease, 0, quantity="3"), record(theirs, 0, quantity="5")])
        fix = post(operator_client, [record(theirs, 1, quantity="-5", corrects="r-0")])
    assert fix.status_code == 201, fix.json()
    correction = UsageRecord.objects.get(external_id="r-1")
    assert (correction.tenant_id, correction.corrects.tenant_id) == (other.pk, other.pk)
    assert correction.corrects.lease_id == theirs.pk
