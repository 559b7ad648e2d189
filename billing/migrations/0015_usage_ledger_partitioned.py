"""The usage ledger partitioned by month (PostgreSQL declarative partitioning, RANGE on `month`).

On a partitioned table every unique index must include the partition key, and (before
PostgreSQL 17) no column may be an identity. So, in the database:
- the key is (id, month); `id` takes its values from a sequence owned by the column (the model
  keeps `id` its primary key: one sequence makes it unique on its own);
- uniqueness per (tenant, poster, source, external_id) across all months moves to the unpartitioned
  `billing_usagekey`, filled here from the existing rows;
- `corrects` is no database FK any more (it would need a unique `id`).
The existing rows are copied into a partition per month they fall in; the current month and the
next three get theirs ahead, and a DEFAULT partition takes any month without one (adopted later by
billing.services.partitions.usage_partitions_ensure). Reversible: backwards the rows go into a
plain table with the old key, identity, unique constraint and self-FK.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

AHEAD = 3

COLUMNS = (
    "id, quantity, start, \"end\", month, source, external_id, created_at, card_id, corrects_id, "
    "invoice_id, lease_id, metric_id, tenant_id, poster"
)
COLUMN_DEFS = """
    id bigint NOT NULL,
    quantity numeric(20, 6) NOT NULL,
    start timestamp with time zone NOT NULL,
    "end" timestamp with time zone NOT NULL,
    month date NOT NULL,
    source varchar(64) NOT NULL,
    external_id varchar(128) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    card_id bigint NULL,
    corrects_id bigint NULL,
    invoice_id bigint NULL,
    lease_id bigint NOT NULL,
    metric_id bigint NOT NULL,
    tenant_id bigint NOT NULL,
    poster varchar(8) NOT NULL,
    CONSTRAINT billing_usagerecord_negative_is_correction
        CHECK (quantity >= 0 OR corrects_id IS NOT NULL),
    CONSTRAINT billing_usagerecord_platform_source_reserved
        CHECK ((poster = 'platform' AND source = 'platform')
               OR (NOT source = 'platform' AND NOT poster = 'platform')),
    CONSTRAINT billing_usagerecord_window_not_empty CHECK ("end" > start)
"""
# The model's Meta.indexes and the indexes Django gives FK columns, under the names they had.
INDEXES = """
CREATE INDEX billing_usage_month_tenant ON billing_usagerecord (month, tenant_id);
CREATE INDEX billing_usage_metric_end ON billing_usagerecord (metric_id, "end");
CREATE INDEX billing_usage_uninvoiced ON billing_usagerecord (month) WHERE invoice_id IS NULL;
CREATE INDEX billing_usagerecord_card_id_61732e1c ON billing_usagerecord (card_id);
CREATE INDEX billing_usagerecord_corrects_id_e06f1b86 ON billing_usagerecord (corrects_id);
CREATE INDEX billing_usagerecord_invoice_id_c4188542 ON billing_usagerecord (invoice_id);
CREATE INDEX billing_usagerecord_lease_id_c01b2710 ON billing_usagerecord (lease_id);
CREATE INDEX billing_usagerecord_metric_id_c3b315b9 ON billing_usagerecord (metric_id);
CREATE INDEX billing_usagerecord_tenant_id_2f1db001 ON billing_usagerecord (tenant_id);
"""
FOREIGN_KEYS = """
ALTER TABLE billing_usagerecord
    ADD CONSTRAINT billing_usagerecord_card_id_61732e1c_fk_marketplace_card_id
        FOREIGN KEY (card_id) REFERENCES marketplace_card (id) DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT billing_usagerecord_invoice_id_c4188542_fk_billing_invoice_id
        FOREIGN KEY (invoice_id) REFERENCES billing_invoice (id) DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT billing_usagerecord_lease_id_c01b2710_fk_leasing_lease_id
        FOREIGN KEY (lease_id) REFERENCES leasing_lease (id) DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT billing_usagerecord_metric_id_c3b315b9_fk_billing_metric_id
        FOREIGN KEY (metric_id) REFERENCES billing_metric (id) DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT billing_usagerecord_tenant_id_2f1db001_fk_accounts_tenant_id
        FOREIGN KEY (tenant_id) REFERENCES accounts_tenant (id) DEFERRABLE INITIALLY DEFERRED;
"""


def _month_add(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def _partition_sql(month: dt.date) -> str:
    return (
        f"CREATE TABLE billing_usagerecord_y{month.year:04d}m{month.month:02d} "
        f"PARTITION OF billing_usagerecord FOR VALUES FROM ('{month}') "
        f"TO ('{_month_add(month, 1)}');"
    )


def _scalar(schema_editor, sql: str):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def partition(apps, schema_editor):
    run = schema_editor.execute
    run("LOCK TABLE billing_usagerecord IN ACCESS EXCLUSIVE MODE")
    old_sequence = _scalar(schema_editor, "SELECT pg_get_serial_sequence('billing_usagerecord', 'id')")
    last_id = _scalar(schema_editor, f"SELECT last_value FROM {old_sequence}")
    run("ALTER TABLE billing_usagerecord RENAME TO billing_usagerecord_unpartitioned")
    run("ALTER TABLE billing_usagerecord_unpartitioned ALTER COLUMN id DROP IDENTITY")
    run(f"CREATE TABLE billing_usagerecord ({COLUMN_DEFS}) PARTITION BY RANGE (month)")
    run("CREATE SEQUENCE billing_usagerecord_id_seq OWNED BY billing_usagerecord.id")
    run(
        "ALTER TABLE billing_usagerecord "
        "ALTER COLUMN id SET DEFAULT nextval('billing_usagerecord_id_seq')"
    )
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT date_trunc('month', month)::date FROM billing_usagerecord_unpartitioned"
        )
        months = {row[0] for row in cursor.fetchall()}
    today = dt.datetime.now(ZoneInfo(settings.OPERATOR_TIME_ZONE)).date().replace(day=1)
    months |= {_month_add(today, n) for n in range(AHEAD + 1)}
    for month in sorted(months):
        run(_partition_sql(month))
    run("CREATE TABLE billing_usagerecord_default PARTITION OF billing_usagerecord DEFAULT")
    run(
        f"INSERT INTO billing_usagerecord ({COLUMNS}) "
        f"SELECT {COLUMNS} FROM billing_usagerecord_unpartitioned"
    )
    run(
        "INSERT INTO billing_usagekey (tenant_id, poster, source, external_id, record_id, month) "
        "SELECT tenant_id, poster, source, external_id, id, month "
        "FROM billing_usagerecord_unpartitioned"
    )
    run(
        "SELECT setval('billing_usagerecord_id_seq', GREATEST(%s, "
        "(SELECT max(id) FROM billing_usagerecord_unpartitioned), 1))",
        [last_id],
    )
    run("DROP TABLE billing_usagerecord_unpartitioned")
    run("ALTER TABLE billing_usagerecord ADD CONSTRAINT billing_usagerecord_pkey PRIMARY KEY (id, month)")
    run(INDEXES)
    run(FOREIGN_KEYS)


def unpartition(apps, schema_editor):
    run = schema_editor.execute
    run("LOCK TABLE billing_usagerecord IN ACCESS EXCLUSIVE MODE")
    last_id = _scalar(schema_editor, "SELECT last_value FROM billing_usagerecord_id_seq")
    run(f"CREATE TABLE billing_usagerecord_unpartitioned ({COLUMN_DEFS})")
    run(
        f"INSERT INTO billing_usagerecord_unpartitioned ({COLUMNS}) "
        f"SELECT {COLUMNS} FROM billing_usagerecord"
    )
    run("DROP TABLE billing_usagerecord CASCADE")  # its partitions and sequence with it
    run("ALTER TABLE billing_usagerecord_unpartitioned RENAME TO billing_usagerecord")
    run("ALTER TABLE billing_usagerecord ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
    run(
        "SELECT setval(pg_get_serial_sequence('billing_usagerecord', 'id'), "
        "GREATEST(%s, (SELECT max(id) FROM billing_usagerecord), 1))",
        [last_id],
    )
    run("ALTER TABLE billing_usagerecord ADD CONSTRAINT billing_usagerecord_pkey PRIMARY KEY (id)")
    run(
        "ALTER TABLE billing_usagerecord ADD CONSTRAINT billing_usagerecord_unique_external_id "
        "UNIQUE (tenant_id, poster, source, external_id)"
    )
    run(INDEXES)
    run(FOREIGN_KEYS)
    run(
        "ALTER TABLE billing_usagerecord "
        "ADD CONSTRAINT billing_usagerecord_corrects_id_e06f1b86_fk_billing_u "
        "FOREIGN KEY (corrects_id) REFERENCES billing_usagerecord (id) "
        "DEFERRABLE INITIALLY DEFERRED"
    )


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_api_tokens_hashed'),
        ('billing', '0014_budget_notice_per_limit'),
    ]

    operations = [
        migrations.CreateModel(
            name='UsageKey',
            fields=[
                ('pk', models.CompositePrimaryKey('tenant', 'poster', 'source', 'external_id', blank=True, editable=False, primary_key=True, serialize=False)),
                ('poster', models.CharField(choices=[('platform', 'Platform meter'), ('operator', 'Operator'), ('tenant', 'Tenant')], max_length=8)),
                ('source', models.CharField(max_length=64)),
                ('external_id', models.CharField(max_length=128)),
                ('month', models.DateField()),
                ('record', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='billing.usagerecord')),
                ('tenant', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.tenant')),
            ],
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(
                    model_name='usagerecord',
                    name='billing_usagerecord_unique_external_id',
                ),
                migrations.AlterField(
                    model_name='usagerecord',
                    name='corrects',
                    field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='corrections', to='billing.usagerecord'),
                ),
            ],
            database_operations=[migrations.RunPython(partition, unpartition, elidable=False)],
        ),
    ]
