"""Reports read from a replica when one is configured (core/replica.py), and say as of when."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.test.utils import CaptureQueriesContext

from analytics.models import BusinessCase, OccupancyDaily, RevenueDaily
from core.replica import REPLICA, ReplicaRouter, reports_alias, reports_as_of
from tests.timing import at

OCCUPANCY = "/api/v1/reports/occupancy/"
QUERY = {"from": "2027-03-10", "to": "2027-03-10", "group_by": "site"}


def _recompute(client) -> None:
    with at("2027-03-12 01:00"):
        response = client.post(
            "/api/v1/reports/recompute/", {"from": "2027-03-10", "to": "2027-03-10"}, format="json"
        )
    assert response.json()["status"] == "done"


@pytest.fixture
def replica(settings) -> str:
    """REPLICA_DATABASE_URL on: the alias `replica` is a second connection to the test database
    (config/test_settings.py mirrors it), where a transactional test's committed rows are."""
    settings.REPLICA_DATABASE_URL = "postgres://replica.invalid/aidc"  # read only for "is set"
    return REPLICA


@pytest.mark.django_db
def test_without_a_replica_reports_read_the_primary_as_of_now(operator_client, story) -> None:
    assert reports_alias() == DEFAULT_DB_ALIAS
    _recompute(operator_client)
    with at("2027-03-12 09:30:15"):
        response = operator_client.get(OCCUPANCY, QUERY)
    assert response.status_code == 200
    assert response["Report-As-Of"] == "2027-03-12T09:30:15+08:00"


@pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA])
def test_with_a_replica_reports_read_it_and_writes_stay_on_the_primary(
    operator_client, story, replica: str
) -> None:
    _recompute(operator_client)  # written on the primary, committed: the "replica" sees it
    assert reports_alias() == replica
    with CaptureQueriesContext(connections[replica]) as on_replica:
        rows = operator_client.get(OCCUPANCY, QUERY).json()
    assert rows[0]["group"] == story["site"].pk and rows[0]["rental_rate"] == "0.7986"
    report_sql = [q["sql"] for q in on_replica if "analytics_occupancydaily" in q["sql"]]
    assert len(report_sql) == 2  # the row bound and the report itself
    # the router: the nightly figures' reads go to the replica, nothing else, and no write
    for model in (OccupancyDaily, RevenueDaily):
        assert router.db_for_read(model) == replica
        assert router.db_for_write(model) == DEFAULT_DB_ALIAS
    assert router.db_for_read(BusinessCase) == DEFAULT_DB_ALIAS
    assert not ReplicaRouter().allow_migrate(replica, "analytics")
    assert ReplicaRouter().allow_migrate(DEFAULT_DB_ALIAS, "analytics")


@pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA])
def test_as_of_on_a_replica_is_now_less_its_replay_lag(replica: str) -> None:
    """A server not in recovery has no lag; the SQL is the replica's (pg_is_in_recovery)."""
    with at("2027-03-12 09:30:00"):
        assert reports_as_of(replica) == dt.datetime(2027, 3, 12, 1, 30, tzinfo=dt.UTC)
