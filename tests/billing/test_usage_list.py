"""Usage-record lists and details come from `.values()` rows: the same JSON as
UsageRecordSerializer on the instances, and a page is a constant number of queries."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from billing.api.serializers import UsageRecordSerializer
from billing.models import UsageRecord
from core import clock
from tests.billing.conftest import usage_record

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reported_later")]


def record(lease_, n: int, **overrides):
    """Ends at a fraction of a second, to check how datetimes are written."""
    return usage_record(lease_, n, **{"end": "2027-03-10T01:00:00.250000Z", **overrides})


def post(client, records):
    response = client.post("/api/v1/usage-records/", {"records": records}, format="json")
    assert response.status_code == 201, response.json()


def expected(queryset) -> list[dict]:
    records = queryset.select_related("metric", "corrects").order_by("id")
    with timezone.override(clock.operator_tz()):  # as the API renders (in operator time)
        return json.loads(JSONRenderer().render(UsageRecordSerializer(records, many=True).data))


def test_rows_and_details_match_the_serializer(tenant_client, make_client, make_user, lease):
    card = lease.allocations.first().card_id
    post(tenant_client, [record(lease, n, quantity=f"{n}.125") for n in range(3)])
    post(tenant_client, [record(lease, 3, metric="card_busy_hours", card=card, quantity="2")])
    post(tenant_client, [record(lease, 4, quantity="-1", corrects="r-1")])
    make_client(make_user("tenant"))  # another tenant's user: sees nothing of these
    rows = tenant_client.get("/api/v1/usage-records/").json()["results"]
    assert rows == expected(UsageRecord.objects.filter(tenant=lease.tenant))
    assert [list(row) for row in rows] == [list(UsageRecordSerializer.Meta.fields)] * 5
    assert rows[4]["corrects"] == "r-1"
    assert rows[3]["metric"] == "card_busy_hours"
    assert rows[3]["card"] == card
    assert rows[0]["end"] == "2027-03-10T09:00:00.250000+08:00"
    for row in rows:
        assert tenant_client.get(f"/api/v1/usage-records/{row['id']}/").json() == row
    filtered = tenant_client.get("/api/v1/usage-records/?metric=storage_tb_hours").json()
    assert filtered["count"] == 4
    assert filtered["results"] == [row for row in rows if row["metric"] == "storage_tb_hours"]
    assert tenant_client.get("/api/v1/usage-records/?month=2027-3").status_code == 400


def test_a_list_page_is_a_constant_number_of_queries(tenant_client, lease):
    def page_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = tenant_client.get("/api/v1/usage-records/?metric=storage_tb_hours")
        assert response.status_code == 200
        return len(queries)

    post(tenant_client, [record(lease, 0)])
    assert page_queries() == 2  # the token with its user; the page with its count
    post(tenant_client, [record(lease, n) for n in range(1, 40)])
    assert page_queries() == 2
    post(tenant_client, [record(lease, 40 + n, quantity="-1", corrects=f"r-{n}") for n in range(5)])
    assert page_queries() == 3  # and the external_ids of the corrected records
