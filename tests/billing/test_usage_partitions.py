"""The usage ledger is partitioned by month: records land in their month's partition, ids stay
unique across all months (UsageKey), partitions are made ahead and adopt what the default
partition took, and the platform meter stays idempotent.

Records here are of 2031 (no partition the migration made, whatever day the suite runs)."""

import datetime as dt

import pytest
from django.db import connection

from billing.models import UsageKey, UsageRecord
from billing.services.metering import short_leases_meter
from billing.services.partitions import DEFAULT, partition_name, usage_partitions_ensure
from billing.services.usage import usage_records_ingest
from leasing.services import lease_create, lease_stop
from tests.concurrency import run_concurrently
from tests.factories import TenantFactory
from tests.timing import at

pytestmark = pytest.mark.django_db

MARCH, APRIL, MAY = dt.date(2031, 3, 1), dt.date(2031, 4, 1), dt.date(2031, 5, 1)


def partitions() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'billing_usagerecord'::regclass"
        )
        return {row[0] for row in cursor.fetchall()}


def placed() -> dict[str, str]:
    """Each record's external id → the partition that holds it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT external_id, tableoid::regclass::text FROM billing_usagerecord")
        return dict(cursor.fetchall())


def long_lease(domestic, tenant=None):
    with at("2031-03-01 00:00"):
        return lease_create(
            actor=None, tenant=tenant or TenantFactory(), kind="long", card_model=domestic,
            card_count=1, start=MARCH, term_months=12,
        )  # fmt: skip


def storage(lease, external_id: str, start: str) -> dict:
    begin = dt.datetime.fromisoformat(start)
    return {
        "source": "ceph", "external_id": external_id, "lease": lease.pk,
        "metric": "storage_tb_hours", "quantity": "2", "start": begin.isoformat(),
        "end": (begin + dt.timedelta(hours=1)).isoformat(),
    }  # fmt: skip


def march_and_april(lease, prefix: str = "r") -> list[dict]:
    return [
        storage(lease, f"{prefix}-m{n}", f"2031-03-{10 + n:02d}T00:00:00+08:00") for n in range(3)
    ] + [storage(lease, f"{prefix}-a{n}", f"2031-04-{10 + n:02d}T00:00:00+08:00") for n in range(3)]


def ingest(records: list[dict]):
    with at("2031-06-01 00:00"):
        return usage_records_ingest(records=records)


def test_the_ledger_is_partitioned_by_range_on_month_with_a_default():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.partstrat, a.attname FROM pg_partitioned_table p "
            "JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0] "
            "WHERE p.partrelid = 'billing_usagerecord'::regclass"
        )
        assert cursor.fetchall() == [("r", "month")]
        cursor.execute(
            "SELECT partdefid::regclass::text FROM pg_partitioned_table "
            "WHERE partrelid = 'billing_usagerecord'::regclass"
        )
        assert cursor.fetchone() == (DEFAULT,)
    assert usage_partitions_ensure() == []  # the migration made this month's and those ahead


def test_records_land_in_their_months_partition_and_others_in_the_default(domestic):
    assert usage_partitions_ensure(today=MARCH, ahead=1) == [
        partition_name(MARCH), partition_name(APRIL)
    ]  # fmt: skip
    lease = long_lease(domestic)
    batch = [*march_and_april(lease), storage(lease, "later", "2031-05-10T00:00:00+08:00")]
    assert ingest(batch).accepted == 7
    where = placed()
    assert {where[f"r-m{n}"] for n in range(3)} == {"billing_usagerecord_y2031m03"}
    assert {where[f"r-a{n}"] for n in range(3)} == {"billing_usagerecord_y2031m04"}
    assert where["later"] == DEFAULT
    # the key table names each record by (id, month)
    assert set(UsageKey.objects.values_list("record_id", "month")) == set(
        UsageRecord.objects.values_list("id", "month")
    )


def test_a_retried_batch_adds_nothing_even_across_months(domestic):
    usage_partitions_ensure(today=MARCH, ahead=1)
    lease = long_lease(domestic)
    batch = march_and_april(lease)
    assert ingest(batch).accepted == 6
    again = ingest(batch)
    assert (again.accepted, again.duplicates) == (0, 6)
    # an id used in March is a duplicate in April too (and in a month without a partition)
    moved = [
        storage(lease, "r-m0", "2031-04-20T00:00:00+08:00"),
        storage(lease, "r-a0", "2031-05-20T00:00:00+08:00"),
    ]
    again = ingest(moved)
    assert (again.accepted, again.duplicates) == (0, 2)
    # another tenant's, or another poster's, same ids are their own
    other = long_lease(domestic)
    with at("2031-06-01 00:00"):
        theirs = usage_records_ingest(records=march_and_april(other), tenant_id=other.tenant_id)
    assert theirs.accepted == 6
    assert UsageRecord.objects.count() == UsageKey.objects.count() == 12


def test_ensure_makes_months_ahead_and_adopts_the_defaults_rows_idempotently(domestic):
    lease = long_lease(domestic)
    ingest(march_and_april(lease))
    before = {r.pk: (r.month, r.quantity, r.external_id) for r in UsageRecord.objects.all()}
    assert set(placed().values()) == {DEFAULT}  # no partition for 2031 yet

    created = usage_partitions_ensure(today=MAY, ahead=1)
    # May and June ahead; March and April adopted from the default partition
    assert created == [partition_name(m) for m in (MARCH, APRIL, MAY, dt.date(2031, 6, 1))]
    where = placed()
    assert {where[f"r-m{n}"] for n in range(3)} == {partition_name(MARCH)}
    assert {where[f"r-a{n}"] for n in range(3)} == {partition_name(APRIL)}
    after = {r.pk: (r.month, r.quantity, r.external_id) for r in UsageRecord.objects.all()}
    assert after == before
    with connection.cursor() as cursor:  # attached: the parent's indexes and constraints too
        cursor.execute(
            "SELECT count(*) FROM pg_indexes WHERE tablename = %s", [partition_name(MARCH)]
        )
        (indexes,) = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'c'",
            [partition_name(MARCH)],
        )
        (checks,) = cursor.fetchone()
    assert indexes == 8 and checks == 3  # the key, 5 of the model's, 2 of its FKs; its checks

    assert usage_partitions_ensure(today=MAY, ahead=1) == []
    assert placed() == where
    # a retry after the move is still a duplicate, and new records find their partition
    assert ingest(march_and_april(lease)).duplicates == 6
    assert ingest([storage(lease, "new", "2031-03-20T00:00:00+08:00")]).accepted == 1
    assert placed()["new"] == partition_name(MARCH)


def test_the_platform_meter_stays_idempotent_across_a_month_end(domestic):
    usage_partitions_ensure(today=MARCH, ahead=1)
    tenant = TenantFactory()
    with at("2031-03-31 22:00"):
        lease = lease_create(
            actor=None, tenant=tenant, kind="short", card_model=domestic, card_count=1
        )
    with at("2031-04-01 02:00"):
        lease_stop(actor=None, lease=lease)  # metered at stop (on commit: not in this test)
        first = short_leases_meter(since=dt.datetime(2031, 3, 1, tzinfo=dt.UTC))
        again = short_leases_meter(since=dt.datetime(2031, 3, 1, tzinfo=dt.UTC))
    assert (first, again) == (2, 0)
    minutes = dict(UsageRecord.objects.values_list("month", "quantity"))
    assert minutes == {MARCH: 120, APRIL: 120}
    assert sorted(placed().values()) == [partition_name(MARCH), partition_name(APRIL)]
    assert UsageKey.objects.filter(poster="platform").count() == 2


def test_the_partition_task_is_on_beat_daily_and_on_the_billing_queue():
    from celery.schedules import crontab

    from config.celery import START_TASKS, app

    entry = app.conf.beat_schedule["ensure-usage-partitions"]
    assert entry["task"] == "billing.ensure_usage_partitions"
    assert isinstance(entry["schedule"], crontab) and entry["schedule"].hour == {4}
    assert app.amqp.router.route({}, entry["task"])["queue"].name == "billing"
    assert entry["task"] in START_TASKS  # and as each worker starts
    from billing.tasks import ensure_usage_partitions

    assert ensure_usage_partitions.name == entry["task"]


@pytest.mark.django_db(transaction=True)
def test_two_identical_batches_at_once_add_each_record_once(domestic):
    lease = long_lease(domestic)
    batch = march_and_april(lease)  # two months, without partitions: the default's

    with at("2031-06-01 00:00"):
        results = run_concurrently(2, lambda _: usage_records_ingest(records=batch))
    assert sorted((r.accepted, r.duplicates) for r in results) == [(0, 6), (6, 0)], results
    assert UsageRecord.objects.count() == UsageKey.objects.count() == 6


@pytest.mark.django_db(transaction=True)
def test_ensure_twice_at_once_makes_each_partition_once():
    months = [dt.date(2032, m, 1) for m in (1, 2, 3)]
    try:
        results = run_concurrently(2, lambda _: usage_partitions_ensure(today=months[0], ahead=2))
        assert sorted(results, key=len) == [[], [partition_name(m) for m in months]], results
    finally:
        with connection.cursor() as cursor:
            for month in months:
                cursor.execute(f"DROP TABLE IF EXISTS {partition_name(month)}")


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_existing_rows_into_their_months(domestic):
    """Back to the unpartitioned ledger, rows of three months (a correction among them), and
    forward again: the same rows, each in its month's partition, with its key; new ids follow."""
    from django.db.migrations.executor import MigrationExecutor

    from billing.pricebook import builtin_metric_id

    before = ("billing", "0014_budget_notice_per_limit")
    # forward again to the latest state of every app, as the other tests expect it
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    lease = long_lease(domestic)
    metric = builtin_metric_id("storage_tb_hours")
    MigrationExecutor(connection).migrate([before])
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO billing_usagerecord (quantity, start, "end", month, source,
                    external_id, created_at, lease_id, metric_id, tenant_id, poster)
                SELECT 2, d, d + interval '1 hour', date_trunc('month', d)::date, 'ceph',
                       'r-' || n, now(), %(lease)s, %(metric)s, %(tenant)s, 'operator'
                FROM generate_series(timestamptz '2031-03-20 00:00+08',
                                     timestamptz '2031-06-09 00:00+08', interval '10 days')
                     WITH ORDINALITY AS g(d, n)
                RETURNING id
                """,
                {"lease": lease.pk, "metric": metric, "tenant": lease.tenant_id},
            )
            first = cursor.fetchone()[0]
            cursor.execute(
                """
                INSERT INTO billing_usagerecord (quantity, start, "end", month, source,
                    external_id, created_at, lease_id, metric_id, tenant_id, poster, corrects_id)
                SELECT -1, start, "end", month, source, 'fix', now(), lease_id, metric_id,
                       tenant_id, poster, id
                FROM billing_usagerecord WHERE id = %s
                """,
                [first],
            )
            cursor.execute("SELECT * FROM billing_usagerecord ORDER BY id")
            rows = cursor.fetchall()
    finally:
        MigrationExecutor(connection).migrate(latest)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM billing_usagerecord ORDER BY id")
        assert cursor.fetchall() == rows
    assert len(rows) == 10
    where = placed()
    assert {where[f"r-{n}"] for n in range(1, 10)} == {
        partition_name(dt.date(2031, m, 1)) for m in (3, 4, 5, 6)
    }
    assert set(UsageKey.objects.values_list("record_id", "month", "external_id")) == set(
        UsageRecord.objects.values_list("id", "month", "external_id")
    )
    assert UsageRecord.objects.get(external_id="fix").corrects.external_id == "r-1"
    # new records take ids after the copied ones, and the copied ids are duplicates
    with at("2031-06-01 00:00"):
        result = usage_records_ingest(
            records=[storage(lease, "r-1", "2031-05-02T00:00:00+08:00"),
                     storage(lease, "next", "2031-05-02T00:00:00+08:00")]
        )  # fmt: skip
    assert (result.accepted, result.duplicates) == (1, 1)
    assert UsageRecord.objects.get(external_id="next").pk > max(row[0] for row in rows)
    with connection.cursor() as cursor:  # the other tests find 2031 without partitions
        for month in (3, 4, 5, 6):
            cursor.execute(f"DROP TABLE {partition_name(dt.date(2031, month, 1))}")


def test_a_record_whose_tenant_is_not_its_leases_is_refused_by_the_database(domestic):
    """One foreign key (lease, tenant) → the lease's (id, tenant): checked at commit, like
    Django's own, so `SET CONSTRAINTS ALL IMMEDIATE` brings the check into the statement."""
    from django.db import IntegrityError, transaction

    from billing.pricebook import builtin_metric_id

    lease, other = long_lease(domestic), TenantFactory()
    start = dt.datetime(2031, 3, 10, tzinfo=dt.UTC)
    metric = builtin_metric_id("storage_tb_hours")

    def insert(tenant_id: int, external_id: str) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "INSERT INTO billing_usagerecord (tenant_id, lease_id, metric_id, quantity,"
                ' start, "end", month, source, external_id, poster, created_at) VALUES'
                " (%s, %s, %s, 1, %s, %s, %s, 'ceph', %s, 'operator', now())",
                [tenant_id, lease.pk, metric, start, start + dt.timedelta(hours=1), MARCH,
                 external_id],
            )  # fmt: skip

    with pytest.raises(IntegrityError, match="billing_usagerecord_lease_tenant_fk"):
        insert(other.pk, "x-1")
    insert(lease.tenant_id, "x-2")  # its own tenant: accepted
    assert list(UsageRecord.objects.values_list("external_id", flat=True)) == ["x-2"]
