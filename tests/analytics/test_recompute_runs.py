import datetime as dt
import threading

import pytest
from django.db import connection, connections

from analytics import services
from analytics.models import OccupancyDaily, RecomputeRun, RevenueDaily
from analytics.services import snapshots_nightly, snapshots_recompute
from tests.analytics.conftest import DAY
from tests.timing import at


def _rows():
    return (
        sorted(
            OccupancyDaily.objects.values_list(
                "day", "rack_id", "card_hours_leased", "card_hours_busy"
            )
        ),
        sorted(RevenueDaily.objects.values_list("day", "lease_id", "amount")),
    )


@pytest.mark.django_db
def test_nightly_does_yesterday_then_resumes_after_the_last_success(story):
    with at("2027-03-11 01:00"):
        run = snapshots_nightly()
    assert (run.day_from, run.day_to) == (DAY, DAY)
    with at("2027-03-14 01:00"):  # two nights were missed
        run = snapshots_nightly()
    assert (run.day_from, run.day_to) == (DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=3))
    assert RecomputeRun.objects.filter(status="done").count() == 2


@pytest.mark.django_db
def test_a_run_killed_half_way_and_rerun_gives_the_rows_of_a_clean_run(story, monkeypatch):
    span = (DAY - dt.timedelta(days=5), DAY + dt.timedelta(days=5))
    with at("2027-03-20 01:00"):
        snapshots_recompute(day_from=span[0], day_to=span[1])
        clean = _rows()
        OccupancyDaily.objects.all().delete()
        RevenueDaily.objects.all().delete()
        real_chunk = services._recompute_chunk
        calls = []

        def dying_chunk(d0, d1):
            calls.append(d0)
            if len(calls) == 2:
                raise RuntimeError("worker killed")
            return real_chunk(d0, d1)

        monkeypatch.setattr(services, "CHUNK_DAYS", 4)
        monkeypatch.setattr(services, "_recompute_chunk", dying_chunk)
        with pytest.raises(RuntimeError):
            snapshots_recompute(day_from=span[0], day_to=span[1])
        assert RecomputeRun.objects.filter(status="failed").count() == 1
        monkeypatch.setattr(services, "_recompute_chunk", real_chunk)
        snapshots_recompute(day_from=span[0], day_to=span[1])
    assert _rows() == clean


@pytest.mark.django_db(transaction=True)
def test_the_nightly_run_skips_while_another_holds_the_lock(story):
    held = threading.Event()
    release = threading.Event()

    def holder():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [services.LOCK_KEY])
                held.set()
                release.wait(10)
                cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [services.LOCK_KEY])
        finally:
            connections.close_all()

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(5)
    try:
        with at("2027-03-11 01:00"):
            assert snapshots_nightly() is None
    finally:
        release.set()
        thread.join(10)
    with at("2027-03-11 01:00"):
        assert snapshots_nightly() is not None


@pytest.mark.django_db(transaction=True)
def test_concurrent_backfills_of_the_same_days_never_duplicate(story):
    errors = []

    def backfill():
        try:
            with at("2027-03-20 01:00"):
                snapshots_recompute(
                    day_from=DAY - dt.timedelta(days=3), day_to=DAY + dt.timedelta(days=3)
                )
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=backfill) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert (
        OccupancyDaily.objects.filter(day=DAY).count()
        == OccupancyDaily.objects.filter(day=DAY)
        .values("rack_id", "card_model_id")
        .distinct()
        .count()
    )
    assert RevenueDaily.objects.filter(day=DAY).count() == 2


@pytest.mark.django_db
def test_days_recomputed_before_they_happened_count_as_missed(story):
    with at("2027-03-11 12:00"):  # a backfill reaching into the future
        snapshots_recompute(day_from=DAY, day_to=DAY + dt.timedelta(days=10))
    with at("2027-03-15 01:00"):
        run = snapshots_nightly()
    # the 10th was over when the backfill ran; the 11th to the 14th were not
    assert (run.day_from, run.day_to) == (DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=4))


def test_a_range_is_at_most_three_calendar_years():
    from core.exceptions import InvalidInput

    services.range_validate(dt.date(2027, 1, 1), dt.date(2029, 12, 31))
    with pytest.raises(InvalidInput):
        services.range_validate(dt.date(2027, 1, 1), dt.date(2030, 1, 1))
