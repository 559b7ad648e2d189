"""Nightly occupancy and revenue snapshots, recomputed in set-based SQL
(docs/domain.md §Occupancy and revenue).

A range of days is recomputed in chunks of many days per statement; each chunk brings its
days' rows to what it computed atomically, in one statement: rows it no longer computes are
deleted, new ones inserted, changed ones updated, and unchanged ones left alone (a rerun of an
unchanged day writes nothing: no dead rows, no index entries). A rerun or a run killed half-way
and rerun leaves exactly the rows of one clean run.

Leased card-hours per rack, card model and day avoid joining every day to every allocation:
each allocation contributes its partial first and last day directly, and its whole days as a
+1/−1 step that a running sum over the days turns into a count of cards held all day.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from analytics.models import RecomputeChunk, RecomputeRun
from core import clock
from core.actors import Actor
from core.audit import audit_record, snapshot
from core.exceptions import InvalidInput
from core.queue import QUEUE_DOWN, enqueue_nudge, queue_check
from core.runs import (
    chunks_hand_out,
    chunks_help,
    chunks_work,
    run_claim,
    run_heartbeat,
    runs_close_abandoned,
    runs_to_redo,
)
from leasing.terms import minute_ceil_sql, minute_floor_sql, month_share_sql
from marketplace.models import Site

logger = logging.getLogger(__name__)

MAX_RANGE_MONTHS = 36
# Days per statement. A quarter keeps a chunk's hash tables in work_mem at 100,000 cards: a year
# of 365 days backfilled in 42 s there with 92-day chunks, 55 s with a year's, 53 s with 31-day
# ones (per-chunk costs), and alike at 10,000 cards (3.6 s).
CHUNK_DAYS = 92
LOCK_KEY = "analytics.recompute"


def site_lock_key(site_id: int) -> str:
    """The advisory lock (its `hashtext` key) held while a site's snapshots are replaced."""
    return f"{LOCK_KEY}:{site_id}"


# a chunk (a quarter of days) takes seconds; a run silent for this long has lost its worker
RUN_STALE_AFTER = dt.timedelta(minutes=15)

# An allocation's bounds as local days (`s_day`, `e_day`) when they fall inside the chunk; the
# day before or after it otherwise, which every condition on the days treats alike (converting
# only the bounds inside saves most of the time-zone arithmetic of a day's chunk).
_BOUND_DAYS_SQL = """CASE WHEN lower(a.period) >= %(start)s
                THEN (lower(a.period) AT TIME ZONE %(tz)s)::date
                ELSE %(d0)s::date - 1 END AS s_day,
           CASE WHEN upper(a.period) < %(end)s
                THEN (upper(a.period) AT TIME ZONE %(tz)s)::date
                ELSE %(d1)s::date + 1 END AS e_day"""


def _writes_sql(
    name: str, table: str, keys: tuple[str, ...], values: tuple[str, ...], *, shared: bool
) -> str:
    """The CTEs that make `table`'s rows of the chunk's days (of its site) those of the CTE
    `{name}_rows` (columns `keys` + `values`): rows no longer computed deleted, new keys
    inserted, rows whose values differ updated, the others left alone.

    The whole fleet's chunk holds every site's lock: nobody else writes these tables, so keys
    not there are inserted plainly and changed rows updated through a join on the key.
    `INSERT … ON CONFLICT DO UPDATE` inserts every row speculatively, 2.8 ms of a new day's 36
    at 10,000 cards, and locks every row it finds on a rerun. A site's chunk (`shared`) runs
    beside other sites' and must take ON CONFLICT's care: a lease's revenue row is another
    site's to delete or insert when their snapshots disagree on where its cards are, and only
    the speculative insertion waits for that writer and then inserts or updates."""
    same_key = " AND ".join(f"o.{key} = n.{key}" for key in keys)
    chunk = "o.day BETWEEN %(d0)s AND %(d1)s"
    columns = ", ".join((*keys, *values))
    old_values = ", ".join(f"o.{value}" for value in values)
    stale = f"""{name}_stale AS (
    DELETE FROM {table} o
    WHERE {chunk} AND (%(site)s::bigint IS NULL OR o.site_id = %(site)s::bigint)
      AND NOT EXISTS (SELECT FROM {name}_rows n WHERE {same_key})
)"""
    if shared:
        return f"""{stale},
{name}_written AS (
    INSERT INTO {table} AS o ({columns})
    SELECT {columns} FROM {name}_rows
    ON CONFLICT ({", ".join(keys)}) DO UPDATE
    SET {", ".join(f"{value} = excluded.{value}" for value in values)}
    WHERE ({old_values})
          IS DISTINCT FROM ({", ".join(f"excluded.{value}" for value in values)})
)"""
    return f"""{stale},
{name}_added AS (
    INSERT INTO {table} ({columns})
    SELECT {", ".join(f"n.{column}" for column in (*keys, *values))} FROM {name}_rows n
    WHERE NOT EXISTS (SELECT FROM {table} o WHERE {chunk} AND {same_key})
),
{name}_changed AS (
    UPDATE {table} o SET {", ".join(f"{value} = n.{value}" for value in values)}
    FROM {name}_rows n
    WHERE {chunk} AND {same_key}
      AND ({old_values}) IS DISTINCT FROM ({", ".join(f"n.{value}" for value in values)})
)"""


_OCCUPANCY_COLUMNS = (
    ("day", "rack_id", "card_model_id"),
    ("site_id", "cards_installed", "cards_in_service", "card_hours_available",
     "card_hours_leased", "card_hours_busy"),
)  # fmt: skip
_REVENUE_COLUMNS = (
    ("day", "lease_id"),
    ("tenant_id", "site_id", "card_model_id", "lease_kind", "amount"),
)
_SITE_COLUMNS = (("day", "site_id"), ("racks_racked", "racks_planned"))
_WRITES = (
    ("{OCCUPANCY_WRITES}", "occupancy", "analytics_occupancydaily", _OCCUPANCY_COLUMNS),
    ("{REVENUE_WRITES}", "revenue", "analytics_revenuedaily", _REVENUE_COLUMNS),
    ("{SITE_WRITES}", "site", "analytics_sitedaily", _SITE_COLUMNS),
)


# One statement per chunk of days: the allocations overlapping the chunk are read once (by the
# index on their upper bound) and feed the three snapshot tables through data-modifying CTEs.
# Time-zone arithmetic is the costly part of a row: a bound is converted to its local day only
# when it falls inside the chunk, and minutes are binned without it. A row's days are a series
# in its SELECT list, not a LATERAL function scan: PostgreSQL builds a tuplestore for every call
# of a function in FROM (a day's 600 long leases and 2,200 short holds each paid one).
_RECOMPUTE_SQL = f"""
WITH days AS (
    -- n: the day's place in the chunk, which per-row series of days join on
    SELECT n, g.day, (g.day::timestamp AT TIME ZONE %(tz)s) AS ds,
           ((g.day + 1)::timestamp AT TIME ZONE %(tz)s) AS de,
           date_trunc('month', g.day)::date AS month_start,
           extract(day FROM date_trunc('month', g.day) + interval '1 month'
                            - interval '1 day') AS dim
    -- a series of integers, whose length the planner knows (PostgreSQL 15 guesses 1,000 rows
    -- for a series of dates, and sized every hash table and sort above it for 1,000 days)
    FROM generate_series(0, %(d1)s::date - %(d0)s::date) AS n
    CROSS JOIN LATERAL (SELECT %(d0)s::date + n AS day) AS g
),
cards AS NOT MATERIALIZED (
    SELECT c.id, c.card_model_id, s.rack_id, r.site_id, c.status, r.status AS rack_status
    FROM marketplace_card c
    JOIN marketplace_server s ON s.id = c.server_id
    JOIN marketplace_rack r ON r.id = s.rack_id
),
alloc AS MATERIALIZED (
    -- the allocations of the site's cards (of every card for the whole fleet)
    SELECT a.lease_id, c.rack_id, c.site_id, c.card_model_id,
           -- held, so in service while held, but out of service now (swapped out, retired, or
           -- its rack no longer racked): its held hours count as available too
           (c.status <> 'available' OR c.rack_status <> 'racked') AS oos,
           lower(a.period) AS lo, upper(a.period) AS hi,
           {_BOUND_DAYS_SQL}
    FROM leasing_allocation a
    JOIN cards c ON c.id = a.card_id
    -- overlapping [start, end): by the index on the upper bound (see leasing.Allocation)
    WHERE coalesce(upper(a.period), 'infinity'::timestamptz) > %(start)s
      AND lower(a.period) < %(end)s
      AND (%(site)s::bigint IS NULL OR (
          c.site_id = %(site)s::bigint
          -- a site's cards probe the (card, period) index of the exclusion constraint
          AND a.period && tstzrange(%(start)s, %(end)s, '[)')))
),
lease_alloc AS {{LEASE_ALLOC}},
leases AS MATERIALIZED (
    -- every lease holding a card in the chunk (a long lease holds its cards all its term);
    -- its revenue goes to its own site, else to the lowest id among its cards' sites
    SELECT l.id AS lease_id, l.kind, l.unit_price, l.card_count, l.tenant_id, l.card_model_id,
           coalesce(l.site_id, x.site_id) AS site_id, l.start, l."end"
    FROM (SELECT lease_id, min(site_id) AS site_id FROM lease_alloc GROUP BY lease_id) x
    JOIN leasing_lease l ON l.id = x.lease_id
    WHERE %(site)s::bigint IS NULL OR coalesce(l.site_id, x.site_id) = %(site)s::bigint
),
inventory AS (
    -- counted per server on the card table alone, then placed in racks
    SELECT s.rack_id, r.site_id, c.card_model_id,
           sum(c.installed)::int AS installed, sum(c.in_service)::int AS in_service
    FROM (
        SELECT server_id, card_model_id,
               count(*) FILTER (WHERE status <> 'retired') AS installed,
               count(*) FILTER (WHERE status = 'available') AS in_service
        FROM marketplace_card
        WHERE %(site)s::bigint IS NULL OR server_id = ANY(ARRAY(
            SELECT s.id FROM marketplace_server s JOIN marketplace_rack r ON r.id = s.rack_id
            WHERE r.site_id = %(site)s::bigint))
        GROUP BY server_id, card_model_id
    ) c
    JOIN marketplace_server s ON s.id = c.server_id
    JOIN marketplace_rack r ON r.id = s.rack_id AND r.status = 'racked'
    WHERE %(site)s::bigint IS NULL OR r.site_id = %(site)s::bigint
    GROUP BY s.rack_id, r.site_id, c.card_model_id
),
events AS (
{{EVENTS}}
),
event_days AS (
    SELECT rack_id, site_id, card_model_id, day, sum(hours) AS hours, sum(delta) AS delta,
           sum(hours) FILTER (WHERE oos) AS oos_hours, sum(delta) FILTER (WHERE oos) AS oos_delta
    FROM events GROUP BY rack_id, site_id, card_model_id, day
),
busy_records AS (
    SELECT u.id, u.card_id, u.lease_id, u.quantity, u.start, u."end"
    FROM billing_usagerecord u
    -- the price book's busy-hours metric (none yet: no record can name it)
    WHERE u.metric_id = (SELECT id FROM billing_metric WHERE code = 'card_busy_hours')
      AND u."end" > %(start)s AND u.start < %(end)s
),
busy_cards AS (
    -- a record names its card, or spreads over the cards its lease held in its window
    SELECT b.id, b.quantity, b.start, b."end", b.card_id, 1::numeric AS share
    FROM busy_records b WHERE b.card_id IS NOT NULL
    UNION ALL
    SELECT b.id, b.quantity, b.start, b."end", a.card_id,
           1::numeric / count(*) OVER (PARTITION BY b.id)
    FROM busy_records b
    JOIN leasing_allocation a
      ON a.lease_id = b.lease_id AND a.period && tstzrange(b.start, b."end", '[)')
    WHERE b.card_id IS NULL
),
busy AS (
    SELECT c.rack_id, c.site_id, c.card_model_id, d.day,
           sum(b.quantity * b.share
               * extract(epoch FROM LEAST(b."end", d.de) - GREATEST(b.start, d.ds))
               / extract(epoch FROM b."end" - b.start)) AS hours
    FROM (SELECT b.*, generate_series(
              GREATEST((b.start AT TIME ZONE %(tz)s)::date, %(d0)s::date) - %(d0)s::date,
              LEAST(((b."end" - interval '1 microsecond') AT TIME ZONE %(tz)s)::date,
                    %(d1)s::date) - %(d0)s::date) AS n
          FROM busy_cards b) b
    JOIN cards c ON c.id = b.card_id
      AND (%(site)s::bigint IS NULL OR c.site_id = %(site)s::bigint)
    JOIN days d ON d.n = b.n
    GROUP BY c.rack_id, c.site_id, c.card_model_id, d.day
),
keys AS (
    SELECT rack_id, site_id, card_model_id FROM inventory
    UNION
    SELECT rack_id, site_id, card_model_id FROM event_days
    UNION
    SELECT DISTINCT rack_id, site_id, card_model_id FROM busy
),
grid AS (
    SELECT k.rack_id, k.site_id, k.card_model_id, d.day,
           extract(epoch FROM d.de - d.ds) / 3600 AS day_hours,
           coalesce(e.hours, 0) AS partial_hours,
           sum(coalesce(e.delta, 0)) OVER w AS whole_days,
           coalesce(e.oos_hours, 0) AS oos_partial_hours,
           sum(coalesce(e.oos_delta, 0)) OVER w AS oos_whole_days
    FROM keys k
    CROSS JOIN days d
    LEFT JOIN event_days e
      ON e.rack_id = k.rack_id AND e.card_model_id = k.card_model_id AND e.day = d.day
    WINDOW w AS (PARTITION BY k.rack_id, k.card_model_id ORDER BY d.day)
),
occupancy_rows (day, rack_id, site_id, card_model_id, cards_installed, cards_in_service,
                card_hours_available, card_hours_leased, card_hours_busy) AS MATERIALIZED (
    SELECT g.day, g.rack_id, g.site_id, g.card_model_id,
           coalesce(i.installed, 0), coalesce(i.in_service, 0),
           coalesce(i.in_service, 0) * g.day_hours
               + round((g.oos_partial_hours + g.oos_whole_days * g.day_hours)::numeric, 4),
           round((g.partial_hours + g.whole_days * g.day_hours)::numeric, 4),
           round(coalesce(b.hours, 0)::numeric, 4)
    FROM grid g
    LEFT JOIN inventory i ON i.rack_id = g.rack_id AND i.card_model_id = g.card_model_id
    LEFT JOIN busy b
      ON b.rack_id = g.rack_id AND b.card_model_id = g.card_model_id AND b.day = g.day
),
{{OCCUPANCY_WRITES}},
short_held AS (
    -- held intervals widened to whole minutes, as billed (leasing.terms); a running hold
    -- counts until now
    SELECT x.lease_id, x.s_day, x.e_day,
           {minute_floor_sql("x.lo")} AS lo,
           CASE WHEN x.hi IS NULL OR x.hi > %(now)s
                THEN {minute_floor_sql("%(now)s")}
                ELSE {minute_ceil_sql("x.hi")}
           END AS hi
    FROM leases l
    JOIN lease_alloc x ON x.lease_id = l.lease_id
    WHERE l.kind = 'short'
),
short_days AS (
    -- the days of the allocation, cut to the chunk; a hold capped at now may end before them
    SELECT d.day, h.lease_id,
           sum(extract(epoch FROM LEAST(h.hi, d.de) - GREATEST(h.lo, d.ds)) / 60) AS minutes
    FROM (SELECT h.lease_id, h.lo, h.hi,
                 generate_series(GREATEST(h.s_day, %(d0)s::date) - %(d0)s::date,
                                 LEAST(h.e_day, %(d1)s::date) - %(d0)s::date) AS n
          FROM short_held h) h
    JOIN days d ON d.n = h.n
    WHERE LEAST(h.hi, d.de) > GREATEST(h.lo, d.ds)
    GROUP BY d.day, h.lease_id
),
revenue_rows (day, lease_id, tenant_id, site_id, card_model_id, lease_kind, amount)
    AS MATERIALIZED (
    -- a long lease accrues fee × cards / days in month on each active day, as the difference
    -- of the month's running value (k active days so far) rounded to 6 places: the month's days
    -- then add up to round(fee × cards × days / days in month, 6), which rounds to the invoice
    -- line, where 6-place days rounded one by one could drift a cent off it
    SELECT d.day, l.lease_id, l.tenant_id, l.site_id, l.card_model_id, l.kind,
           round({month_share_sql("l.unit_price", "l.card_count", "m.k", "d.dim")}, 6)
               - round({month_share_sql("l.unit_price", "l.card_count", "m.k - 1", "d.dim")}, 6)
    FROM (SELECT l.*, f.first_day,
                 generate_series(GREATEST(f.first_day, %(d0)s::date) - %(d0)s::date,
                                 LEAST((l."end" AT TIME ZONE %(tz)s)::date - 1, %(d1)s::date)
                                     - %(d0)s::date) AS n
          FROM leases l
          CROSS JOIN LATERAL (SELECT (l.start AT TIME ZONE %(tz)s)::date AS first_day) AS f
          WHERE l.kind = 'long') l
    JOIN days d ON d.n = l.n
    -- k: the lease's active days of the month so far
    CROSS JOIN LATERAL (SELECT d.day - GREATEST(d.month_start, l.first_day) + 1 AS k) AS m
    UNION ALL
    -- a short lease its minutes at the hourly price
    SELECT s.day, l.lease_id, l.tenant_id, l.site_id, l.card_model_id, l.kind,
           round(s.minutes::numeric * l.unit_price / 60, 6)
    FROM short_days s
    JOIN leases l ON l.lease_id = s.lease_id
    WHERE s.minutes > 0
),
{{REVENUE_WRITES}},
site_rows (day, site_id, racks_racked, racks_planned) AS MATERIALIZED (
    SELECT d.day, r.site_id,
           count(*) FILTER (WHERE r.status = 'racked'),
           count(*) FILTER (WHERE r.status = 'planned')
    FROM days d
    CROSS JOIN marketplace_rack r
    WHERE %(site)s::bigint IS NULL OR r.site_id = %(site)s::bigint
    GROUP BY d.day, r.site_id
),
{{SITE_WRITES}}
SELECT (SELECT count(*) FROM occupancy_rows), (SELECT count(*) FROM revenue_rows),
       (SELECT count(*) FROM site_rows)
"""
# The fleet's statement and a site's differ in which allocations feed revenue: the planner is
# spared the site's branch when the whole fleet is recomputed.
_LEASE_ALLOC_SITE = f"""MATERIALIZED (
    -- every allocation in the chunk of the leases the site may owe revenue to: those holding
    -- a card there, and those of the site, wherever their other cards are
    SELECT a.lease_id, c.site_id, lower(a.period) AS lo, upper(a.period) AS hi,
           {_BOUND_DAYS_SQL}
    FROM leasing_allocation a
    JOIN cards c ON c.id = a.card_id
    WHERE coalesce(upper(a.period), 'infinity'::timestamptz) > %(start)s
      AND lower(a.period) < %(end)s
      AND a.period && tstzrange(%(start)s, %(end)s, '[)')
      AND a.lease_id IN (
          SELECT lease_id FROM alloc
          UNION
          SELECT id FROM leasing_lease WHERE site_id = %(site)s::bigint
      )
)"""
_LEASE_ALLOC_FLEET = """NOT MATERIALIZED (
    -- for the whole fleet, the allocations themselves (the site's form reads more), read from
    -- `alloc` where used: as a CTE of its own, referenced twice, PostgreSQL copied the day's
    -- 8,000 rows into a second tuplestore (~1.5 ms of the day's 35 at 10,000 cards)
    SELECT lease_id, site_id, lo, hi, s_day, e_day FROM alloc
)"""
# An allocation's leased hours by day: for a chunk of days, its partial first and last days and
# its whole days as +1/−1 steps (see the module); for one day (the nightly's), simply its
# overlap with the day, which spares the four passes over the allocations and their local days
# (~1 ms of a day's 35 at 10,000 cards). Both give the same hours.
_EVENTS_CHUNK = """    -- the first day's hours (all of them when it starts and ends on one day)
    SELECT rack_id, site_id, card_model_id, oos, s_day AS day,
           extract(epoch FROM LEAST(hi, ((s_day + 1)::timestamp AT TIME ZONE %(tz)s)) - lo)
               / 3600 AS hours,
           0 AS delta
    FROM alloc WHERE s_day BETWEEN %(d0)s AND %(d1)s
    UNION ALL
    -- the last day's hours, from its midnight
    SELECT rack_id, site_id, card_model_id, oos, e_day,
           extract(epoch FROM hi - (e_day::timestamp AT TIME ZONE %(tz)s)) / 3600, 0
    FROM alloc WHERE e_day > s_day AND e_day BETWEEN %(d0)s AND %(d1)s
    UNION ALL
    -- whole days in between: +1 on the first, −1 after the last
    SELECT rack_id, site_id, card_model_id, oos, GREATEST(s_day + 1, %(d0)s::date), 0, 1
    FROM alloc WHERE GREATEST(s_day + 1, %(d0)s::date) < LEAST(e_day, %(d1)s::date + 1)
    UNION ALL
    SELECT rack_id, site_id, card_model_id, oos, e_day, 0, -1
    FROM alloc WHERE e_day <= %(d1)s AND GREATEST(s_day + 1, %(d0)s::date) < e_day"""
_EVENTS_DAY = """    SELECT rack_id, site_id, card_model_id, oos, %(d0)s::date AS day,
           extract(epoch FROM LEAST(hi, %(end)s) - GREATEST(lo, %(start)s)) / 3600 AS hours,
           0 AS delta
    FROM alloc"""


def _recompute_sql(*, site: bool, one_day: bool) -> str:
    sql = _RECOMPUTE_SQL.replace(
        "{LEASE_ALLOC}", _LEASE_ALLOC_SITE if site else _LEASE_ALLOC_FLEET
    ).replace("{EVENTS}", _EVENTS_DAY if one_day else _EVENTS_CHUNK)
    for placeholder, name, table, (keys, values) in _WRITES:
        sql = sql.replace(placeholder, _writes_sql(name, table, keys, values, shared=site))
    return sql


# by (a site's, one day's)
_RECOMPUTE_STATEMENTS = {
    (site, one_day): _recompute_sql(site=site, one_day=one_day)
    for site in (False, True)
    for one_day in (False, True)
}
# The chunk's lock and settings: the whole fleet's days take every site's lock (in site order;
# a site's chunk takes its own), so a fleet-wide and a per-site recompute never write the same
# rows at once.
_PREPARE_SQL = """
SELECT pg_advisory_xact_lock(hashtext(%(lock)s || ':' || id))
FROM (SELECT id FROM marketplace_site
      WHERE %(site)s::bigint IS NULL OR id = %(site)s::bigint ORDER BY id) AS sites;
SET LOCAL idle_in_transaction_session_timeout = '5min';
SET LOCAL jit = off;
SET LOCAL work_mem = '64MB';
"""


def _recompute_chunk(d0: dt.date, d1: dt.date, site_id: int | None = None) -> dict[str, int]:
    """Replace the snapshots of [d0, d1], of the whole fleet or of one site (its racks'
    occupancy, the revenue of the leases it is owed, its racking)."""
    start, end = clock.day_start(d0), clock.day_start(d1 + dt.timedelta(days=1))
    params: dict[str, Any] = {
        "d0": d0,
        "d1": d1,
        "start": start,
        "end": end,
        "tz": settings.OPERATOR_TIME_ZONE,
        "now": clock.now(),
        "lock": LOCK_KEY,
        "site": site_id,
    }
    if not connection.in_atomic_block:  # its lock and settings last as long as the transaction
        raise RuntimeError("recompute a chunk inside the transaction that commits it")
    with connection.cursor() as cursor:
        # one round trip for the lock and the job's settings (client-side binding sends the
        # statements as one simple query)
        cursor.execute(_PREPARE_SQL, params)
        cursor.execute(_RECOMPUTE_STATEMENTS[site_id is not None, d0 == d1], params)
        occupancy_rows, revenue_rows, site_rows = cursor.fetchone()
    return {"occupancy_rows": occupancy_rows, "revenue_rows": revenue_rows, "site_rows": site_rows}


def range_validate(day_from: dt.date, day_to: dt.date) -> None:
    """A range of days, inclusive, of at most 3 calendar years."""
    if day_from > day_to:
        raise InvalidInput("from is after to.", fields={"from": ["After to."]})
    if day_from.year > dt.MAXYEAR - 4:  # add_months below would leave the calendar
        raise InvalidInput("from is out of range.", fields={"from": ["Out of range."]})
    if day_to >= clock.add_months(day_from, MAX_RANGE_MONTHS):
        raise InvalidInput(
            "A range covers at most 3 years.", fields={"to": ["More than 3 years after from."]}
        )


def snapshots_recompute(
    *,
    day_from: dt.date,
    day_to: dt.date,
    trigger: str = "backfill",
    actor: Actor = None,
    run: RecomputeRun | None = None,
) -> RecomputeRun:
    """Recompute occupancy and revenue for [day_from, day_to] (inclusive).

    `run`: a row recorded by `snapshots_recompute_start` (the task passes it): that run is the
    one carried out (again, if redelivered), not a new one.

    Each chunk of days commits on its own under a transaction-scoped advisory lock, so two runs
    never write the same days at once, a killed run leaves whole days, and its lock dies with
    its transaction (a session lock outlived a killed worker whose session lingered). The run
    row is owned by this session and beats once a chunk; a run whose owner is gone is closed as
    failed before this one starts (core.runs), and `recompute_runs_recover` redoes its days on its
    row (`run` given: that row runs again).
    """
    range_validate(day_from, day_to)
    runs_close_abandoned(model=RecomputeRun, stale_after=RUN_STALE_AFTER)
    run = run or RecomputeRun.objects.create(
        day_from=day_from, day_to=day_to, trigger=trigger, started_at=clock.now()
    )
    run_claim(run)
    run.refresh_from_db()
    try:
        if RecomputeChunk.objects.filter(run=run).exists():  # handed out a site at a time
            _chunks_work(run)
        else:
            chunk_start = day_from
            while chunk_start <= day_to:
                chunk_end = min(chunk_start + dt.timedelta(days=CHUNK_DAYS - 1), day_to)
                with transaction.atomic():
                    _recompute_chunk(chunk_start, chunk_end)
                    run_heartbeat(run)
                chunk_start = chunk_end + dt.timedelta(days=1)
    except Exception as exc:
        run.status = "failed"
        run.error = f"{exc.__class__.__name__}: {exc}"
        run.finished_at = clock.now()
        run.save(update_fields=["status", "error", "finished_at"])
        raise
    run.status = "done"
    run.error = ""
    run.finished_at = clock.now()
    run.save(update_fields=["status", "error", "finished_at"])
    audit_record(actor=actor, action="snapshots.recompute", instance=run, after=snapshot(run))
    return run


# --- A site at a time (the nightly) ---


def _chunk_do(run: RecomputeRun, chunk: RecomputeChunk) -> None:
    """Replace the chunk's site's snapshots of the run's days (CHUNK_DAYS days per transaction,
    each beating the chunk's heartbeat)."""
    piece_start = run.day_from
    while piece_start <= run.day_to:
        piece_end = min(piece_start + dt.timedelta(days=CHUNK_DAYS - 1), run.day_to)
        with transaction.atomic():
            _recompute_chunk(piece_start, piece_end, chunk.site_id)
            run_heartbeat(chunk)
        piece_start = piece_end + dt.timedelta(days=1)


def _chunks_work(run: RecomputeRun) -> None:
    """The run's own worker: its chunks (core.runs.chunks_work)."""
    chunks_work(
        RecomputeChunk, run, lambda chunk: _chunk_do(run, chunk), stale_after=RUN_STALE_AFTER
    )


def snapshots_recompute_by_site(
    *, day_from: dt.date, day_to: dt.date, trigger: str = "nightly"
) -> RecomputeRun:
    """Recompute [day_from, day_to] a site at a time: a chunk per site, which any `analytics`
    worker may take (a task is queued for each but the first), this worker taking whatever is
    left and any chunk whose taker died. The result equals the fleet-wide statement's
    (`snapshots_recompute`); a run whose own worker dies is redone on its row, its chunks not
    yet done again (`recompute_runs_recover`)."""
    range_validate(day_from, day_to)
    runs_close_abandoned(model=RecomputeRun, stale_after=RUN_STALE_AFTER)
    with transaction.atomic():
        run = RecomputeRun.objects.create(
            day_from=day_from, day_to=day_to, trigger=trigger, started_at=clock.now()
        )
        sites = list(Site.objects.order_by("pk").values_list("pk", flat=True))
        RecomputeChunk.objects.bulk_create(RecomputeChunk(run=run, site_id=s) for s in sites)
        chunks_hand_out("analytics.recompute_chunks", run.pk, max(len(sites) - 1, 0))
    return snapshots_recompute(day_from=day_from, day_to=day_to, trigger=trigger, run=run)


def recompute_chunks_help(run_id: int) -> int:
    """Another worker's help with a run: take its chunks nobody has until none is left (how
    many it did). A chunk that fails is let go at once, for the run's worker to take again."""
    run = RecomputeRun.objects.filter(pk=run_id, status="running").first()
    if run is None:
        return 0
    return chunks_help(
        RecomputeChunk, run.pk, lambda chunk: _chunk_do(run, chunk), stale_after=RUN_STALE_AFTER
    )


def recompute_is_long(day_from: dt.date, day_to: dt.date) -> bool:
    """A range of more days than a request may spend on (RECOMPUTE_SYNC_MAX_DAYS) goes to a
    worker (`snapshots_recompute_start`)."""
    return (day_to - day_from).days + 1 > settings.RECOMPUTE_SYNC_MAX_DAYS


def snapshots_recompute_start(
    *, day_from: dt.date, day_to: dt.date, actor: Actor = None
) -> RecomputeRun:
    """Recompute [day_from, day_to] on a worker: the `running` row now, the task once it commits.

    ServiceUnavailable (503), with nothing recorded, when no worker could be reached; a broker
    lost between that check and the commit closes the run as failed (`_recompute_enqueue`).
    """
    range_validate(day_from, day_to)
    queue_check()
    run = RecomputeRun.objects.create(
        day_from=day_from, day_to=day_to, trigger="api", started_at=clock.now()
    )
    audit_record(actor=actor, action="snapshots.recompute_start", instance=run, after=snapshot(run))
    run_id = run.pk
    transaction.on_commit(lambda: _recompute_enqueue(run_id))
    return run


def _recompute_enqueue(run_id: int) -> None:
    """Hand a committed run to a worker (by name: analytics.tasks imports this module); if the
    broker went away since the check, close the run as failed rather than leave it `running`."""
    if not enqueue_nudge("analytics.recompute_run", run_id):
        RecomputeRun.objects.filter(pk=run_id, status="running").update(
            status="failed", error=QUEUE_DOWN, finished_at=clock.now()
        )


def snapshots_nightly() -> RecomputeRun:
    """Yesterday, plus any day missed since the last successful run (at most 3 years back).

    A run covers a day only if the day was over when the run started: a backfill that reached
    into the future recomputed those days before they happened, so they count as missed.
    """
    yesterday = clock.local_today() - dt.timedelta(days=1)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT max(LEAST(day_to, (started_at AT TIME ZONE %s)::date - 1))
            FROM analytics_recomputerun WHERE status = 'done' AND day_from <= %s
            """,
            [settings.OPERATOR_TIME_ZONE, yesterday],
        )
        (last,) = cursor.fetchone()
    day_from = yesterday if last is None else min(last + dt.timedelta(days=1), yesterday)
    day_from = max(day_from, clock.add_months(yesterday, -MAX_RANGE_MONTHS) + dt.timedelta(days=1))
    return snapshots_recompute_by_site(day_from=day_from, day_to=yesterday, trigger="nightly")


def recompute_runs_recover() -> list[RecomputeRun]:
    """Redo, each on its own row, the recomputes whose worker died (core.runs.runs_to_redo):
    beat runs it every minute and every worker as it starts. Returns the runs redone."""
    redone = []
    for run_id in runs_to_redo(model=RecomputeRun, stale_after=RUN_STALE_AFTER):
        run = RecomputeRun.objects.get(pk=run_id)
        logger.warning("redoing recompute run %s (%s) whose worker died", run.pk, run)
        try:
            snapshots_recompute(
                day_from=run.day_from, day_to=run.day_to, trigger=run.trigger, run=run
            )
        except Exception:  # recorded on the run (failed, with its cause): go on with the next
            logger.exception("recompute run %s failed again", run.pk)
        redone.append(run)
    return redone
