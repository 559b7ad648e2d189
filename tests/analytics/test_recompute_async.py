"""A long recompute (more than RECOMPUTE_SYNC_MAX_DAYS days) goes to a worker: 202, a run to poll.

Short ranges stay in the request (test_reports_api.py)."""

import datetime as dt
import time

import pytest

from analytics.models import OccupancyDaily, RecomputeRun
from analytics.tasks import recompute_run
from core.models import AuditLog
from core.queue import QUEUE_DOWN
from tests.outages import broker_down, take_queued
from tests.timing import at
from tests.workers import real_worker

LONG = {"from": "2027-03-01", "to": "2027-04-30"}  # 61 days


@pytest.mark.django_db
def test_a_long_range_is_recorded_running_queued_and_answered_202(
    operator_client, operator, django_capture_on_commit_callbacks
):
    with at("2027-05-01 09:00"), django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post("/api/v1/reports/recompute/", LONG, format="json")
    assert response.status_code == 202, response.json()
    run = RecomputeRun.objects.get()
    assert response.json() == {
        "id": run.pk,
        "status": "running",
        "from": "2027-03-01",
        "to": "2027-04-30",
    }
    assert response["Location"].endswith(f"/api/v1/reports/recompute/{run.pk}/")
    assert (run.status, run.trigger, run.day_from) == ("running", "api", dt.date(2027, 3, 1))
    assert AuditLog.objects.get(action="snapshots.recompute_start").actor_id == operator.pk
    assert take_queued("analytics.recompute_run") == [f"({run.pk},)"]
    status = operator_client.get(response["Location"]).json()
    assert (status["status"], status["finished_at"], status["seconds"]) == ("running", None, None)


@pytest.mark.django_db
def test_a_range_of_the_bound_stays_in_the_request(operator_client, settings):
    settings.RECOMPUTE_SYNC_MAX_DAYS = 10
    body = {"from": "2027-03-01", "to": "2027-03-10"}
    with at("2027-05-01 09:00"):
        response = operator_client.post("/api/v1/reports/recompute/", body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "done"
    assert take_queued("analytics.recompute_run") == []


@pytest.mark.django_db
def test_with_the_broker_down_a_long_range_is_503_and_records_nothing(operator_client):
    with at("2027-05-01 09:00"), broker_down():
        response = operator_client.post("/api/v1/reports/recompute/", LONG, format="json")
    assert response.status_code == 503
    assert response.json()["error"]["message"] == QUEUE_DOWN
    assert not RecomputeRun.objects.exists()
    assert not AuditLog.objects.filter(action="snapshots.recompute_start").exists()


@pytest.mark.django_db
def test_a_broker_lost_before_the_commit_closes_the_run_as_failed(
    operator_client, django_capture_on_commit_callbacks
):
    with at("2027-05-01 09:00"), django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = operator_client.post("/api/v1/reports/recompute/", LONG, format="json")
    assert response.status_code == 202
    with broker_down():
        callbacks[0]()
    status = operator_client.get(response["Location"]).json()
    assert (status["status"], status["error"]) == ("failed", QUEUE_DOWN)


@pytest.mark.django_db
def test_the_task_carries_out_its_run_and_leaves_a_done_run_alone(story):
    run = RecomputeRun.objects.create(
        day_from=dt.date(2027, 3, 10),
        day_to=dt.date(2027, 3, 11),
        trigger="api",
        started_at=dt.datetime(2027, 3, 12, tzinfo=dt.UTC),
    )
    with at("2027-03-12 01:00"):
        assert recompute_run(run.pk) == "done"
    run.refresh_from_db()
    assert run.status == "done" and run.finished_at is not None
    assert RecomputeRun.objects.count() == 1  # its own row, no new one
    assert set(OccupancyDaily.objects.values_list("day", flat=True)) == {
        dt.date(2027, 3, 10),
        dt.date(2027, 3, 11),
    }
    OccupancyDaily.objects.all().delete()
    assert recompute_run(run.pk) == "done"  # a redelivery of a done run redoes nothing
    assert not OccupancyDaily.objects.exists()


@pytest.mark.django_db
def test_a_failed_run_says_so_without_its_cause(operator_client):
    run = RecomputeRun.objects.create(
        day_from=dt.date(2027, 3, 1),
        day_to=dt.date(2027, 4, 30),
        status="failed",
        error="OperationalError: server closed the connection",
        started_at=dt.datetime(2027, 5, 1, tzinfo=dt.UTC),
        finished_at=dt.datetime(2027, 5, 1, 0, 2, tzinfo=dt.UTC),
    )
    status = operator_client.get(f"/api/v1/reports/recompute/{run.pk}/").json()
    assert status["status"] == "failed"
    assert status["seconds"] == 120.0
    assert "OperationalError" not in status["error"] and "Try again" in status["error"]


@pytest.mark.django_db
def test_tenants_cannot_read_recompute_runs(tenant_client):
    run = RecomputeRun.objects.create(
        day_from=dt.date(2027, 3, 1),
        day_to=dt.date(2027, 3, 2),
        started_at=dt.datetime(2027, 5, 1, tzinfo=dt.UTC),
    )
    assert tenant_client.get(f"/api/v1/reports/recompute/{run.pk}/").status_code == 403


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_long_recompute_is_done_by_a_real_worker_and_polled_until_done(operator_client, story):
    """The 202's run travels through Redis to a real worker; polling its Location ends `done`."""
    with real_worker():
        response = operator_client.post("/api/v1/reports/recompute/", LONG, format="json")
        assert response.status_code == 202, response.json()
        deadline = time.monotonic() + 60  # a bound on the wait, not an assertion on time
        status = operator_client.get(response["Location"]).json()
        while status["status"] == "running" and time.monotonic() < deadline:
            time.sleep(0.2)
            status = operator_client.get(response["Location"]).json()
    assert status["status"] == "done", status
    assert status["seconds"] is not None and status["error"] == ""
    days = set(OccupancyDaily.objects.values_list("day", flat=True))
    assert min(days) == dt.date(2027, 3, 1) and max(days) == dt.date(2027, 4, 30)
    assert len(days) == 61


@pytest.mark.django_db
def test_a_long_recompute_with_an_idempotency_key_is_recorded_once(
    operator_client, django_capture_on_commit_callbacks
):
    headers = {"HTTP_IDEMPOTENCY_KEY": "recompute-spring"}
    url = "/api/v1/reports/recompute/"
    with at("2027-05-01 09:00"), django_capture_on_commit_callbacks(execute=True):
        first = operator_client.post(url, LONG, format="json", **headers)
        again = operator_client.post(url, LONG, format="json", **headers)
        other = operator_client.post(url, {**LONG, "to": "2027-04-29"}, format="json", **headers)
    assert first.status_code == 202, first.json()
    assert (again.status_code, again.json()) == (202, first.json())
    assert other.status_code == 422, other.json()
    assert RecomputeRun.objects.count() == 1
    assert take_queued("analytics.recompute_run") == [f"({first.json()['id']},)"]
