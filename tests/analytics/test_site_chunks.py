"""The nightly figures computed a site at a time equal the whole fleet's in one statement, with
leases whose cards span sites, long and short, running and stopped, and busy hours."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from django.db import connection, connections, transaction

from analytics.services import _recompute_chunk
from billing.services.usage import usage_records_ingest
from leasing.services import lease_create, lease_stop
from marketplace.models import Site
from tests.factories import (
    CardModelFactory,
    RackFactory,
    SiteFactory,
    TenantFactory,
    make_server_with_cards,
)
from tests.timing import at


def clock_at(text: str = "2027-03-13 01:00") -> dt.datetime:
    from core import clock

    return dt.datetime.fromisoformat(text).replace(tzinfo=clock.operator_tz())


pytestmark = pytest.mark.django_db

D0, D1 = dt.date(2027, 3, 9), dt.date(2027, 3, 12)
TABLES = {
    "occupancy": """
        SELECT day, rack_id, site_id, card_model_id, cards_installed, cards_in_service,
               card_hours_available, card_hours_leased, card_hours_busy
        FROM analytics_occupancydaily ORDER BY day, rack_id, card_model_id""",
    "revenue": """
        SELECT day, lease_id, tenant_id, site_id, card_model_id, lease_kind, amount
        FROM analytics_revenuedaily ORDER BY day, lease_id""",
    "sites": "SELECT day, site_id, racks_racked, racks_planned FROM analytics_sitedaily "
    "ORDER BY day, site_id",
}


def _rows() -> dict[str, list[tuple[Any, ...]]]:
    with connection.cursor() as cursor:
        out = {}
        for name, sql in TABLES.items():
            cursor.execute(sql)
            out[name] = cursor.fetchall()
        return out


@pytest.fixture
def fleet() -> dict[str, Any]:
    """Three sites of one model: 8, 8 and 4 cards (a planned rack too). A tenant's leases:
    12 cards long (more than a site: two sites), 10 short (two sites, stopped mid-way), one of
    its own site's, and a short lease still running."""
    model = CardModelFactory(hourly_rate=Decimal("7.5000"), monthly_rate=Decimal("3900.0000"))
    sites = [SiteFactory(), SiteFactory(), SiteFactory()]
    for site, cards in zip(sites, (8, 8, 4), strict=True):
        make_server_with_cards(RackFactory(site=site), model, cards=cards)
    make_server_with_cards(RackFactory(site=sites[2], status="planned"), model, cards=4)
    tenant = TenantFactory()

    def lease(kind: str, count: int, **kwargs: Any) -> Any:
        return lease_create(
            actor=None, tenant=tenant, kind=kind, card_model=model, card_count=count, **kwargs
        )

    with at("2027-03-09 10:17:31"):
        long = lease("long", 12, start=D0, term_months=12)
    with at("2027-03-10 08:05:10"):
        spanning = lease("short", 4)
        own = lease("short", 2, site=sites[2])
    with at("2027-03-11 13:44:59"):
        lease_stop(actor=None, lease=spanning)
    with at("2027-03-11 07:00"):
        result = usage_records_ingest(
            records=[
                {
                    "source": "dcgm",
                    "external_id": "b1",
                    "lease": long.pk,
                    "metric": "card_busy_hours",
                    "quantity": Decimal("30"),
                    "start": "2027-03-10T00:00:00+08:00",
                    "end": "2027-03-11T00:00:00+08:00",
                }
            ]
        )
        assert result.accepted == 1, result.errors
    return {"sites": sites, "long": long, "spanning": spanning, "own": own}


def test_a_site_at_a_time_equals_the_whole_fleet_at_once(fleet: dict[str, Any]) -> None:
    long_sites = {a.card.server.rack.site_id for a in fleet["long"].allocations.all()}
    assert len(long_sites) == 2  # the point: a lease whose cards are at two sites
    with at("2027-03-12 20:00"):
        with transaction.atomic():
            _recompute_chunk(D0, D1)
        whole = _rows()
        assert whole["revenue"] and whole["occupancy"] and whole["sites"]
        for table in ("analytics_occupancydaily", "analytics_revenuedaily", "analytics_sitedaily"):
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {table}")
        for site in Site.objects.order_by("-id"):  # any order
            with transaction.atomic():
                _recompute_chunk(D0, D1, site.pk)
        assert _rows() == whole
        # a site again, over what is there: it replaces its own rows only
        with transaction.atomic():
            _recompute_chunk(D0, D1, fleet["sites"][1].pk)
        assert _rows() == whole


def _fleet_wide_rows() -> dict[str, list[tuple[Any, ...]]]:
    """What the one fleet-wide statement writes for the days, the tables left as they were."""
    with transaction.atomic():
        _recompute_chunk(D0, D1)
        rows = _rows()
        transaction.set_rollback(True)
    return rows


def test_a_day_at_a_time_equals_the_days_in_one_chunk(fleet: dict[str, Any]) -> None:
    """A single day's statement counts an allocation's hours as its overlap with the day, a
    chunk's as partial first and last days and whole days between: the same figures, for the
    fleet and for each site."""
    with at("2027-03-12 20:00"):
        chunk = _fleet_wide_rows()
        days = [D0 + dt.timedelta(days=n) for n in range((D1 - D0).days + 1)]
        for day in days:
            with transaction.atomic():
                _recompute_chunk(day, day)
        assert _rows() == chunk
        for table in ("analytics_occupancydaily", "analytics_revenuedaily", "analytics_sitedaily"):
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {table}")
        for day in days:
            for site in Site.objects.order_by("id"):
                with transaction.atomic():
                    _recompute_chunk(day, day, site.pk)
        assert _rows() == chunk


@pytest.mark.django_db(transaction=True)
def test_a_chunk_outside_a_transaction_is_refused_and_writes_nothing() -> None:
    """A chunk's site locks and settings are transaction-scoped: in autocommit they would end
    with their own statement and the chunk would run unlocked."""
    from analytics.models import OccupancyDaily

    with pytest.raises(RuntimeError, match="inside the transaction"):
        _recompute_chunk(D0, D1)
    assert not OccupancyDaily.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_nightly_hands_out_a_chunk_per_site_and_ends_equal_to_one_statement(
    fleet: dict[str, Any],
) -> None:
    from analytics.models import RecomputeChunk, RecomputeRun
    from analytics.services import snapshots_nightly
    from tests.outages import take_queued

    take_queued("analytics.recompute_chunks")
    with at("2027-03-09 01:00"):
        RecomputeRun.objects.create(
            day_from=D0 - dt.timedelta(days=1), day_to=D0 - dt.timedelta(days=1), status="done",
            started_at=clock_at("2027-03-09 01:00"),
        )  # fmt: skip
    with at("2027-03-13 01:00"):
        run = snapshots_nightly()  # the 9th to the 12th
        expected = _fleet_wide_rows()
    assert (run.day_from, run.day_to, run.status) == (D0, D1, "done")
    chunks = RecomputeChunk.objects.filter(run=run)
    assert sorted(chunks.values_list("site_id", flat=True)) == [s.pk for s in fleet["sites"]]
    assert set(chunks.values_list("status", flat=True)) == {"done"}
    assert len(take_queued("analytics.recompute_chunks")) == 2  # for other workers: all but one
    assert _rows() == expected


@pytest.mark.django_db(transaction=True)
def test_a_chunk_whose_taker_died_is_taken_over_and_helpers_leave_held_ones(
    fleet: dict[str, Any],
) -> None:
    from analytics.models import RecomputeChunk, RecomputeRun
    from analytics.services import recompute_chunks_help, snapshots_recompute

    with at("2027-03-13 01:00"):
        expected = _fleet_wide_rows()
        run = RecomputeRun.objects.create(day_from=D0, day_to=D1, started_at=clock_at())
    first, second, third = (
        RecomputeChunk.objects.create(run=run, site=site) for site in fleet["sites"]
    )
    # a taker that died: its session is gone (no such backend)
    RecomputeChunk.objects.filter(pk=first.pk).update(owner_pid=2**31 - 7, owner_started=None)
    # a taker alive: another session of ours
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid(), backend_start FROM pg_stat_activity "
                           "WHERE pid = pg_backend_pid()")  # fmt: skip
            pid, started = cursor.fetchone()
        RecomputeChunk.objects.filter(pk=second.pk).update(owner_pid=pid, owner_started=started)
        with at("2027-03-13 01:00"):
            assert recompute_chunks_help(run.pk) == 1  # the third: nobody's
        statuses = dict(RecomputeChunk.objects.values_list("pk", "status"))
        assert statuses == {first.pk: "open", second.pk: "open", third.pk: "done"}
        # the live taker finishes its chunk (as another worker would)
        RecomputeChunk.objects.filter(pk=second.pk).update(owner_pid=None)
        with at("2027-03-13 01:00"):
            snapshots_recompute(day_from=D0, day_to=D1, run=run)  # the run's own worker
    finally:
        other.close()
    run.refresh_from_db()
    assert run.status == "done"
    assert set(RecomputeChunk.objects.values_list("status", flat=True)) == {"done"}
    assert _rows() == expected


def _while_another_session_holds(change: str, params: list[Any], run: Any) -> None:
    """`run()` while another session has made `change` (SQL) and not committed it; it commits
    once our session waits on it (which the test means to show)."""
    import threading
    import time

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (ours,) = cursor.fetchone()
    other = psycopg.connect(**connection.get_connection_params())
    waited: list[bool] = []

    def commit_once_we_wait() -> None:
        deadline = time.monotonic() + 30
        with psycopg.connect(**connection.get_connection_params(), autocommit=True) as watcher:
            while time.monotonic() < deadline and not waited:
                row = watcher.execute(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [ours]
                ).fetchone()
                if row == ("Lock",):
                    waited.append(True)
                time.sleep(0.02)
        other.commit()

    try:
        other.execute(change, params)
        committer = threading.Thread(target=commit_once_we_wait)
        committer.start()
        run()
        committer.join()
    finally:
        other.close()
    assert waited, "our session never waited on the other's change"


def _revenue_row(rows: dict[str, list[tuple[Any, ...]]], day: Any, lease_id: int) -> Any:
    return next((row for row in rows["revenue"] if row[:2] == (day, lease_id)), None)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("other_session", ["inserts it", "deletes it"])
def test_a_revenue_row_another_sites_chunk_writes_meanwhile_ends_as_computed(
    fleet: dict[str, Any], other_session: str
) -> None:
    """Two sites' chunks run side by side and may both write one lease's revenue row when their
    snapshots disagree on where the lease's cards are: one inserting it while ours runs, or
    deleting it as stale while ours rewrites it. Ours waits for the other and ends with the row
    it computed (ON CONFLICT's speculative insertion: a plain insert would fail on the first,
    and an update of a row deleted meanwhile would silently lose it)."""
    site = fleet["sites"][0]
    with at("2027-03-13 01:00"):
        expected = _fleet_wide_rows()
    day, lease_id, tenant_id, _, model_id, kind, _ = next(
        row for row in expected["revenue"] if row[3] == site.pk
    )
    if other_session == "inserts it":
        change = (
            "INSERT INTO analytics_revenuedaily (day, lease_id, tenant_id, site_id, "
            "card_model_id, lease_kind, amount) VALUES (%s, %s, %s, %s, %s, %s, 0)"
        )
        params = [day, lease_id, tenant_id, fleet["sites"][1].pk, model_id, kind]
    else:
        with at("2027-03-13 01:00"), transaction.atomic():
            _recompute_chunk(D0, D1)  # the row is there, as ours computes it
        change = "DELETE FROM analytics_revenuedaily WHERE day = %s AND lease_id = %s"
        params = [day, lease_id]

    def ours() -> None:
        with at("2027-03-13 01:00"), transaction.atomic():
            _recompute_chunk(D0, D1, site.pk)

    _while_another_session_holds(change, params, ours)
    assert _revenue_row(_rows(), day, lease_id) == _revenue_row(expected, day, lease_id)
