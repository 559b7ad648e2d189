"""Invoice runs, issuing (numbers, vouchers), payment, voiding and credit notes
(docs/domain.md §Invoices).

An invoice run for a month is a handful of set-based statements over every tenant at once: pick
the billable usage not yet on an issued invoice, make sure each tenant with charges has a draft,
compute the wanted lines in one query, merge them into the drafts (delete what differs, insert
what is missing) and refresh the totals. Running it twice changes nothing; issued invoices are
never touched. Drafts do not claim usage: issuing does. It links the usage the invoice bills
(row locks make a record billed once) and rebuilds the invoice's usage lines from exactly the
linked records, so late records that arrived since the run are on it, and records that arrive
after it go to the next invoice as prior-period lines.

What one tenant's data computes must never fail everyone's run: a draft whose wanted lines or
totals would not fit their columns is left out of the run (its wanted lines are dropped, so the
merge removes the tenant's draft for the month) and the run names it in its `error`; issuing
such a draft is refused. One query finds them, over every tenant at once.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Sum

from accounts.actors import acting_user
from accounts.models import Tenant
from billing import outbox
from billing.choices import CARD_MINUTES, ClaimStatus, CreditReason, InvoiceStatus, RunStatus
from billing.models import (
    CreditNote,
    Invoice,
    InvoiceLine,
    InvoiceRun,
    InvoiceRunBatch,
    Payment,
    VoucherClaim,
    VoucherGrant,
    VoucherRedemption,
)
from billing.parties import invoice_parties_freeze, seller_check
from billing.pricebook import builtin_metric_id
from billing.rules import usage_billable_sql
from billing.services.metering import month_meter, short_leases_meter
from billing.services.vouchers import vouchers_apply, vouchers_preview_by_grant
from core import clock
from core.actors import Actor
from core.audit import audit_record, snapshot
from core.exceptions import InvalidInput, InvalidState
from core.money import round_money
from core.queue import QUEUE_DOWN, enqueue_nudge, queue_check
from core.runs import (
    chunks_hand_out,
    chunks_help,
    chunks_work,
    run_claim,
    runs_close_abandoned,
    runs_to_redo,
)
from events.choices import EventType
from leasing.terms import month_share_sql

logger = logging.getLogger(__name__)

# A long lease's fee over its days of the month (the proration rule, leasing.terms).
_LONG_FEE_SQL = month_share_sql("l.unit_price", "l.card_count", "d.last - d.first", "%(dim)s")

# What a month bills, line by line: the invoice run's lines below and the spend-limit pass
# (billing.services.spend) are both built from these, so the pricing rule is in one place.
# Parameters: tz, ms/me (the month's instants), ms_date/me_date, dim, card_minutes.
# A long lease `l` (with `d`: its first and last operator-local day in the month, end excluded)
# bills a month it is active in, unless cancelled: `LONG_FEE_AMOUNT_SQL`.
LONG_FEE_DAYS_SQL = """CROSS JOIN LATERAL (
        SELECT GREATEST((l.start AT TIME ZONE %(tz)s)::date, %(ms_date)s::date) AS first,
               LEAST((l."end" AT TIME ZONE %(tz)s)::date, %(me_date)s::date) AS last
    ) d"""
LONG_FEE_BILLED_SQL = """l.kind = 'long' AND l.status <> 'cancelled'
      AND l.start < %(me)s AND l."end" > %(ms)s AND d.last > d.first"""
LONG_FEE_AMOUNT_SQL = f"round({_LONG_FEE_SQL}, 2)"
# A lease `l` terminated early bills its termination fee in the month of its effective day.
TERMINATION_FEE_BILLED_SQL = """l.termination_fee IS NOT NULL
      AND l.terminated_on >= %(ms_date)s AND l.terminated_on < %(me_date)s"""
# Usage `u` (summed per lease and metric) of lease `l` and metric `m`: held card-minutes at the
# lease's hourly rate, other metrics at their price; each line rounded to the fen.
USAGE_AMOUNT_SQL = """CASE WHEN u.metric_id = %(card_minutes)s
                THEN round(u.quantity * l.unit_price / 60, 2)
                ELSE round(u.quantity * m.unit_price, 2) END"""


def _in_batch(column: str) -> str:
    """SQL: `column` (a tenant id) lies in the batch's range `[lo, hi)` (null bounds: open)."""
    return (
        f"(%(lo)s::bigint IS NULL OR {column} >= %(lo)s::bigint)"
        f" AND (%(hi)s::bigint IS NULL OR {column} < %(hi)s::bigint)"
    )


# Wanted lines of every draft of the month (of a batch's tenants). Parameters: tz, ms/me
# (instants), ms_date/me_date, dim (days in month), month (first day), card_minutes (metric id),
# lo/hi (the batch's tenant ids).
_WANTED_LINES_SQL = f"""
CREATE TEMP TABLE billing_wanted_lines ON COMMIT DROP AS
WITH drafts AS MATERIALIZED (
    SELECT id, tenant_id FROM billing_invoice
    WHERE month = %(month)s AND status = 'draft' AND {_in_batch("tenant_id")}
      AND (%(invoice)s::bigint IS NULL OR id = %(invoice)s::bigint)
),
long_fees AS (
    SELECT l.tenant_id, 'long_lease_fee'::text AS kind, l.id AS lease_id, NULL::bigint AS metric_id,
           l.card_model_id, 'long'::text AS lease_kind,
           'Long lease #' || l.id || ' · ' || cm.name || ' × ' || l.card_count AS description,
           round(l.card_count * (d.last - d.first)::numeric / %(dim)s, 6) AS quantity,
           'card-month'::text AS unit, l.unit_price,
           {LONG_FEE_AMOUNT_SQL} AS amount,
           d.first AS period_start, d.last AS period_end, 1 AS sort
    FROM leasing_lease l
    JOIN marketplace_cardmodel cm ON cm.id = l.card_model_id
    {LONG_FEE_DAYS_SQL}
    WHERE {LONG_FEE_BILLED_SQL} AND {_in_batch("l.tenant_id")}
),
usage AS (
    SELECT r.tenant_id, r.lease_id, r.metric_id, r.month, sum(r.quantity) AS quantity
    FROM billing_run_records r
    GROUP BY r.tenant_id, r.lease_id, r.metric_id, r.month
),
usage_lines AS (
    SELECT u.tenant_id,
           CASE WHEN u.month < %(month)s THEN 'prior_period'
                WHEN u.metric_id = %(card_minutes)s THEN 'short_lease_usage'
                ELSE 'metered_usage' END AS kind,
           u.lease_id, u.metric_id, l.card_model_id, l.kind AS lease_kind,
           CASE WHEN u.metric_id = %(card_minutes)s
                THEN 'Short lease #' || l.id || ' · ' || cm.name
                ELSE m.name || ' · lease #' || l.id END
           || CASE WHEN u.month < %(month)s THEN ' (' || to_char(u.month, 'YYYY-MM') || ')'
                   ELSE '' END AS description,
           CASE WHEN u.metric_id = %(card_minutes)s THEN round(u.quantity / 60, 6)
                ELSE u.quantity END AS quantity,
           CASE WHEN u.metric_id = %(card_minutes)s THEN 'card-hour' ELSE m.unit END AS unit,
           CASE WHEN u.metric_id = %(card_minutes)s THEN l.unit_price ELSE m.unit_price END
               AS unit_price,
           {USAGE_AMOUNT_SQL} AS amount,
           u.month AS period_start, (u.month + interval '1 month')::date AS period_end,
           CASE WHEN u.month < %(month)s THEN 5
                WHEN u.metric_id = %(card_minutes)s THEN 2 ELSE 3 END AS sort
    FROM usage u
    JOIN leasing_lease l ON l.id = u.lease_id
    JOIN marketplace_cardmodel cm ON cm.id = l.card_model_id
    JOIN billing_metric m ON m.id = u.metric_id
),
termination_fees AS (
    SELECT l.tenant_id, 'termination_fee'::text, l.id, NULL::bigint, l.card_model_id, 'long'::text,
           'Early termination of lease #' || l.id || ' (50 %% of the remaining commitment)',
           1::numeric, 'fee'::text, l.termination_fee::numeric(14, 4), l.termination_fee,
           l.terminated_on, (l.committed_end AT TIME ZONE %(tz)s)::date, 4
    FROM leasing_lease l
    WHERE {TERMINATION_FEE_BILLED_SQL} AND {_in_batch("l.tenant_id")}
),
wanted AS MATERIALIZED (
    SELECT * FROM long_fees
    UNION ALL SELECT * FROM usage_lines
    UNION ALL SELECT * FROM termination_fees
)
SELECT d.id AS invoice_id, w.kind, w.lease_id, w.metric_id, w.card_model_id, w.lease_kind,
       w.description, w.quantity, w.unit, w.unit_price, w.amount, w.period_start, w.period_end,
       w.sort
FROM wanted w JOIN drafts d ON d.tenant_id = w.tenant_id
"""

# Usage that this month's run bills: the billable-usage rule (billing.rules), for every tenant.
_RUN_RECORDS_SQL = f"""
CREATE TEMP TABLE billing_run_records ON COMMIT DROP AS
SELECT r.id, r.tenant_id, r.lease_id, r.metric_id, r.quantity, r.month
FROM billing_usagerecord r
JOIN billing_metric m ON m.id = r.metric_id
WHERE {usage_billable_sql("r", "m", "%(month)s")}
  AND (%(tenant)s::bigint IS NULL OR r.tenant_id = %(tenant)s::bigint)
  AND {_in_batch("r.tenant_id")}
"""

# Issuing claims the invoice's usage: the same rule, for one tenant, linked under row locks.
_CLAIM_SQL = f"""
UPDATE billing_usagerecord u SET invoice_id = %(invoice)s
FROM billing_metric m
WHERE m.id = u.metric_id AND u.tenant_id = %(tenant)s
  AND {usage_billable_sql("u", "m", "%(month)s")}
"""

_CLAIMED_RECORDS_SQL = """
CREATE TEMP TABLE billing_run_records ON COMMIT DROP AS
SELECT r.id, r.tenant_id, r.lease_id, r.metric_id, r.quantity, r.month
FROM billing_usagerecord r WHERE r.invoice_id = %(invoice)s
"""

_ENSURE_DRAFTS_SQL = f"""
INSERT INTO billing_invoice
    (tenant_id, month, status, currency, subtotal, tax_rate, tax, voucher_deduction, amount_due,
     payment_reference, void_reason, created_at, updated_at)
SELECT t.tenant_id, %(month)s, 'draft', %(currency)s, 0, %(vat)s, 0, 0, 0, '', '', %(now)s, %(now)s
FROM (
    SELECT l.tenant_id FROM leasing_lease l
    WHERE l.kind = 'long' AND l.status <> 'cancelled' AND l.start < %(me)s AND l."end" > %(ms)s
      AND {_in_batch("l.tenant_id")}
    UNION
    SELECT l.tenant_id FROM leasing_lease l
    WHERE l.termination_fee IS NOT NULL
      AND l.terminated_on >= %(ms_date)s AND l.terminated_on < %(me_date)s
      AND {_in_batch("l.tenant_id")}
    UNION
    SELECT r.tenant_id FROM billing_run_records r
) t
WHERE NOT EXISTS (
    SELECT 1 FROM billing_invoice i
    WHERE i.tenant_id = t.tenant_id AND i.month = %(month)s AND i.status <> 'void'
)
ORDER BY t.tenant_id
ON CONFLICT DO NOTHING
"""


def _column_bound(model: Any, name: str) -> Decimal:
    """The magnitude a decimal column cannot reach: 10^(digits before the point)."""
    column = model._meta.get_field(name)
    return Decimal(10) ** (column.max_digits - column.decimal_places)


LINE_AMOUNT_BOUND = _column_bound(InvoiceLine, "amount")
LINE_QUANTITY_BOUND = _column_bound(InvoiceLine, "quantity")
INVOICE_AMOUNT_BOUND = min(
    _column_bound(Invoice, name) for name in ("subtotal", "tax", "amount_due")
)

# Drafts whose wanted lines or totals would not fit their columns (numeric field overflow).
_OVERSIZED_SQL = """
SELECT i.tenant_id, t.name, max(abs(w.amount)), max(abs(w.quantity)),
       sum(w.amount) + round(sum(w.amount) * i.tax_rate, 2), w.invoice_id
FROM billing_wanted_lines w
JOIN billing_invoice i ON i.id = w.invoice_id
JOIN accounts_tenant t ON t.id = i.tenant_id
GROUP BY w.invoice_id, i.tenant_id, t.name, i.tax_rate
HAVING max(abs(w.amount)) >= %(line_amount_bound)s
    OR max(abs(w.quantity)) >= %(line_quantity_bound)s
    OR abs(sum(w.amount)) >= %(invoice_amount_bound)s
    OR abs(sum(w.amount) + round(sum(w.amount) * i.tax_rate, 2)) >= %(invoice_amount_bound)s
ORDER BY i.tenant_id
"""


@dataclass(frozen=True)
class SkippedTenant:
    """A tenant left out of a run: its charges would not fit an invoice."""

    tenant_id: int
    name: str
    reason: str

    def __str__(self) -> str:
        return f"tenant {self.tenant_id} ({self.name}): {self.reason}"


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _oversize_reason(*, line_amount: Decimal, line_quantity: Decimal, total: Decimal) -> str:
    largest = _money(INVOICE_AMOUNT_BOUND - Decimal("0.01"))
    if line_amount >= LINE_AMOUNT_BOUND:
        return (
            f"a line amount of {_money(line_amount)} exceeds the largest an invoice line "
            f"holds ({_money(LINE_AMOUNT_BOUND - Decimal('0.01'))})"
        )
    if line_quantity >= LINE_QUANTITY_BOUND:
        return (
            f"a line quantity of {line_quantity:,f} exceeds the largest an invoice line "
            f"holds (below {LINE_QUANTITY_BOUND:,f})"
        )
    return (
        f"the invoice total with VAT, {_money(total)}, exceeds the largest an invoice holds "
        f"({largest})"
    )


def _oversized_drop(cursor: Any) -> list[SkippedTenant]:
    """Find the drafts whose wanted lines would not fit and drop their wanted lines."""
    cursor.execute(
        _OVERSIZED_SQL,
        {
            "line_amount_bound": LINE_AMOUNT_BOUND,
            "line_quantity_bound": LINE_QUANTITY_BOUND,
            "invoice_amount_bound": INVOICE_AMOUNT_BOUND,
        },
    )
    rows = cursor.fetchall()
    if not rows:
        return []
    cursor.execute(
        "DELETE FROM billing_wanted_lines WHERE invoice_id = ANY(%s)", [[row[5] for row in rows]]
    )
    return [
        SkippedTenant(
            tenant_id=tenant_id,
            name=name,
            reason=_oversize_reason(line_amount=amount, line_quantity=quantity, total=total),
        )
        for tenant_id, name, amount, quantity, total, _ in rows
    ]


_LINE_COLUMNS = (
    "invoice_id, kind, lease_id, metric_id, card_model_id, lease_kind, description, quantity, "
    "unit, unit_price, amount, period_start, period_end"
)
_NULLABLE_LINE_COLUMNS = {"lease_id", "metric_id", "card_model_id"}
# `=` where a column is never null, so the planner can hash and use indexes (IS NOT DISTINCT FROM
# can do neither); IS NOT DISTINCT FROM only where NULL must equal NULL.
_SAME_LINE = " AND ".join(
    f"il.{c} IS NOT DISTINCT FROM w.{c}" if c in _NULLABLE_LINE_COLUMNS else f"il.{c} = w.{c}"
    for c in _LINE_COLUMNS.split(", ")
)

_MERGE_SQL = [
    # Remove draft lines that are no longer wanted exactly as they are.
    f"""
    DELETE FROM billing_invoiceline il
    USING billing_invoice i
    WHERE il.invoice_id = i.id AND i.month = %(month)s AND i.status = 'draft'
      AND {_in_batch("i.tenant_id")}
      AND (%(invoice)s::bigint IS NULL OR i.id = %(invoice)s::bigint)
      AND NOT EXISTS (SELECT 1 FROM billing_wanted_lines w WHERE {_SAME_LINE})
    """,
    # Add wanted lines that are missing, in a stable order.
    f"""
    INSERT INTO billing_invoiceline ({_LINE_COLUMNS})
    SELECT {_LINE_COLUMNS} FROM billing_wanted_lines w
    WHERE NOT EXISTS (SELECT 1 FROM billing_invoiceline il WHERE {_SAME_LINE})
    ORDER BY invoice_id, sort, lease_id, period_start, metric_id
    """,
    # Refresh totals where they differ.
    f"""
    UPDATE billing_invoice i SET subtotal = t.subtotal,
           tax = round(t.subtotal * i.tax_rate, 2),
           amount_due = t.subtotal + round(t.subtotal * i.tax_rate, 2),
           updated_at = %(now)s
    FROM (
        SELECT i2.id, coalesce(sum(il.amount), 0) AS subtotal
        FROM billing_invoice i2
        LEFT JOIN billing_invoiceline il ON il.invoice_id = i2.id
        WHERE i2.month = %(month)s AND i2.status = 'draft' AND {_in_batch("i2.tenant_id")}
          AND (%(invoice)s::bigint IS NULL OR i2.id = %(invoice)s::bigint)
        GROUP BY i2.id
    ) t
    WHERE i.id = t.id AND (i.subtotal, i.amount_due) IS DISTINCT FROM
          (t.subtotal, t.subtotal + round(t.subtotal * i.tax_rate, 2))
    """,
    # Drafts left with nothing to bill go away.
    f"""
    DELETE FROM billing_invoice i
    WHERE i.month = %(month)s AND i.status = 'draft' AND %(invoice)s::bigint IS NULL
      AND {_in_batch("i.tenant_id")}
      AND NOT EXISTS (SELECT 1 FROM billing_invoiceline il WHERE il.invoice_id = i.id)
    """,
]


def _run_params(month: dt.date) -> dict[str, Any]:
    ms, me = clock.month_bounds(month)
    return {
        "month": month,
        "ms": ms,
        "me": me,
        "ms_date": month,
        "me_date": clock.next_month_first(month),
        "dim": clock.days_in_month(month),
        "tz": settings.OPERATOR_TIME_ZONE,
        "currency": settings.CURRENCY,
        "vat": settings.VAT_RATE,
        "now": clock.now(),
        "invoice": None,
        "tenant": None,
        "lo": None,  # a batch's tenants: [lo, hi)
        "hi": None,
        "card_minutes": builtin_metric_id(CARD_MINUTES),
    }


def _lines_build(cursor: Any, params: dict[str, Any], *, records_sql: str) -> list[SkippedTenant]:
    """Compute the wanted lines (of every draft of the month, or of `params["invoice"]`) from
    the records `records_sql` selects, and merge them into the drafts with their totals.
    Drafts whose lines or totals would not fit lose their wanted lines (so the run deletes
    them): their tenants are returned."""
    cursor.execute("SET LOCAL jit = off")
    # The billable rule probes each record's tenant's invoice of its month: with the invoice
    # table's statistics behind its rows (a month's drafts just created, not yet analysed), the
    # planner merged on the month alone, which every draft shares, and compared 312 M pairs
    # (39 s for 1,000 tenants at 30,000 cards; 0.13 s hashed on tenant and month).
    cursor.execute("SET LOCAL enable_mergejoin = off")
    # ON COMMIT DROP tables outlive a build nested in a larger transaction: start clean.
    cursor.execute("DROP TABLE IF EXISTS billing_run_records, billing_wanted_lines")
    cursor.execute(records_sql, params)
    cursor.execute("ANALYZE billing_run_records")
    if params["invoice"] is None:
        cursor.execute(_ENSURE_DRAFTS_SQL, params)
    cursor.execute(_WANTED_LINES_SQL, params)
    skipped = _oversized_drop(cursor)
    for statement in _MERGE_SQL:
        cursor.execute(statement, params)
    # the build's planner settings end with it, not with the caller's transaction (an invoice
    # issued goes on to write its number, payments, events…)
    cursor.execute("SET LOCAL jit TO DEFAULT; SET LOCAL enable_mergejoin TO DEFAULT")
    return skipped


def _usage_claim(invoice: Invoice) -> None:
    """Link the usage this draft bills and rebuild its lines from exactly those records."""
    params = _run_params(invoice.month)
    params.update(invoice=invoice.pk, tenant=invoice.tenant_id)
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, params)
        skipped = _lines_build(cursor, params, records_sql=_CLAIMED_RECORDS_SQL)
    if skipped:
        # raised inside the issuing transaction: the claim and the rebuilt lines roll back
        raise InvalidState(
            f"This invoice cannot be issued: {skipped[0].reason}. "
            "Correct the tenant's usage records first.",
            code="invoice_too_large",
        )
    invoice.refresh_from_db()


def invoice_run_check(month: dt.date) -> None:
    """A run bills a month that has begun (drafts of the running month are previews)."""
    if clock.month_first(month) > clock.local_today():
        raise InvalidInput(
            f"{month:%Y-%m} has not begun; nothing can be billed for it yet.",
            fields={"month": ["In the future."]},
        )


# a run takes seconds; a queued or running one silent this long has lost its worker
RUN_STALE_AFTER = dt.timedelta(minutes=30)
RUN_FAILED_MESSAGE = (
    "The run failed; the drafts of the tenants it had not finished are as they were. "
    "The cause is in the server log."
)


def _skipped_message(month: dt.date, skipped: list[SkippedTenant]) -> str:
    """The run's `error` when it is done but left tenants out: for finance, one per line."""
    if not skipped:
        return ""
    heading = (
        f"{len(skipped)} tenant(s) have no draft for {month:%Y-%m}: their charges do not fit "
        "an invoice. Correct their usage records and run the month again."
    )
    return "\n".join([heading, *(f"- {tenant}" for tenant in skipped)])


METERED_ANALYZE_AFTER = 10_000  # records the run's meter wrote


def _month_lock_key(month: dt.date) -> int:
    return month.year * 100 + month.month


def _batches_plan(run: InvoiceRun) -> None:
    """Split the run's tenants into batches of INVOICE_RUN_BATCH_TENANTS tenant ids (ranges
    aligned to multiples of it, the last open-ended so tenants added since are in it), and queue
    helpers for other `billing` workers once they commit. A run redone keeps its batches (those
    done stay done). Inside a caller's transaction (a request with an Idempotency-Key) nobody
    else could see the batches: this worker does them all."""
    if InvoiceRunBatch.objects.filter(run=run).exists():
        return
    size = settings.INVOICE_RUN_BATCH_TENANTS
    alone = connection.in_atomic_block
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT DISTINCT id / %s FROM accounts_tenant ORDER BY 1", [size])
            buckets = [row[0] for row in cursor.fetchall()]
        InvoiceRunBatch.objects.bulk_create(
            (
                InvoiceRunBatch(
                    run=run,
                    tenant_from=bucket * size,
                    tenant_to=None if bucket == buckets[-1] else (bucket + 1) * size,
                )
                for bucket in buckets
            ),
            ignore_conflicts=True,  # the same run planned twice at once: one set of batches
        )
        helpers = min(len(buckets) - 1, settings.INVOICE_RUN_HELPERS)
        if helpers > 0 and not alone:
            chunks_hand_out("billing.run_invoice_batches", run.pk, helpers)


def _batch_build(run: InvoiceRun, batch: InvoiceRunBatch) -> None:
    """Create or refresh the drafts of the batch's tenants, in one transaction (a worker killed
    half-way leaves the batch as it was, for another to take). Under the month's lock, shared by
    its batches (they build side by side; a session holding it alone holds them all back), and
    the batch's own: two runs of a month never build one range at once, the second waits and
    then finds nothing to change. The tenants it leaves out are recorded on the batch."""
    month = run.month
    params = _run_params(month)
    params.update(lo=batch.tenant_from, hi=batch.tenant_to)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock_shared(hashtext('billing.invoice_run'), %s)",
            [_month_lock_key(month)],
        )
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"billing.invoice_run:{month:%Y-%m}:{batch.tenant_from}"],
        )
        skipped = _lines_build(cursor, params, records_sql=_RUN_RECORDS_SQL)
        InvoiceRunBatch.objects.filter(pk=batch.pk).update(
            skipped=[[tenant.tenant_id, tenant.name, tenant.reason] for tenant in skipped]
        )


def _batches_skipped(run: InvoiceRun) -> list[SkippedTenant]:
    return sorted(
        (
            SkippedTenant(tenant_id=tenant_id, name=name, reason=reason)
            for skipped in InvoiceRunBatch.objects.filter(run=run).values_list("skipped", flat=True)
            for tenant_id, name, reason in skipped
        ),
        key=lambda tenant: tenant.tenant_id,
    )


def invoice_run(
    *, month: dt.date, actor: Actor = None, run: InvoiceRun | None = None
) -> InvoiceRun:
    """Meter the month's short leases, then build its drafts a batch of tenants at a time;
    recorded as an InvoiceRun.

    The run row is owned by this session (core.runs): runs whose worker died are closed as
    failed first, and a redelivered run (`run` given, whatever its status) runs again, doing
    the batches not yet done. Batches are handed out (core.runs chunks): other `billing`
    workers take open ones, this worker takes what is left and any whose taker died. A batch
    builds its tenants' drafts as the whole month at once would (the statements are the same,
    bounded to its tenants); a run is idempotent.
    """
    month = clock.month_first(month)
    invoice_run_check(month)
    runs_close_abandoned(model=InvoiceRun, stale_after=RUN_STALE_AFTER)
    run = run or InvoiceRun.objects.create(month=month)
    run_claim(run)
    run.refresh_from_db()
    try:
        if month_meter(month) >= METERED_ANALYZE_AFTER:
            # the batches pick their tenants' records by the ledger's statistics: a month
            # metered in bulk (the meter's beat was away) is counted before they plan
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE billing_usagerecord")
        _batches_plan(run)
        chunks_work(
            InvoiceRunBatch,
            run,
            lambda batch: _batch_build(run, batch),
            stale_after=RUN_STALE_AFTER,
        )
        skipped = _batches_skipped(run)
        run.invoices = Invoice.objects.filter(month=month, status=InvoiceStatus.DRAFT).count()
        run.error = _skipped_message(month, skipped)
        run.status = RunStatus.DONE
        for tenant in skipped:
            logger.warning("invoice run %s for %s skipped %s", run.pk, month, tenant)
    except Exception:
        # the cause goes to the log, never to API clients
        logger.exception("invoice run %s for %s failed", run.pk, month)
        run.status = RunStatus.FAILED
        run.error = RUN_FAILED_MESSAGE
    run.finished_at = clock.now()
    run.save(update_fields=["invoices", "status", "error", "finished_at", "updated_at"])
    audit_record(actor=actor, action="invoice_run.finish", instance=run, after=snapshot(run))
    return run


def invoice_batches_help(run_id: int) -> int:
    """Another `billing` worker's help with a running invoice run: build its batches nobody has
    until none is left (how many it built). A batch that fails is let go at once, for the run's
    worker to take again."""
    run = InvoiceRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).first()
    if run is None:
        return 0
    return chunks_help(
        InvoiceRunBatch, run.pk, lambda batch: _batch_build(run, batch), stale_after=RUN_STALE_AFTER
    )


def invoice_runs_recover() -> list[InvoiceRun]:
    """Run again, each on its own row, the invoice runs whose worker died
    (core.runs.runs_to_redo): beat runs it every minute and every worker as it starts, so a
    killed worker's run is done long before the broker would hand its task back. Returns the
    runs redone."""
    redone = []
    for run_id in runs_to_redo(model=InvoiceRun, stale_after=RUN_STALE_AFTER):
        run = InvoiceRun.objects.get(pk=run_id)
        logger.warning("redoing invoice run %s for %s whose worker died", run.pk, run.month)
        redone.append(invoice_run(month=run.month, run=run))
    return redone


def invoice_run_start(*, month: dt.date, actor: Actor = None) -> InvoiceRun:
    """Start the month's run on a worker: the `running` row now, the task once it commits.

    ServiceUnavailable (503), with nothing recorded, when no worker could be reached; a broker
    lost between that check and the commit closes the run as failed (`_invoice_run_enqueue`).
    """
    month = clock.month_first(month)
    invoice_run_check(month)
    queue_check()
    run = InvoiceRun.objects.create(month=month)
    audit_record(actor=actor, action="invoice_run.start", instance=run, after=snapshot(run))
    run_id = run.pk
    transaction.on_commit(lambda: _invoice_run_enqueue(run_id))
    return run


def _invoice_run_enqueue(run_id: int) -> None:
    """Hand a committed run to a worker (the task by name: billing.tasks imports this module);
    if the broker went away since the check, the run is closed as failed rather than left
    `running` with no worker coming."""
    if not enqueue_nudge("billing.run_invoices", run_id):
        InvoiceRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
            status=RunStatus.FAILED, error=QUEUE_DOWN, finished_at=clock.now()
        )


# --- The running month's preview ---

_PREVIEW_DRAFT_SQL = """
INSERT INTO billing_invoice
    (tenant_id, month, status, currency, subtotal, tax_rate, tax, voucher_deduction, amount_due,
     payment_reference, void_reason, created_at, updated_at)
VALUES (%(tenant)s, %(month)s, 'draft', %(currency)s, 0, %(vat)s, 0, 0, 0, '', '', %(now)s, %(now)s)
ON CONFLICT DO NOTHING
"""


@dataclass(frozen=True)
class InvoicePreview:
    """What the tenant's invoice for a month says if the month is billed now: its lines (with
    their lease, metric and card model), totals and the vouchers issuing would apply. Nothing
    of it is stored."""

    month: dt.date
    as_of: dt.datetime
    invoice: Invoice | None  # None: nothing to bill
    lines: list[InvoiceLine]
    vouchers: list[tuple[VoucherGrant, Decimal]]
    voucher_deduction: Decimal
    amount_due: Decimal
    billed: bool  # the month's invoice is issued already: these are its frozen figures

    @property
    def subtotal(self) -> Decimal:
        return self.invoice.subtotal if self.invoice is not None else Decimal("0.00")

    @property
    def tax(self) -> Decimal:
        return self.invoice.tax if self.invoice is not None else Decimal("0.00")


def invoice_preview(*, tenant: Tenant, month: dt.date | None = None) -> InvoicePreview:
    """The tenant's invoice for `month` (default: the running one) as billing it now would
    make it: its short leases metered to the minute now, then its draft's lines and totals
    built by the invoice run's own statements, and the vouchers by the issuing rule
    (`vouchers_preview_by_grant`). Done in a savepoint rolled back at the end: nothing is
    stored, no record is claimed, no grant redeemed; another session sees none of it."""
    now = clock.now()
    month = clock.month_first(month or clock.local_date(now))
    invoice_run_check(month)
    params = _run_params(month)
    params.update(tenant=tenant.pk, now=now)
    with transaction.atomic():
        ms, me = clock.month_bounds(month)
        short_leases_meter(since=ms, until=min(me, now), tenant_id=tenant.pk, to_now=True)
        with connection.cursor() as cursor:
            cursor.execute(_PREVIEW_DRAFT_SQL, params)
        invoice = (
            Invoice.objects.filter(tenant=tenant, month=month)
            .exclude(status=InvoiceStatus.VOID)
            .first()
        )
        billed = invoice is not None and invoice.status != InvoiceStatus.DRAFT
        if invoice is not None and not billed:
            params["invoice"] = invoice.pk
            with connection.cursor() as cursor:
                skipped = _lines_build(cursor, params, records_sql=_RUN_RECORDS_SQL)
            invoice.refresh_from_db()
            if skipped:
                invoice = None
        lines = (
            list(invoice.lines.select_related("lease", "metric", "card_model").order_by("id"))
            if invoice is not None
            else []
        )
        vouchers: list[tuple[VoucherGrant, Decimal]] = []
        if invoice is not None and not billed:
            vouchers = vouchers_preview_by_grant(invoice=invoice, lines=lines)
        transaction.set_rollback(True)
    if invoice is not None and not lines:
        invoice = None
    deduction = (
        invoice.voucher_deduction
        if billed and invoice is not None
        else sum((amount for _, amount in vouchers), Decimal("0.00"))
    )
    amount_due = (
        invoice.subtotal + invoice.tax - deduction if invoice is not None else Decimal("0.00")
    )
    return InvoicePreview(
        month=month,
        as_of=now,
        invoice=invoice,
        lines=lines,
        vouchers=vouchers,
        voucher_deduction=deduction,
        amount_due=amount_due,
        billed=billed,
    )


# --- Issue, pay, void ---


def _next_number(series: str, year: int) -> str:
    """Gapless per series and year: an upserted counter row, locked until commit."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO billing_documentcounter (series, year, last) VALUES (%s, %s, 1)
            ON CONFLICT (series, year)
            DO UPDATE SET last = billing_documentcounter.last + 1
            RETURNING last
            """,
            [series, year],
        )
        (number,) = cursor.fetchone()
    return f"{series}-{year}-{number:06d}"


def _locked_invoice(invoice: Invoice) -> Invoice:
    return Invoice.objects.select_for_update().get(pk=invoice.pk)


@transaction.atomic
def invoice_issue(*, actor: Actor, invoice: Invoice) -> Invoice:
    """Number the draft, apply the tenant's vouchers and freeze the totals (and the parties:
    refused, before anything is written, while the seller is not configured)."""
    seller_check()
    invoice = _locked_invoice(invoice)
    if invoice.status != InvoiceStatus.DRAFT:
        raise InvalidState(f"Only drafts are issued; this invoice is {invoice.status}.")
    now = clock.now()
    if now < clock.month_bounds(invoice.month)[1]:
        raise InvalidState(
            f"{invoice.month:%Y-%m} has not ended: invoices are issued in arrears, "
            "once the month is over."
        )
    before = snapshot(invoice)
    _usage_claim(invoice)
    invoice.number = _next_number("INV", clock.local_date(now).year)
    invoice.voucher_deduction = vouchers_apply(invoice=invoice)
    invoice.amount_due = invoice.subtotal + invoice.tax - invoice.voucher_deduction
    invoice.status = InvoiceStatus.ISSUED
    invoice.issued_at = now
    invoice_parties_freeze(invoice)
    invoice.save()
    audit_record(
        actor=actor,
        action="invoice.issue",
        instance=invoice,
        before=before,
        after=snapshot(invoice),
    )
    outbox.invoice_event(EventType.INVOICE_ISSUED, invoice)
    outbox.grants_low_balance(invoice.redemptions.values_list("grant_id", flat=True))
    return invoice


# --- Payments ---


def _credited(invoice: Invoice) -> Decimal:
    return invoice.credit_notes.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")


def invoice_balance(invoice: Invoice, *, credited: Decimal | None = None) -> Decimal:
    """What is still to be paid: amount due − credited − paid (below zero: owed back)."""
    if credited is None:
        credited = _credited(invoice)
    return invoice.amount_due - credited - invoice.amount_paid


@transaction.atomic
def invoice_pay(
    *,
    actor: Actor,
    invoice: Invoice,
    paid_on: dt.date | None,
    reference: str,
    amount: Any = None,
) -> Invoice:
    """Record a payment of an issued invoice: `amount` (default: the whole balance) on
    `paid_on` (default: today). Several may settle one invoice; the one that brings the
    balance to zero makes it `paid`, its date and reference the invoice's `paid_on` and
    `payment_reference`. A payment above the balance is refused; the invoice's row is locked,
    and the database refuses payments beyond the balance however they race."""
    invoice = _locked_invoice(invoice)
    if invoice.status != InvoiceStatus.ISSUED:
        raise InvalidState(f"Only issued invoices are paid; this one is {invoice.status}.")
    if paid_on is not None and paid_on > clock.local_today():
        raise InvalidInput("paid_on is in the future.", fields={"paid_on": ["After today."]})
    if paid_on is not None and invoice.issued_at and paid_on < clock.local_date(invoice.issued_at):
        raise InvalidInput(
            "paid_on is before the invoice was issued.", fields={"paid_on": ["Before issue."]}
        )
    credited = _credited(invoice)
    balance = invoice_balance(invoice, credited=credited)
    amount = balance if amount is None else round_money(amount)
    if balance <= 0:
        raise InvalidInput(
            "Nothing is left to pay on this invoice.",
            code="over_balance",
            fields={"amount": ["The balance is 0.00."]},
        )
    if amount <= 0:
        raise InvalidInput("amount must be positive.", fields={"amount": ["Not positive."]})
    if amount > balance:
        raise InvalidInput(
            f"A payment of {amount} is above the invoice's balance of {balance}.",
            code="over_balance",
            fields={"amount": [f"At most {balance}."]},
        )
    before = snapshot(invoice)
    payment = Payment.objects.create(
        invoice=invoice,
        amount=amount,
        paid_on=paid_on or clock.local_today(),
        reference=reference,
        created_by=acting_user(actor),
    )
    invoice.refresh_from_db(fields=["amount_paid"])  # the trigger added the payment
    if invoice_balance(invoice, credited=credited) <= 0:
        _settle(invoice, payment)
    audit_record(
        actor=actor,
        action="invoice.pay",
        instance=invoice,
        before=before,
        after={**(snapshot(invoice) or {}), "payment": snapshot(payment)},
    )
    return invoice


def _settle(invoice: Invoice, payment: Payment | None) -> None:
    """The balance reached zero: the invoice is paid, on the settling payment's day."""
    invoice.status = InvoiceStatus.PAID
    if payment is not None:
        invoice.paid_on = payment.paid_on
        invoice.payment_reference = payment.reference
    invoice.save(update_fields=["status", "paid_on", "payment_reference", "updated_at"])
    outbox.invoice_event(EventType.INVOICE_PAID, invoice)


@transaction.atomic
def invoice_void(*, actor: Actor, invoice: Invoice, reason: str) -> Invoice:
    """Void an issued invoice: its number stays used, its vouchers are restored and its usage
    is released so the month can be billed again."""
    invoice = _locked_invoice(invoice)
    if invoice.status != InvoiceStatus.ISSUED:
        raise InvalidState(
            f"Only issued (unpaid) invoices are voided; this one is {invoice.status}."
        )
    if invoice.credit_notes.exists():
        raise InvalidState("This invoice has credit notes; it cannot be voided.")
    if invoice.fapiao_number:
        raise InvalidState(
            f"The tax system issued fapiao {invoice.fapiao_number} for this invoice; it cannot "
            "be voided. Issue a credit note instead (its red fapiao corrects it).",
            code="fapiao_recorded",
        )
    if invoice.amount_paid > 0:
        raise InvalidState(
            "This invoice has payments; it cannot be voided. Correct it with a credit note."
        )
    claimed = (
        VoucherClaim.objects.filter(
            month=invoice.month,
            program__grants__redemptions__invoice=invoice,
            program__grants__redemptions__voided_at__isnull=True,
        )
        .exclude(status=ClaimStatus.DRAFT)
        .values_list("program__name", flat=True)
        .first()
    )
    if claimed is not None:
        raise InvalidState(
            f"Its vouchers are in a claim already submitted to the issuer ({claimed}); "
            "issue a credit note instead."
        )
    before = snapshot(invoice)
    now = clock.now()
    redemptions = list(
        VoucherRedemption.objects.filter(invoice=invoice, voided_at__isnull=True).order_by(
            "grant_id"
        )
    )
    # Lock the grants in primary-key order (as issuing does) before giving their money back.
    list(
        VoucherGrant.objects.select_for_update()
        .filter(pk__in=[r.grant_id for r in redemptions])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for redemption in redemptions:
        VoucherGrant.objects.filter(pk=redemption.grant_id).update(
            redeemed=F("redeemed") - redemption.amount
        )
        redemption.voided_at = now
        redemption.save(update_fields=["voided_at"])
    invoice.usage_records.update(invoice=None)
    invoice.status = InvoiceStatus.VOID
    invoice.voided_at = now
    invoice.void_reason = reason
    invoice.save()
    audit_record(
        actor=actor,
        action="invoice.void",
        instance=invoice,
        before=before,
        after=snapshot(invoice),
        reason=reason,
    )
    outbox.invoice_event(EventType.INVOICE_VOIDED, invoice)
    return invoice


@transaction.atomic
def credit_note_create(
    *,
    actor: Actor,
    invoice: Invoice,
    amount: Any,
    reason: str,
    reason_code: str = CreditReason.ALLOWANCE,
) -> CreditNote:
    """A credit note against an issued or paid invoice, up to what is still uncredited, with its
    red-letter `reason_code` (CreditReason)."""
    if reason_code not in CreditReason.values:
        raise InvalidInput(
            "reason_code is not a red-letter reason.",
            fields={"reason_code": [f"One of {', '.join(CreditReason.values)}."]},
        )
    invoice = _locked_invoice(invoice)
    if invoice.status not in {InvoiceStatus.ISSUED, InvoiceStatus.PAID}:
        raise InvalidState(
            f"Credit notes are for issued or paid invoices; this one is {invoice.status}."
        )
    amount = round_money(amount)
    if amount <= 0:
        raise InvalidInput("amount must be positive.", fields={"amount": ["Not positive."]})
    credited = invoice.credit_notes.aggregate(total=Sum("amount"))["total"] or 0
    uncredited = invoice.amount_due - credited
    if amount > uncredited:
        raise InvalidInput(
            f"Only {uncredited} of this invoice is still uncredited.",
            fields={"amount": [f"At most {uncredited}."]},
        )
    note = CreditNote.objects.create(
        invoice=invoice,
        number=_next_number("CN", clock.local_today().year),
        amount=amount,
        reason=reason,
        reason_code=reason_code,
    )
    if (
        invoice.status == InvoiceStatus.ISSUED
        and invoice.amount_paid > 0
        and invoice.amount_due - credited - amount - invoice.amount_paid <= 0
    ):
        # what was paid and what is credited now cover it: settled by its last payment
        _settle(invoice, invoice.payments.order_by("-id").first())
    audit_record(actor=actor, action="credit_note.create", instance=note, after=snapshot(note))
    outbox.credit_note_event(note)
    return note
