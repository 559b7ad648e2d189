"""A report of more rows than REPORT_MAX_ROWS is refused (400) before it is built."""

import json

import pytest

from tests.timing import at

pytestmark = pytest.mark.django_db

RANGE = {"from": "2027-03-10", "to": "2027-03-11"}


@pytest.fixture
def recomputed(operator_client, story):
    with at("2027-03-12 01:00"):
        response = operator_client.post("/api/v1/reports/recompute/", RANGE, format="json")
    assert response.status_code == 200, response.json()
    return story


@pytest.mark.parametrize(
    ("path", "group_by"),
    [
        ("/api/v1/reports/occupancy/", "rack"),  # 2 racks × 2 days
        ("/api/v1/reports/occupancy/", "fleet"),  # a constant group: 2 days
        ("/api/v1/reports/revenue/", "lease_kind"),  # 2 kinds × 2 days
    ],
)
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_a_report_over_the_row_bound_is_a_400_asking_for_months(
    operator_client, recomputed, settings, path, group_by, fmt
):
    query = {**RANGE, "group_by": group_by, "format": fmt}
    rows = operator_client.get(path, {**query, "format": "json"}).json()
    assert len(rows) >= 2
    settings.REPORT_MAX_ROWS = len(rows)
    assert operator_client.get(path, query).status_code == 200  # at the bound: answered
    settings.REPORT_MAX_ROWS = len(rows) - 1
    response = operator_client.get(path, query)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "report_too_large"
    assert "granularity=month" in error["message"]
    assert error["fields"] == {"granularity": [f"More than {len(rows) - 1:,} rows; try month."]}
    # by month, the same days fit
    monthly = operator_client.get(path, {**query, "granularity": "month", "format": "json"})
    assert monthly.status_code == 200 and len(monthly.json()) < len(rows)


@pytest.mark.parametrize(
    ("path", "group_by"),
    [("/api/v1/reports/occupancy/", "rack"), ("/api/v1/reports/revenue/", "tenant")],
)
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_a_report_over_the_stream_bound_is_streamed_with_the_same_bytes(
    operator_client, recomputed, settings, path, group_by, fmt
):
    query = {**RANGE, "group_by": group_by, "format": fmt}
    settings.REPORT_STREAM_ROWS = 10_000
    whole = operator_client.get(path, query)
    assert whole.status_code == 200 and not whole.streaming
    settings.REPORT_STREAM_ROWS = 1
    streamed = operator_client.get(path, query)
    assert streamed.status_code == 200 and streamed.streaming
    assert streamed["Content-Type"] == whole["Content-Type"]
    assert streamed.get("Content-Disposition") == whole.get("Content-Disposition")
    body = b"".join(streamed.streaming_content)
    assert body == whole.content
    if fmt == "json":
        assert len(json.loads(body)) >= 2


def test_a_streamed_report_names_its_groups_a_chunk_at_a_time(
    operator_client, recomputed, settings, monkeypatch
):
    from analytics import reports

    monkeypatch.setattr(reports, "STREAM_CHUNK", 1)
    query = {**RANGE, "group_by": "rack"}
    whole = operator_client.get("/api/v1/reports/occupancy/", query).json()
    settings.REPORT_STREAM_ROWS = 1
    streamed = operator_client.get("/api/v1/reports/occupancy/", query)
    assert json.loads(b"".join(streamed.streaming_content)) == whole
    assert all(row["group_name"] for row in whole)
