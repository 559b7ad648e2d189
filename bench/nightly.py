"""Nightly recompute: one day for the whole fleet within 1.5× of one hand-written SQL
statement over the same rows, measured in the same process; and a 365-day backfill under 5 s and
within 1.5× of one set-based statement of the year's per-rack occupancy.

The snapshot tables start empty (truncated: the bench database's own rows). One day is measured
twice over: computed for the first time (7 different days, nothing there yet: what the nightly
does) and recomputed (the same day again: a rerun, which finds its rows and writes only what
changed). The target holds for both.

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
from django.conf import settings
from django.db import connection, transaction
from analytics import services
from core import clock

day = clock.local_today() - dt.timedelta(days=1)
ds, de = clock.day_bounds(day)
# per rack: cards installed and in service (both references)
INVENTORY = """
    SELECT s.rack_id, count(*) FILTER (WHERE c.status <> 'retired') AS installed,
           count(*) FILTER (WHERE c.status = 'available') AS in_service
    FROM marketplace_card c
    JOIN marketplace_server s ON s.id = c.server_id
    JOIN marketplace_rack r ON r.id = s.rack_id AND r.status = 'racked'
    GROUP BY s.rack_id
"""
REFERENCE = """
INSERT INTO bench_reference (day, rack_id, installed, in_service, available, leased)
SELECT %(day)s, inv.rack_id, inv.installed, inv.in_service, inv.in_service * 24,
       coalesce(l.hours, 0)
FROM (""" + INVENTORY + """) inv
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
# a year's per-rack occupancy, one set-based statement: each day joined to the allocations
# overlapping it (the textbook way; ours turns whole days into +1/-1 steps instead)
REFERENCE_YEAR = """
INSERT INTO bench_reference (day, rack_id, installed, in_service, available, leased)
WITH days AS (
    SELECT d::date AS day, d::date::timestamp AT TIME ZONE %(tz)s AS ds,
           (d::date + 1)::timestamp AT TIME ZONE %(tz)s AS de
    FROM generate_series(%(d0)s::date, %(d1)s::date, interval '1 day') AS d
),
inv AS (""" + INVENTORY + """),
leased AS (
    SELECT d.day, s.rack_id,
           sum(extract(epoch FROM upper(a.period * tstzrange(d.ds, d.de))
                                 - lower(a.period * tstzrange(d.ds, d.de))) / 3600) AS hours
    FROM leasing_allocation a
    JOIN days d ON a.period && tstzrange(d.ds, d.de)
    JOIN marketplace_card c ON c.id = a.card_id
    JOIN marketplace_server s ON s.id = c.server_id
    GROUP BY d.day, s.rack_id
)
SELECT d.day, inv.rack_id, inv.installed, inv.in_service, inv.in_service * 24,
       coalesce(l.hours, 0)
FROM days d
CROSS JOIN inv
LEFT JOIN leased l ON l.day = d.day AND l.rack_id = inv.rack_id
"""
with connection.cursor() as cursor:
    cursor.execute("DROP TABLE IF EXISTS bench_reference")
    cursor.execute(
        "CREATE TABLE bench_reference (day date, rack_id bigint, installed int,"
        " in_service int, available numeric, leased numeric)"
    )

def reference(on=day):
    start, end = clock.day_bounds(on)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM bench_reference WHERE day = %s", [on])
        cursor.execute(REFERENCE, {"day": on, "ds": start, "de": end})

def ours(on=day):
    with transaction.atomic():
        services._recompute_chunk(on, on)

def clean_slate():
    """No snapshot rows at all, as before a first backfill (and no dead ones either)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE analytics_occupancydaily, analytics_revenuedaily, analytics_sitedaily"
        )

from marketplace.models import Site
sites = list(Site.objects.order_by("pk").values_list("pk", flat=True))

def by_site():  # the nightly's chunks, one after the other (workers share them out)
    for site in sites:
        with transaction.atomic():
            services._recompute_chunk(day, day, site)

clean_slate()
ref_times, our_times, site_times, first_ref_times, first_times = [], [], [], [], []
reference(day - dt.timedelta(days=60)); ours(day - dt.timedelta(days=60))  # warm caches, plans
for n in range(ROUNDS):  # days computed for the first time: nothing to compare or replace
    earlier = day - dt.timedelta(days=n + 1)
    t = time.perf_counter(); reference(earlier); first_ref_times.append(time.perf_counter() - t)
    t = time.perf_counter(); ours(earlier); first_times.append(time.perf_counter() - t)
reference(); ours(); by_site()  # the day's rows exist: what follows are reruns
for _ in range(ROUNDS):
    t = time.perf_counter(); reference(); ref_times.append(time.perf_counter() - t)
    t = time.perf_counter(); ours(); our_times.append(time.perf_counter() - t)
    t = time.perf_counter(); by_site(); site_times.append(time.perf_counter() - t)
year = {"d0": day - dt.timedelta(days=364), "d1": day, "tz": settings.OPERATOR_TIME_ZONE}
clean_slate()
t = time.perf_counter()
with transaction.atomic(), connection.cursor() as cursor:
    cursor.execute("DELETE FROM bench_reference")
    cursor.execute(REFERENCE_YEAR, year)
backfill_reference = time.perf_counter() - t
t = time.perf_counter()
services.snapshots_recompute(day_from=year["d0"], day_to=day, trigger="bench")
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
    "recompute_ms": statistics.median(our_times) * 1000,
    "first_reference_ms": statistics.median(first_ref_times) * 1000,
    "first_ms": statistics.median(first_times) * 1000,
    "backfill_s": backfill, "backfill_reference_s": backfill_reference,
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
    rerun_ratio = result["recompute_ms"] / result["reference_ms"]
    first_ratio = result["first_ms"] / result["first_reference_ms"]
    ratio = max(first_ratio, rerun_ratio)
    backfill_ratio = result["backfill_s"] / result["backfill_reference_s"]
    return {
        "target": (
            f"one day ≤ {TARGET_RATIO:g}× the hand-written statement; "
            f"365-day backfill < {TARGET_BACKFILL_S:g} s and ≤ {TARGET_RATIO:g}× one statement "
            "of the year's per-rack occupancy"
        ),
        "meets_target": ratio <= TARGET_RATIO
        and result["backfill_s"] < TARGET_BACKFILL_S
        and backfill_ratio <= TARGET_RATIO,
        "rows": [
            {
                "day": result["day"],
                "allocations": result["allocations"],
                "first_reference_ms": round(result["first_reference_ms"], 1),
                "first_ms": round(result["first_ms"], 1),
                "first_ratio": round(first_ratio, 2),
                "reference_ms": round(result["reference_ms"], 1),
                "recompute_ms": round(result["recompute_ms"], 1),
                "ratio": round(rerun_ratio, 2),
                "by_site_ms": round(result["by_site_ms"], 1),
                "sites": result["sites"],
                "backfill_365_s": round(result["backfill_s"], 2),
                "backfill_reference_s": round(result["backfill_reference_s"], 2),
                "backfill_ratio": round(backfill_ratio, 2),
                "occupancy_rows": result["occupancy_rows"],
                "revenue_rows": result["revenue_rows"],
            }
        ],
    }


def growth(result: dict[str, Any]) -> dict[str, tuple[float, str]]:
    """What `make bench BENCH_ARGS="--sizes …"` compares across fleet sizes."""
    row = result["rows"][0]
    return {
        "nightly day, first (ms)": (row["first_ms"], "time"),
        "nightly day, rerun (ms)": (row["recompute_ms"], "time"),
        "nightly day, site by site (ms)": (row["by_site_ms"], "time"),
        "backfill 365 days (s)": (row["backfill_365_s"], "time"),
    }
