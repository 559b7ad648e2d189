"""The usage ledger's monthly partitions (docs/scaling.md §The usage ledger).

`billing_usagerecord` is partitioned by RANGE on `month`: a partition per operator-local month,
`billing_usagerecord_y2026m11`, and a DEFAULT partition that takes a record for any month without
one, so an insert never fails for want of a partition. `usage_partitions_ensure` (beat, daily, and
each billing worker as it starts) creates the current month's partition and the next ones ahead,
and adopts every month found in the default partition: its rows move into a partition of their
own, which is then attached, all in one transaction.
"""

from __future__ import annotations

import datetime as dt
import zlib

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

from core import clock

PARENT = "billing_usagerecord"
DEFAULT = "billing_usagerecord_default"
AHEAD = 3
_LOCK = zlib.crc32(b"billing.usage_partitions_ensure")


def partition_name(month: dt.date) -> str:
    return f"{PARENT}_y{month.year:04d}m{month.month:02d}"


@transaction.atomic
def usage_partitions_ensure(*, ahead: int = AHEAD, today: dt.date | None = None) -> list[str]:
    """Create the partitions of this month and the `ahead` next ones, and adopt the months found
    in the default partition. Idempotent; two at once queue on an advisory lock. Returns the
    partitions it created."""
    first = clock.month_first(today or clock.local_today())
    wanted = {clock.add_months(first, n) for n in range(ahead + 1)}
    created: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        cursor.execute(f"SELECT DISTINCT date_trunc('month', month)::date FROM {DEFAULT}")
        wanted |= {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [PARENT],
        )
        existing = {row[0] for row in cursor.fetchall()}
        for month in sorted(wanted):
            name = partition_name(month)
            if name not in existing:
                _partition_create(cursor, name, month, clock.add_months(month, 1))
                created.append(name)
    return created


def _partition_create(cursor: CursorWrapper, name: str, lo: dt.date, hi: dt.date) -> None:
    """A partition for [lo, hi), with the default partition's rows of that range moved into it
    before it is attached (attaching checks that the default keeps none). The bound's CHECK lets
    ATTACH skip scanning the new table; it goes once attached (the bound says the same)."""
    bound = f"{name}_bound"
    cursor.execute(
        f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS, "
        f"CONSTRAINT {bound} CHECK (month >= %(lo)s AND month < %(hi)s))",
        {"lo": lo, "hi": hi},
    )
    cursor.execute(
        f"WITH moved AS (DELETE FROM {DEFAULT} WHERE month >= %(lo)s AND month < %(hi)s "
        f"RETURNING *) INSERT INTO {name} SELECT * FROM moved",
        {"lo": lo, "hi": hi},
    )
    cursor.execute(
        f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES FROM (%(lo)s) TO (%(hi)s)",
        {"lo": lo, "hi": hi},
    )
    cursor.execute(f"ALTER TABLE {name} DROP CONSTRAINT {bound}")
