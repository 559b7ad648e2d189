import datetime as dt
import threading

import pytest
from django.db import connections

from analytics import services
from analytics.models import OccupancyDaily, RecomputeRun, RevenueDaily
from analytics.services import snapshots_nightly, snapshots_recompute
from core import clock
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
def test_a_run_with_a_live_owner_is_left_alone_and_a_silent_one_is_closed(story):
    """A dead host's session may linger: a run whose heartbeat stopped long ago is closed even
    though its session still exists; one that beats is another worker's, in progress."""
    with at("2027-03-11 01:00"):
        silent, alive = (
            RecomputeRun.objects.create(day_from=DAY, day_to=DAY, started_at=clock.now())
            for _ in range(2)
        )
    lingering = connections.create_connection("default")
    try:
        lingering.ensure_connection()
        lingering.set_autocommit(True)
        with lingering.cursor() as cursor:
            cursor.execute(
                """
                UPDATE analytics_recomputerun SET owner_pid = a.pid,
                       owner_started = a.backend_start,
                       heartbeat_at = CASE WHEN analytics_recomputerun.id = %s
                                      THEN now() - interval '1 hour' ELSE now() END
                FROM pg_stat_activity a WHERE a.pid = pg_backend_pid()
                """,
                [silent.pk],
            )
        with at("2027-03-11 01:00"):
            run = snapshots_nightly()
        assert run.status == "done"
        silent.refresh_from_db()
        alive.refresh_from_db()
        assert (silent.status, alive.status) == ("failed", "running")
    finally:
        lingering.close()


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
