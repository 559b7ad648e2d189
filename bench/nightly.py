"""Nightly recompute: one day for the whole fleet within 1.5× of one hand-written SQL
statement over the same rows, measured in the same process; and a 365-day backfill under 5 s.

The hand-written reference is the per-rack occupancy of one day as one `DELETE` + one
`INSERT … SELECT` in a transaction, into a scratch table: per rack, cards installed and in
service, card-hours available and leased (the allocations intersected with the day) — the reference
"one day's per-rack occupancy". Ours also writes busy hours, the per-card-model split, site
racking and per-lease revenue. Both run inside `manage.py shell` against the bench
database, alternating, and the medians are compared. The day is also recomputed a site at a
time (the nightly's chunks, one after the other: what workers share out), for its cost.
"""

from __future__ import annotations

import json
from typing import Any

from bench.harness import BenchError, Context

NEEDS_SERVER = False
ROUNDS = 7
TARGET_RATIO = 1.5
TARGET_BACKFILL_S = 5.0

_CODE = r'''
import datetime as dt, json, statistics, time
from django.db import connection, transaction
from analytics import services
from core import clock

day = clock.local_today() - dt.timedelta(days=1)
ds, de = clock.day_bounds(day)
REFERENCE = """
INSERT INTO bench_reference (day, rack_id, installed, in_service, available, leased)
SELECT %(day)s, inv.rack_id, inv.installed, inv.in_service, inv.in_service * 24,
       coalesce(l.hours, 0)
FROM (
    SELECT s.rack_id, count(*) FILTER (WHERE c.status <> 'retired') AS installed,
           count(*) FILTER (WHERE c.status = 'available') AS in_service
    FROM marketplace_card c
    JOIN marketplace_server s ON s.id = c.server_id
    JOIN marketplace_rack r ON r.id = s.rack_id AND r.status = 'racked'
    GROUP BY s.rack_id
) inv
LEFT JOIN (
    SELECT s.rack_id,
           sum(extract(epoch FROM upper(a.period * tstzrange(%(ds)s, %(de)s))
                                 - lower(a.period * tstzrange(%(ds)s, %(de)s))) / 3600) AS hours
    FROM leasing_allocation a
    JOIN marketplace_card c ON c.id = a.card_id
    JOIN marketplace_server s ON s.id = c.server_id
    WHERE a.period && tstzrange(%(ds)s, %(de)s)
    GROUP BY s.rack_id
) l ON l.rack_id = inv.rack_id
"""
with connection.cursor() as cursor:
    # Steady state, as autovacuum keeps it: earlier runs' deleted snapshot rows would otherwise
    # sit in the unique indexes that every insert checks (this machine runs with autovacuum off).
    cursor.execute(
        "VACUUM (ANALYZE) analytics_occupancydaily, analytics_revenuedaily, analytics_sitedaily"
    )
    cursor.execute("DROP TABLE IF EXISTS bench_reference")
    cursor.execute(
        "CREATE TABLE bench_reference (day date, rack_id bigint, installed int,"
        " in_service int, available numeric, leased numeric)"
    )

def reference():
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM bench_reference WHERE day = %s", [day])
        cursor.execute(REFERENCE, {"day": day, "ds": ds, "de": de})

def ours():
    with transaction.atomic():
        services._recompute_chunk(day, day)

from marketplace.models import Site
sites = list(Site.objects.order_by("pk").values_list("pk", flat=True))

def by_site():  # the nightly's chunks, one after the other (workers share them out)
    for site in sites:
        with transaction.atomic():
            services._recompute_chunk(day, day, site)

ref_times, our_times, site_times = [], [], []
reference(); ours(); by_site()  # warm caches and plans
for _ in range(ROUNDS):
    t = time.perf_counter(); reference(); ref_times.append(time.perf_counter() - t)
    t = time.perf_counter(); ours(); our_times.append(time.perf_counter() - t)
    t = time.perf_counter(); by_site(); site_times.append(time.perf_counter() - t)
t = time.perf_counter()
services.snapshots_recompute(day_from=day - dt.timedelta(days=364), day_to=day, trigger="bench")
backfill = time.perf_counter() - t
with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM analytics_occupancydaily WHERE day BETWEEN %s AND %s",
                   [day - dt.timedelta(days=364), day])
    occupancy_rows = cursor.fetchone()[0]
    cursor.execute("SELECT count(*) FROM analytics_revenuedaily WHERE day BETWEEN %s AND %s",
                   [day - dt.timedelta(days=364), day])
    revenue_rows = cursor.fetchone()[0]
    cursor.execute("SELECT count(*) FROM leasing_allocation")
    allocations = cursor.fetchone()[0]
    cursor.execute("DROP TABLE bench_reference")
print("BENCH-JSON", json.dumps({
    "day": day.isoformat(), "reference_ms": statistics.median(ref_times) * 1000,
    "recompute_ms": statistics.median(our_times) * 1000, "backfill_s": backfill,
    "by_site_ms": statistics.median(site_times) * 1000, "sites": len(sites),
    "occupancy_rows": occupancy_rows, "revenue_rows": revenue_rows, "allocations": allocations,
}))
'''


def run(ctx: Context) -> dict[str, Any]:
    output = ctx.manage("shell", "-v", "0", "-c", f"ROUNDS = {ROUNDS}\n{_CODE}")
    lines = [line for line in output.splitlines() if line.startswith("BENCH-JSON ")]
    if not lines:
        raise BenchError(f"no result from the shell: {output[-500:]}")
    result = json.loads(lines[-1].removeprefix("BENCH-JSON "))
    ratio = result["recompute_ms"] / result["reference_ms"]
    return {
        "target": (
            f"one day ≤ {TARGET_RATIO:g}× the hand-written statement; "
            f"365-day backfill < {TARGET_BACKFILL_S:g} s"
        ),
        "meets_target": ratio <= TARGET_RATIO and result["backfill_s"] < TARGET_BACKFILL_S,
        "rows": [
            {
                "day": result["day"],
                "allocations": result["allocations"],
                "reference_ms": round(result["reference_ms"], 1),
                "recompute_ms": round(result["recompute_ms"], 1),
                "ratio": round(ratio, 2),
                "by_site_ms": round(result["by_site_ms"], 1),
                "sites": result["sites"],
                "backfill_365_s": round(result["backfill_s"], 2),
                "occupancy_rows": result["occupancy_rows"],
                "revenue_rows": result["revenue_rows"],
            }
        ],
    }


def growth(result: dict[str, Any]) -> dict[str, tuple[float, str]]:
    """What `make bench BENCH_ARGS="--sizes …"` compares across fleet sizes."""
    row = result["rows"][0]
    return {
        "nightly day (ms)": (row["recompute_ms"], "time"),
        "nightly day, site by site (ms)": (row["by_site_ms"], "time"),
        "backfill 365 days (s)": (row["backfill_365_s"], "time"),
    }
