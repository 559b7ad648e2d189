from decimal import Decimal

import pytest

from tests.timing import at

pytestmark = pytest.mark.django_db


def test_recompute_then_read_the_occupancy_report(operator_client, story):
    with at("2027-03-12 01:00"):
        response = operator_client.post(
            "/api/v1/reports/recompute/", {"from": "2027-03-10", "to": "2027-03-11"}, format="json"
        )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "done"
    rows = operator_client.get(
        "/api/v1/reports/occupancy/",
        {"from": "2027-03-10", "to": "2027-03-10", "group_by": "site"},
    ).json()
    assert rows[0]["group"] == story["site"].pk
    assert rows[0]["group_name"] == story["site"].name
    assert rows[0]["rental_rate"] == "0.7986"
    assert rows[0]["racking_rate"] == "0.5000"


def test_reports_as_csv(finance_client, story):
    with at("2027-03-12 01:00"):
        finance_client.post(
            "/api/v1/reports/recompute/", {"from": "2027-03-10", "to": "2027-03-10"}, format="json"
        )
    response = finance_client.get(
        "/api/v1/reports/revenue/",
        {
            "from": "2027-03-01",
            "to": "2027-03-31",
            "group_by": "tenant",
            "granularity": "month",
            "format": "csv",
        },
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().strip().splitlines()
    assert lines[0] == "period,group,group_name,amount"
    # 226.451613 + 71.25 = 297.701613 → 297.70
    assert lines[1] == f"2027-03,{story['long'].tenant_id},{story['long'].tenant.name},297.70"


@pytest.mark.parametrize("path", ["/api/v1/reports/revenue/", "/api/v1/reports/occupancy/"])
@pytest.mark.parametrize(
    ("accept", "params", "status", "media_type"),
    [
        ("text/csv", {}, 200, "text/csv"),
        ("*/*", {"format": "csv"}, 200, "text/csv"),
        ("*/*", {}, 200, "application/json"),
        ("text/csv", {"group_by": "galaxy"}, 400, "application/json"),  # the error body
    ],
)
def test_report_downloads_answer_their_own_media_type(
    finance_client, story, path, accept, params, status, media_type
):
    query = {"from": "2027-03-01", "to": "2027-03-31", "group_by": "site", **params}
    response = finance_client.get(path, query, HTTP_ACCEPT=accept)
    assert response.status_code == status
    assert response["Content-Type"].startswith(media_type)


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2027-03-11", "to": "2027-03-10", "group_by": "site"},
        {"from": "2027-01-01", "to": "2030-06-01", "group_by": "site"},
        {"from": "2027-03-10", "to": "2027-03-10", "group_by": "galaxy"},
        {"from": "2027-03-10", "to": "2027-03-10", "group_by": "site", "granularity": "week"},
        {"from": "yesterday", "to": "2027-03-10", "group_by": "site"},
        {"to": "2027-03-10", "group_by": "site"},
    ],
)
def test_bad_report_queries_are_400s(operator_client, params):
    response = operator_client.get("/api/v1/reports/occupancy/", params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


@pytest.mark.parametrize(
    "body",
    [{"from": "2027-03-11", "to": "2027-03-10"}, {"from": "9998-01-01", "to": "9998-01-02"}],
)
def test_a_bad_recompute_range_is_a_400_and_writes_nothing(operator_client, body):
    from analytics.models import RecomputeRun

    response = operator_client.post("/api/v1/reports/recompute/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert not RecomputeRun.objects.exists()


def test_a_recompute_is_audited(operator_client, operator):
    from core.models import AuditLog

    response = operator_client.post(
        "/api/v1/reports/recompute/", {"from": "2027-03-10", "to": "2027-03-10"}, format="json"
    )
    assert response.status_code == 200, response.json()
    entry = AuditLog.objects.get(action="snapshots.recompute")
    assert entry.actor_id == operator.pk


def test_tenants_cannot_read_reports(tenant_client):
    response = tenant_client.get(
        "/api/v1/reports/revenue/", {"from": "2027-03-01", "to": "2027-03-31", "group_by": "site"}
    )
    assert response.status_code == 403


def test_rates_round_half_up():
    from analytics.reports import _rate

    assert _rate(Decimal("1.5"), Decimal("48")) == "0.0313"  # 0.03125


@pytest.mark.parametrize(
    ("report", "group_by", "name"),
    [("occupancy", "rack", lambda story: story["long"].allocations.first().card.server.rack.name),
     ("occupancy", "card_model", lambda story: story["long"].card_model.name),
     ("occupancy", "fleet", lambda story: "Fleet"),
     ("revenue", "tenant", lambda story: story["long"].tenant.name),
     ("revenue", "card_model", lambda story: story["long"].card_model.name),
     ("revenue", "lease_kind", lambda story: "Long lease")],
)  # fmt: skip
def test_report_rows_name_their_group_in_one_query(
    operator_client, story, report, group_by, name, django_assert_max_num_queries
):
    with at("2027-03-12 01:00"):
        operator_client.post(
            "/api/v1/reports/recompute/", {"from": "2027-03-10", "to": "2027-03-11"}, format="json"
        )
    params = {"from": "2027-03-10", "to": "2027-03-11", "group_by": group_by}
    operator_client.get(f"/api/v1/reports/{report}/", params)
    # the token, the count of rows (the bound, reports.REPORT_MAX_ROWS), the rows, and the names
    # of their groups
    with django_assert_max_num_queries(4):
        rows = operator_client.get(f"/api/v1/reports/{report}/", params).json()
    assert rows
    assert name(story) in {row["group_name"] for row in rows}
    assert all(list(row)[:3] == ["period", "group", "group_name"] for row in rows)
