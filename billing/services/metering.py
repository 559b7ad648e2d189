"""The platform's meter for its own short leases: held card-minutes into the usage ledger.

Each allocation's held interval is widened to whole minutes (start floored, end ceiled) and cut
at operator-local midnights; each (allocation, local day) is one record with the deterministic id
`short:<allocation>:<day>`, so re-running the meter never counts twice. The meter runs hourly
(and when a lease stops): a finished allocation (stopped, swapped out, ended) is metered to its
last minute; a running one up to the last whole day, since a record, once written, never
changes. One set-based statement: the ids into the usage key table (`ON CONFLICT DO NOTHING`),
the records whose ids were new into the ledger.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection, transaction

from billing.choices import CARD_MINUTES, PLATFORM_SOURCE, UsagePoster
from billing.pricebook import builtin_metric_id
from billing.services.usage import ledger_insert_sql
from core import clock
from leasing.terms import minute_ceil_sql, minute_floor_sql


def held_sql(where: str) -> str:
    """SQL of each short-lease allocation's held interval as it is billed: `[lo, hi)` widened to
    whole minutes (start floored, end ceiled). A finished allocation is held to its end; a
    running one to the minute now when `%(to_now)s`, else to the last local midnight (a record,
    once written, never changes). Columns: allocation_id, card_id, lease_id, tenant_id,
    unit_price, lo, hi. Parameters: now, to_now, tz, and those of `where` (on `a` the
    allocation, `l` the lease). The meter's rule, read by the spend-limit pass too."""
    return f"""
    SELECT a.id AS allocation_id, a.card_id, l.id AS lease_id, l.tenant_id, l.unit_price,
           {minute_floor_sql("lower(a.period)")} AS lo,
           CASE
             WHEN upper(a.period) IS NOT NULL AND upper(a.period) <= %(now)s THEN
               {minute_ceil_sql("upper(a.period)")}
             WHEN %(to_now)s THEN {minute_ceil_sql("%(now)s::timestamptz")}
             ELSE (%(now)s AT TIME ZONE %(tz)s)::date::timestamp AT TIME ZONE %(tz)s
           END AS hi
    FROM leasing_allocation a
    JOIN leasing_lease l ON l.id = a.lease_id
    WHERE l.kind = 'short' AND ({where})
    """


_METER_SQL = f"""
WITH held AS ({
    held_sql(
        "a.period && tstzrange(%(since)s, %(until)s, '[)')"
        " AND (%(lease)s::bigint IS NULL OR l.id = %(lease)s::bigint)"
        " AND (%(leases)s::bigint[] IS NULL OR l.id = ANY(%(leases)s::bigint[]))"
        " AND (%(tenant)s::bigint IS NULL OR l.tenant_id = %(tenant)s::bigint)"
        " AND (%(tenants)s::bigint[] IS NULL OR l.tenant_id = ANY(%(tenants)s::bigint[]))"
    )
}),
windows AS (
    SELECT held.*, g.day::date AS day,
           GREATEST(held.lo, g.day::date::timestamp AT TIME ZONE %(tz)s) AS w_start,
           LEAST(held.hi, (g.day::date + 1)::timestamp AT TIME ZONE %(tz)s) AS w_end
    FROM held
    CROSS JOIN LATERAL generate_series(
        (held.lo AT TIME ZONE %(tz)s)::date,
        ((held.hi - interval '1 microsecond') AT TIME ZONE %(tz)s)::date,
        interval '1 day'
    ) AS g(day)
    WHERE held.hi > held.lo
),
""" + ledger_insert_sql("""
    SELECT tenant_id, lease_id, card_id, %(metric)s::bigint AS metric_id,
           (extract(epoch FROM w_end - w_start) / 60)::numeric AS quantity,
           w_start AS start, w_end AS "end", date_trunc('month', day)::date AS month,
           %(source)s::text AS source,
           'short:' || allocation_id || ':' || to_char(day, 'YYYY-MM-DD') AS external_id,
           NULL::bigint AS corrects_id, %(now)s::timestamptz AS created_at
    FROM windows
    WHERE w_end > w_start AND day >= (%(since)s::timestamptz AT TIME ZONE %(tz)s)::date""")

CATCH_UP = dt.timedelta(days=3)


@transaction.atomic
def short_leases_meter(
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    lease_id: int | None = None,
    lease_ids: list[int] | None = None,
    tenant_id: int | None = None,
    tenant_ids: list[int] | None = None,
    to_now: bool = False,
) -> int:
    """Meter held card-minutes of short leases over the days of [since, until); returns records
    added.

    Defaults: the last 3 days up to now (the hourly beat job catches up on missed runs).
    `to_now` meters running allocations up to the minute now, today included: only for a
    preview that rolls its writes back (`invoicing.invoice_preview`), since a record, once
    written, never changes.
    """
    now = clock.now()
    until = min(until or now, now + clock.CLOCK_SKEW)
    since = since or (until - CATCH_UP)
    metric_id = builtin_metric_id(CARD_MINUTES)
    with connection.cursor() as cursor:
        cursor.execute(
            _METER_SQL,
            {
                "now": now,
                "since": since,
                "until": until,
                "tz": settings.OPERATOR_TIME_ZONE,
                "lease": lease_id,
                "leases": lease_ids,  # or only these leases' (`month_meter`)
                "tenant": tenant_id,
                "tenants": tenant_ids,  # or only these tenants' (the spend-limit pass)
                "to_now": to_now,
                "metric": metric_id,
                "source": PLATFORM_SOURCE,
                "poster": UsagePoster.PLATFORM.value,
            },
        )
        return cursor.rowcount


def lease_meter_at_stop(lease_id: int) -> int:
    """Meter a stopped short lease completely (called on commit of the stop)."""
    return short_leases_meter(since=dt.datetime(2000, 1, 1, tzinfo=dt.UTC), lease_id=lease_id)


# The short leases whose records of a month are not all there: for each lease, the (allocation,
# local day) windows its held intervals cover in the month (what the meter writes, one record
# each) against the lease's platform records of the month. Parameters: those of `held_sql`,
# ms/me (the month's instants), month, metric, poster, source.
_UNMETERED_SQL = f"""
WITH held AS ({held_sql("a.period && tstzrange(%(ms)s, %(me)s, '[)')")}),
expected AS (
    SELECT lease_id,
           sum(((LEAST(hi, %(me)s) - interval '1 microsecond') AT TIME ZONE %(tz)s)::date
               - (GREATEST(lo, %(ms)s) AT TIME ZONE %(tz)s)::date + 1) AS records
    FROM held
    WHERE LEAST(hi, %(me)s) > GREATEST(lo, %(ms)s)
    GROUP BY lease_id
),
metered AS (
    SELECT r.lease_id, count(*) AS records
    FROM billing_usagerecord r
    WHERE r.month = %(month)s AND r.metric_id = %(metric)s
      AND r.poster = %(poster)s AND r.source = %(source)s
    GROUP BY r.lease_id
)
SELECT e.lease_id FROM expected e LEFT JOIN metered m ON m.lease_id = e.lease_id
WHERE m.records IS DISTINCT FROM e.records
ORDER BY e.lease_id
"""


def month_meter(month: dt.date) -> int:
    """Meter a month's short leases to their last minute (the invoice run's first step); returns
    records added.

    The hourly meter and the meter at stop have written nearly all of them already: one
    statement finds the leases whose records of the month are not all there (a count per lease
    against the windows its allocations cover), and only those are metered, rather than every
    allocation of the month being cut into days again and each day's record looked up (which,
    at 100,000 cards, was most of the run's time and outgrew the fleet).
    """
    ms, me = clock.month_bounds(month)
    with connection.cursor() as cursor:
        cursor.execute(
            _UNMETERED_SQL,
            {
                "now": clock.now(),
                "to_now": False,
                "tz": settings.OPERATOR_TIME_ZONE,
                "ms": ms,
                "me": me,
                "month": month,
                "metric": builtin_metric_id(CARD_MINUTES),
                "poster": UsagePoster.PLATFORM.value,
                "source": PLATFORM_SOURCE,
            },
        )
        leases = [row[0] for row in cursor.fetchall()]
    if not leases:
        return 0
    return short_leases_meter(since=ms, until=me, lease_ids=leases)
