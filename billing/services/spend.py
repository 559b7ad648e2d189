"""Spend limits for short leases (docs/domain.md §Spend limits).

A tenant's spend of the running operator-local month is what its invoice for the month would
charge before tax and vouchers, by the invoice run's rules: the month's long-lease fees in full
(committed, `leasing.terms.month_share_sql` as the run prorates them), termination fees of the
month, and the month's usage records (short leases' held card-minutes at the lease's rate, other
metrics at their price), each line rounded as the invoice rounds it. Short leases' card-minutes
are read straight from their allocations by the meter's own rule (`metering.held_sql`: whole
minutes, to the minute now for running ones), not from the ledger: the ledger holds the same
minutes once metered, but metering the month to now for every budgeted tenant at every pass
cost 0.8–1 s at 2,000 tenants; reading the allocations costs a few milliseconds and writes
nothing.

One pass computes every budgeted tenant's spend in one statement (`spend_rows`);
`spend_evaluate` records the month's notices once each (a unique row per tenant, month, limit,
kind and threshold: a limit changed mid-month warns, and notifies its reaching, against the new
limit; docs/domain.md §Spend limits), emits their events, and stops the running short leases
of tenants at a `stop` limit through the normal stop path (reason `spend_limit`, billed to the
stop minute).
`lease_spend_check` refuses, inside `lease_create`'s (or `lease_renew`'s) transaction, a new short
lease once the limit is reached and a long lease whose committed fee would take spend over it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from accounts.models import Tenant
from billing.choices import CARD_MINUTES
from billing.models import Budget, BudgetAction, BudgetNotice
from billing.pricebook import builtin_metric_id
from billing.services.invoicing import (
    LONG_FEE_AMOUNT_SQL,
    LONG_FEE_BILLED_SQL,
    LONG_FEE_DAYS_SQL,
    TERMINATION_FEE_BILLED_SQL,
    USAGE_AMOUNT_SQL,
)
from billing.services.metering import held_sql
from core import clock
from core.actors import Actor
from core.audit import audit_record, snapshot
from core.exceptions import Conflict, InvalidInput, InvalidState
from core.money import round_money
from core.queue import enqueue_nudge
from events.choices import EventType
from events.services import events_record
from leasing.choices import LeaseKind, LeaseStatus
from leasing.models import Lease

logger = logging.getLogger(__name__)

EVALUATE_TASK = "billing.evaluate_spend"
SPEND_LIMIT_REASON = "spend_limit"
ZERO = Decimal("0.00")

# Every budgeted tenant's spend, hourly burn and burn still to come this month: the month's
# charges priced by the invoice's own line rules (billing.services.invoicing), the usage of the
# month (its records, whatever invoice later bills them; short leases' card-minutes from their
# allocations by the meter's rule, `held_sql`, rather than the ledger). Parameters: tz, to_now,
# ms/me (instants), ms_date/me_date, dim, month, now, card_minutes, tenant (or NULL: all),
# exclude (a lease left out of usage, or NULL).
_SPEND_SQL = f"""
WITH b AS MATERIALIZED (
    SELECT tenant_id, monthly_limit, warn_at, action FROM billing_budget
    WHERE (%(tenant)s::bigint IS NULL OR tenant_id = %(tenant)s::bigint)
),
long_fees AS (
    SELECT l.tenant_id, {LONG_FEE_AMOUNT_SQL} AS amount
    FROM leasing_lease l
    JOIN b ON b.tenant_id = l.tenant_id
    {LONG_FEE_DAYS_SQL}
    WHERE {LONG_FEE_BILLED_SQL}
),
termination_fees AS (
    SELECT l.tenant_id, l.termination_fee AS amount
    FROM leasing_lease l JOIN b ON b.tenant_id = l.tenant_id
    WHERE {TERMINATION_FEE_BILLED_SQL}
),
held AS ({
    held_sql(
        "a.period && tstzrange(%(ms)s, %(me)s, '[)')"
        " AND l.tenant_id IN (SELECT tenant_id FROM b)"
        " AND (%(exclude)s::bigint IS NULL OR l.id <> %(exclude)s::bigint)"
    )
}),
usage AS (
    SELECT r.tenant_id, r.lease_id, r.metric_id, sum(r.quantity) AS quantity
    FROM billing_usagerecord r JOIN b ON b.tenant_id = r.tenant_id
    WHERE r.month = %(month)s AND r.metric_id <> %(card_minutes)s
      AND (%(exclude)s::bigint IS NULL OR r.lease_id IS DISTINCT FROM %(exclude)s::bigint)
    GROUP BY r.tenant_id, r.lease_id, r.metric_id
    UNION ALL  -- short leases' card-minutes of the month, from their allocations
    SELECT tenant_id, lease_id, %(card_minutes)s,
           sum(extract(epoch FROM LEAST(hi, %(me)s) - GREATEST(lo, %(ms)s)) / 60)
    FROM held
    WHERE LEAST(hi, %(me)s) > GREATEST(lo, %(ms)s)
    GROUP BY tenant_id, lease_id
),
usage_amounts AS (
    SELECT u.tenant_id, {USAGE_AMOUNT_SQL} AS amount
    FROM usage u
    JOIN leasing_lease l ON l.id = u.lease_id
    JOIN billing_metric m ON m.id = u.metric_id
    WHERE m.billable
),
charges AS (
    SELECT tenant_id, amount FROM long_fees
    UNION ALL SELECT tenant_id, amount FROM termination_fees
    UNION ALL SELECT tenant_id, amount FROM usage_amounts
),
spent AS (SELECT tenant_id, sum(amount) AS spend FROM charges GROUP BY tenant_id),
burning AS (
    SELECT l.tenant_id, sum(l.card_count * l.unit_price) AS burn,
           sum(l.card_count * l.unit_price
               * extract(epoch FROM LEAST(COALESCE(l."end", %(me)s), %(me)s) - %(now)s)
               / 3600) AS ahead
    FROM leasing_lease l JOIN b ON b.tenant_id = l.tenant_id
    WHERE l.kind = 'short' AND l.status IN ('active', 'reserved')
      AND l.start <= %(now)s AND (l."end" IS NULL OR l."end" > %(now)s)
    GROUP BY l.tenant_id
)
SELECT b.tenant_id, b.monthly_limit, b.warn_at, b.action,
       COALESCE(s.spend, 0), COALESCE(x.burn, 0), COALESCE(x.ahead, 0)
FROM b LEFT JOIN spent s ON s.tenant_id = b.tenant_id
LEFT JOIN burning x ON x.tenant_id = b.tenant_id
ORDER BY b.tenant_id
"""


@dataclass(frozen=True)
class Spend:
    """A budgeted tenant's month so far (CNY, before tax and vouchers)."""

    tenant_id: int
    month: dt.date
    as_of: dt.datetime
    monthly_limit: Decimal
    warn_at: list[Decimal]
    action: str
    spend: Decimal
    burn: Decimal  # per hour, of the running short leases
    ahead: Decimal  # what they cost by the month's end (or their own end) at that rate

    @property
    def remaining(self) -> Decimal:
        return max(self.monthly_limit - self.spend, ZERO)

    @property
    def runway_hours(self) -> Decimal | None:
        """Hours until the limit at the burn (None: nothing burns)."""
        if self.burn <= 0:
            return None
        return (self.remaining / self.burn).quantize(Decimal("0.01"))

    @property
    def projected(self) -> Decimal:
        return round_money(self.spend + self.ahead)

    @property
    def reached(self) -> bool:
        return self.spend >= self.monthly_limit


def spend_rows(
    *,
    tenant_id: int | None = None,
    exclude_lease: int | None = None,
    now: dt.datetime | None = None,
) -> list[Spend]:
    """Spend of the running month of every budgeted tenant (or of one), in one statement."""
    now = now or clock.now()
    month = clock.month_first(clock.local_date(now))
    ms, me = clock.month_bounds(month)
    params: dict[str, Any] = {
        "month": month,
        "ms": ms,
        "me": me,
        "ms_date": month,
        "me_date": clock.next_month_first(month),
        "dim": clock.days_in_month(month),
        "tz": settings.OPERATOR_TIME_ZONE,
        "now": now,
        "card_minutes": builtin_metric_id(CARD_MINUTES),
        "tenant": tenant_id,
        "exclude": exclude_lease,
        "to_now": True,
    }
    with connection.cursor() as cursor:
        cursor.execute(_SPEND_SQL, params)
        rows = cursor.fetchall()
    return [
        Spend(
            tenant_id=tenant,
            month=month,
            as_of=now,
            monthly_limit=limit,
            warn_at=list(warn_at),
            action=action,
            spend=round_money(Decimal(spend)),
            burn=round_money(Decimal(burn)),
            ahead=Decimal(ahead),
        )
        for tenant, limit, warn_at, action, spend, burn, ahead in rows
    ]


def tenant_spend(tenant: Tenant) -> Spend | None:
    """The tenant's spend against its budget (None: no budget, no limit)."""
    rows = spend_rows(tenant_id=tenant.pk)
    return rows[0] if rows else None


# --- Budgets ---


def _warn_at_clean(value: Any) -> list[Decimal]:
    if not isinstance(value, list | tuple):
        raise InvalidInput("warn_at must be a list.", fields={"warn_at": ["Expected a list."]})
    try:
        shares = [Decimal(str(share)) for share in value]
    except ArithmeticError:
        shares = []
    if len(shares) != len(value) or not all(share.is_finite() for share in shares):
        # NaN would not even compare below (a 500): refused with the other non-numbers
        raise InvalidInput(
            "warn_at holds shares of the limit.", fields={"warn_at": ["Numbers only."]}
        )
    if any(not (0 < share <= 1) for share in shares):
        raise InvalidInput(
            "Each warn_at share must be above 0 and at most 1.",
            fields={"warn_at": ["Each share must be in (0, 1]."]},
        )
    if any(share != share.quantize(Decimal("0.0001")) for share in shares):
        raise InvalidInput(
            "warn_at shares have at most 4 decimals.", fields={"warn_at": ["Too precise."]}
        )
    if len(set(shares)) != len(shares):
        raise InvalidInput("warn_at shares must differ.", fields={"warn_at": ["Duplicates."]})
    return sorted(shares)


def budget_of(tenant: Tenant) -> Budget | None:
    return Budget.objects.filter(tenant=tenant).first()


@transaction.atomic
def budget_save(
    *, actor: Actor, tenant: Tenant, data: dict[str, Any], partial: bool = False
) -> Budget:
    """Create or replace (PUT) or change (PATCH) the tenant's budget, then evaluate it."""
    budget = Budget.objects.select_for_update().filter(tenant=tenant).first()
    if budget is None and partial:
        raise InvalidState(
            "No budget yet: PUT one (monthly_limit, warn_at, action).", code="no_budget"
        )
    before = snapshot(budget) if budget is not None else None
    fields: dict[str, Any] = {}
    if not partial or "monthly_limit" in data:
        limit = data.get("monthly_limit")
        if limit is None:
            raise InvalidInput(
                "monthly_limit is required.", fields={"monthly_limit": ["Required."]}
            )
        try:
            limit = Decimal(str(limit))
        except ArithmeticError:
            limit = Decimal("NaN")
        if (
            not limit.is_finite()
            or limit <= 0
            or limit != limit.quantize(Decimal("0.01"))
            or limit >= Decimal("1e12")
        ):
            raise InvalidInput(
                "monthly_limit must be a positive amount in CNY (2 decimals).",
                fields={"monthly_limit": ["A positive amount, at most 2 decimals."]},
            )
        fields["monthly_limit"] = limit
    if not partial or "warn_at" in data:
        fields["warn_at"] = _warn_at_clean(data.get("warn_at", [Decimal("0.5"), Decimal("0.8")]))
    if not partial or "action" in data:
        action = data.get("action", BudgetAction.NOTIFY)
        if action not in BudgetAction.values:
            raise InvalidInput(
                "action must be notify or stop.", fields={"action": ["Unknown action."]}
            )
        fields["action"] = action
    if budget is None:
        budget = Budget.objects.create(tenant=tenant, **fields)
    else:
        for name, value in fields.items():
            setattr(budget, name, value)
        budget.save()
    audit_record(
        actor=actor,
        action="budget.create" if before is None else "budget.update",
        instance=budget,
        before=before,
        after=snapshot(budget),
    )
    transaction.on_commit(lambda: spend_evaluate_soon(tenant.pk))
    return budget


# --- Evaluation ---


def spend_evaluate_soon(tenant_id: int | None = None) -> None:
    """Evaluate after commit, on a worker (lease creation, stop, usage batches)."""
    enqueue_nudge(EVALUATE_TASK, tenant_id)


def _notice_data(row: Spend, kind: str, threshold: Decimal) -> dict[str, Any]:
    return {
        "tenant": row.tenant_id,
        "month": row.month.strftime("%Y-%m"),
        "kind": kind,
        "threshold": str(threshold),
        "monthly_limit": str(row.monthly_limit),
        "spend": str(row.spend),
        "remaining": str(row.remaining),
        "action": row.action,
    }


@dataclass
class Evaluation:
    tenants: int
    notices: int
    stopped: list[int]


@transaction.atomic
def spend_evaluate(*, tenant_id: int | None = None) -> Evaluation:
    """One pass: every budgeted tenant's spend (one statement), the notices it now earns
    recorded once each with their events (one insert each), and, for tenants at a `stop`
    limit, their running short leases stopped (reason `spend_limit`)."""
    if tenant_id is not None and not Budget.objects.filter(tenant_id=tenant_id).exists():
        return Evaluation(tenants=0, notices=0, stopped=[])  # no budget, nothing to evaluate
    # one pass at a time: a concurrent one waits, then finds its notices sent already
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('billing.spend_evaluate'))")
    rows = spend_rows(tenant_id=tenant_id)
    now = clock.now()
    wanted: list[BudgetNotice] = []
    for row in rows:
        ratio = row.spend / row.monthly_limit
        for share in row.warn_at:
            if ratio >= share:
                wanted.append(_notice(row, "warning", share, now))
        if row.reached:
            wanted.append(_notice(row, "reached", Decimal(1), now))
    created = _notices_insert(wanted)
    by_tenant = {row.tenant_id: row for row in rows}
    events_record(
        (
            EventType.SPEND_LIMIT_REACHED if n.kind == "reached" else EventType.SPEND_LIMIT_WARNING,
            n.tenant_id,
            _notice_data(by_tenant[n.tenant_id], n.kind, n.threshold),
        )
        for n in created
    )
    stopping = [row.tenant_id for row in rows if row.reached and row.action == BudgetAction.STOP]
    stopped = _short_leases_stop(stopping) if stopping else []
    return Evaluation(tenants=len(rows), notices=len(created), stopped=stopped)


def _notice(row: Spend, kind: str, threshold: Decimal, now: dt.datetime) -> BudgetNotice:
    return BudgetNotice(
        tenant_id=row.tenant_id,
        month=row.month,
        monthly_limit=row.monthly_limit,
        kind=kind,
        threshold=threshold,
        spend=row.spend,
        at=now,
    )


def _notices_insert(wanted: list[BudgetNotice]) -> list[BudgetNotice]:
    """Insert the notices not sent yet; return those inserted (one statement). A tenant has
    one limit per pass, so (tenant, kind, threshold) names a wanted notice."""
    if not wanted:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO billing_budgetnotice
                (tenant_id, month, monthly_limit, kind, threshold, spend, at)
            SELECT * FROM unnest(%s::bigint[], %s::date[], %s::numeric[], %s::text[],
                                 %s::numeric[], %s::numeric[], %s::timestamptz[])
            ON CONFLICT (tenant_id, month, monthly_limit, kind, threshold) DO NOTHING
            RETURNING tenant_id, kind, threshold
            """,
            [
                [n.tenant_id for n in wanted],
                [n.month for n in wanted],
                [n.monthly_limit for n in wanted],
                [n.kind for n in wanted],
                [n.threshold for n in wanted],
                [n.spend for n in wanted],
                [n.at for n in wanted],
            ],
        )
        inserted = {(tenant, kind, Decimal(threshold)) for tenant, kind, threshold in cursor}
    return [n for n in wanted if (n.tenant_id, n.kind, n.threshold) in inserted]


def _short_leases_stop(tenant_ids: list[int]) -> list[int]:
    """Stop the running short leases of these tenants through the normal stop path.

    Locked as they are selected (in id order): a lease that a concurrent stop (the tenant's own,
    or an evaluation's) is ending is waited for and then left out, since the locking read
    re-checks it, rather than failing this pass, and with it every tenant's notices."""
    from leasing.services import lease_stop  # leasing's services call back into this module

    now = clock.now()
    leases = (
        Lease.objects.select_for_update()
        .filter(
            tenant_id__in=tenant_ids,
            kind=LeaseKind.SHORT,
            status__in=[LeaseStatus.ACTIVE, LeaseStatus.RESERVED],
            start__lte=now,
        )
        .exclude(end__lte=now)
        .order_by("pk")
    )
    stopped = []
    for lease in leases:
        lease_stop(actor=None, lease=lease, reason=SPEND_LIMIT_REASON)
        stopped.append(lease.pk)
    return stopped


def lease_spend_check(lease: Lease) -> bool:
    """Inside `lease_create`'s (or `lease_renew`'s) transaction, the lease written: refuse it
    (409 `spend_limit_reached`, the transaction rolls back) when the tenant's `stop` limit is
    reached (a short lease), or when its committed fee would take spend over it (a long lease).
    The budget row is locked, so concurrent creations of a tenant are checked one by one.
    Returns whether the tenant has a budget (to evaluate after commit)."""
    budget = Budget.objects.select_for_update().filter(tenant_id=lease.tenant_id).first()
    if budget is None:
        return False
    if budget.action != BudgetAction.STOP:
        return True
    short = lease.kind == LeaseKind.SHORT
    rows = spend_rows(tenant_id=lease.tenant_id, exclude_lease=lease.pk if short else None)
    row = rows[0]
    over = row.reached if short else row.spend > row.monthly_limit
    if over:
        raise Conflict(
            f"The monthly spend limit of ¥{row.monthly_limit} is "
            + ("reached" if short else "too low for this lease's fee this month")
            + f" (spend so far ¥{row.spend}): raise the limit, or wait for the month to turn.",
            code="spend_limit_reached",
            extra={"spend": str(row.spend), "monthly_limit": str(row.monthly_limit)},
        )
    return True
