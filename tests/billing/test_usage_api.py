import datetime as dt

import pytest

from billing.models import UsageRecord
from tests.billing.conftest import usage_record as record
from tests.timing import at

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reported_later")]


def post(client, records, atomic=None):
    body = {"records": records} if atomic is None else {"records": records, "atomic": atomic}
    return client.post("/api/v1/usage-records/", body, format="json")


def test_a_batch_is_accepted_and_a_retry_adds_nothing(operator_client, lease):
    batch = [record(lease, n) for n in range(50)]
    first = post(operator_client, batch)
    assert first.status_code == 201, first.json()
    assert first.json() == {"accepted": 50, "duplicates": 0, "errors": []}
    again = post(operator_client, batch)
    assert again.json() == {"accepted": 0, "duplicates": 50, "errors": []}
    assert UsageRecord.objects.count() == 50
    stored = UsageRecord.objects.get(external_id="r-7")
    assert stored.tenant_id == lease.tenant_id
    assert stored.month == dt.date(2027, 3, 1)
    assert str(stored.quantity) == "1.500000"


def test_bad_records_come_back_with_index_and_code_and_nothing_is_stored(operator_client, lease):
    batch = [
        record(lease, 0),
        record(lease, 1, metric="gpu_smiles"),
        record(lease, 2, start="2027-02-28T00:00:00Z", end="2027-02-28T01:00:00Z"),
        record(lease, 3, quantity="-2"),
        record(lease, 4, lease=999999),
        record(lease, 5, metric="card_minutes"),
        record(lease, 6, end="2027-03-09T00:00:00Z"),
        record(lease, 7, card=999999),
        record(lease, 8, colour="blue"),
        record(lease, 9, quantity=1.5),  # a float would arrive as Decimal: fine
        record(lease, 10, quantity="abc"),
    ]
    response = post(operator_client, batch)
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "invalid_records"
    assert body["accepted"] == 0
    assert [(e["index"], e["code"]) for e in body["errors"]] == [
        (1, "unknown_metric"),
        (2, "outside_lease_term"),
        (3, "negative_without_correction"),
        (4, "unknown_lease"),
        (5, "metric_not_external"),
        (6, "invalid_window"),
        (7, "card_not_in_lease"),
        (8, "unknown_field"),
        (10, "invalid"),
    ]
    assert not UsageRecord.objects.exists()


def test_non_atomic_batches_keep_the_good_records(operator_client, lease):
    response = post(
        operator_client, [record(lease, 0), record(lease, 1, metric="nope")], atomic=False
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["accepted"], body["duplicates"]) == (1, 0)
    assert [e["index"] for e in body["errors"]] == [1]
    assert UsageRecord.objects.count() == 1


def test_a_tenant_cannot_post_for_another_tenants_lease(make_user, make_client, lease):
    stranger = make_client(make_user("tenant"))
    response = post(stranger, [record(lease, 0)])
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "unknown_lease"


def test_a_tenant_posts_for_its_own_lease_and_sees_only_its_records(
    tenant_client, lease, make_user, make_client
):
    assert (
        post(tenant_client, [record(lease, 0, metric="card_busy_hours", quantity="2")]).status_code
        == 201
    )
    assert tenant_client.get("/api/v1/usage-records/").json()["count"] == 1
    assert make_client(make_user("tenant")).get("/api/v1/usage-records/").json()["count"] == 0


def test_a_correction_is_a_negative_record_naming_the_original(operator_client, lease):
    post(operator_client, [record(lease, 0, quantity="10")])
    response = post(operator_client, [record(lease, 1, quantity="-4", corrects="r-0")])
    assert response.status_code == 201, response.json()
    correction = UsageRecord.objects.get(external_id="r-1")
    assert correction.corrects.external_id == "r-0"
    assert str(correction.quantity) == "-4.000000"
    bad = post(operator_client, [record(lease, 2, quantity="-1", corrects="missing")])
    assert bad.json()["errors"][0]["code"] == "unknown_correction"


@pytest.mark.parametrize(
    "body",
    [
        {"records": []},
        {"records": "nope"},
        {"records": [{}], "atomic": "yes"},
        {"records": [{}], "extra": 1},
        [1, 2, 3],
    ],
)
def test_malformed_batches_are_400s(operator_client, lease, body):
    response = operator_client.post("/api/v1/usage-records/", body, format="json")
    assert response.status_code == 400
    assert "error" in response.json()
    assert not UsageRecord.objects.exists()


def test_more_than_10000_records_is_refused(operator_client, lease):
    response = post(operator_client, [record(lease, n) for n in range(10001)])
    assert response.status_code == 400
    assert "records" in response.json()["error"]["fields"]


def test_finance_cannot_post_usage(finance_client, lease):
    assert post(finance_client, [record(lease)]).status_code == 403


def test_metrics_are_a_paginated_list_like_every_other(tenant_client):
    body = tenant_client.get("/api/v1/metrics/").json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert "card_busy_hours" in {m["code"] for m in body["results"]}


def test_corrections_never_take_a_record_below_zero_and_retries_stay_duplicates(
    operator_client, lease
):
    post(operator_client, [record(lease, 0, quantity="10")])
    first = [record(lease, 1, quantity="-4", corrects="r-0")]
    assert post(operator_client, first).status_code == 201
    assert post(operator_client, first).json()["duplicates"] == 1  # a retry, not an overdraw
    over = post(operator_client, [record(lease, 2, quantity="-6.5", corrects="r-0")])
    assert over.status_code == 400
    assert over.json()["errors"][0]["code"] == "over_correction"
    both = [record(lease, 3, quantity="-3", corrects="r-0"),
            record(lease, 4, quantity="-3.5", corrects="r-0")]  # fmt: skip
    assert [e["code"] for e in post(operator_client, both).json()["errors"]] == ["over_correction"]
    assert (
        post(operator_client, [record(lease, 5, quantity="-6", corrects="r-0")]).status_code == 201
    )
    assert sum(r.quantity for r in UsageRecord.objects.all()) == 0


def test_usage_is_reported_once_its_window_is_over(operator_client, lease):
    with at("2027-03-10 08:30"):  # 00:30 UTC: the window 00:00–01:00 UTC is still running
        response = post(operator_client, [record(lease, 0)])
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "in_future"
    assert not UsageRecord.objects.exists()


def test_a_nul_character_is_a_record_error_not_a_server_error(operator_client, lease):
    response = post(operator_client, [record(lease, 0, external_id="a\u0000b")])
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid"


def test_a_billable_metric_keeps_a_price(finance_client):
    metric = finance_client.get("/api/v1/metrics/").json()["results"]
    storage = next(m for m in metric if m["code"] == "storage_tb_hours")
    response = finance_client.patch(
        f"/api/v1/metrics/{storage['id']}/", {"unit_price": None}, format="json"
    )
    assert response.status_code == 400
    assert "unit_price" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    "override",
    [{"lease": "²"}, {"lease": "9" * 5000}, {"corrects": "a\u0000b"}, {"corrects": "x" * 200}],
)  # fmt: skip
def test_odd_ids_and_text_are_record_errors_not_server_errors(operator_client, lease, override):
    response = post(operator_client, [record(lease, 0, **override)])
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid"
    assert not UsageRecord.objects.exists()


def test_a_lone_surrogate_is_a_record_error(operator_client, lease):
    import json

    body = json.dumps({"records": [record(lease, 0, external_id="@")]}).replace("@", "\\ud800")
    response = operator_client.generic(
        "POST", "/api/v1/usage-records/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid"
    assert not UsageRecord.objects.exists()


# --- The batch envelope: checked once, by its input serializer ----------------------------------


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"records": [{}], "atomic": "true"}, "atomic"),
        ({"records": [{}], "atomic": 1}, "atomic"),
        ({"records": [{}], "extra": 1}, "extra"),
    ],
)
def test_the_batch_envelope_is_checked_by_its_serializer(data, field):
    from billing.api.serializers import UsageBatchInSerializer

    body = UsageBatchInSerializer(data=data)
    assert not body.is_valid()
    assert field in body.errors


def test_the_envelope_serializer_refuses_a_list_and_passes_records_through_untouched():
    from billing.api.serializers import UsageBatchInSerializer

    assert not UsageBatchInSerializer(data=[1, 2, 3]).is_valid()
    records = [{"anything": "the ingestion service checks records"}]
    body = UsageBatchInSerializer(data={"records": records})
    assert body.is_valid(), body.errors
    assert body.validated_data == {"atomic": True, "records": records}
    missing = UsageBatchInSerializer(data={"atomic": False})
    assert missing.is_valid(), missing.errors
    assert missing.validated_data == {"atomic": False, "records": None}
