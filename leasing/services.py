"""Writes for leases: create, stop, terminate, renew, cancel, time-driven transitions, card swap.

Allocation is serialised per card model with a transaction-level advisory lock, so concurrent
requests for the same cards queue rather than collide: exactly as many succeed as fit. The
exclusion constraint on allocations stays the database's guarantee against double booking.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.db import connection, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.db.models import F, Func, Q, Value

from accounts.actors import acting_user
from accounts.models import Tenant
from core import clock
from core.actors import Actor
from core.audit import audit_record, snapshot
from core.exceptions import Forbidden, InvalidInput, InvalidState, NoCapacity
from core.money import fraction_to_money
from core.permissions import user_role
from core.queue import enqueue_nudge
from core.roles import Role
from events.choices import EventType
from events.services import events_record
from leasing.api.serializers import lease_payload_created, lease_payloads
from leasing.choices import LeaseKind, LeaseStatus
from leasing.models import Allocation, Lease, LeaseEvent
from leasing.terms import (
    LONG_TERMS,
    lease_window,
    long_lease_monthly_fee,
    long_lease_value,
    minute_ceil,
    short_lease_window,
)
from marketplace.choices import CardStatus
from marketplace.models import Card, CardModel, Site
from marketplace.selectors import choose_placement, free_cards_by_server, placement_find

logger = logging.getLogger(__name__)

TERMINATION_FEE_SHARE = Fraction(1, 2)


def _lock_card_model(card_model_id: int) -> None:
    """Serialise allocation of one card model until the transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('leasing.allocate', %s))",
            [card_model_id],
        )


def _event(
    lease: Lease,
    *,
    actor: Actor,
    at: dt.datetime,
    from_status: str,
    to_status: str,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> LeaseEvent:
    return LeaseEvent.objects.create(
        lease=lease,
        at=at,
        actor=acting_user(actor),
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        data=data or {},
    )


def _emit(event_type: EventType, lease_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Record `event_type` for each lease in the caller's transaction (the outbox: a rolled-back
    change emits nothing), its `data` the lease as the API shows it after the change; returns
    those payloads by lease id."""
    payloads = lease_payloads(lease_ids)
    events_record((event_type, payloads[pk]["tenant"], payloads[pk]) for pk in lease_ids)
    return payloads


def _audit(actor: Actor, action: str, lease: Lease, before: dict[str, Any] | None) -> None:
    audit_record(actor=actor, action=action, instance=lease, before=before, after=snapshot(lease))


def _fleet_check(card_model: CardModel, site: Site | None, card_count: int) -> None:
    """NoCapacity when the request is more than the installed cards of the model (at the site):
    asked only once placement has failed, to say why."""
    cards = Card.objects.installed().filter(card_model=card_model)
    if site is not None:
        cards = cards.filter(server__rack__site=site)
    fleet = cards.count()
    if card_count > fleet:
        raise NoCapacity(
            f"card_count {card_count} is more than the {fleet} installed card(s) of this model"
            + (" at this site." if site else "."),
            fields={"card_count": [f"At most {fleet}."]},
        )


def _allocate(
    lease: Lease, card_ids: list[int], start: dt.datetime, end: dt.datetime | None
) -> None:
    Allocation.objects.bulk_create(
        Allocation(lease=lease, card_id=card_id, period=DateTimeTZRange(start, end, "[)"))
        for card_id in card_ids
    )


# --- Create ---


@transaction.atomic
def lease_create(
    *,
    actor: Actor,
    tenant: Tenant,
    kind: LeaseKind,
    card_model: CardModel,
    card_count: int,
    site: Site | None = None,
    start: dt.datetime | dt.date | None = None,
    end: dt.datetime | None = None,
    term_months: int | None = None,
) -> Lease:
    """Take a long or short lease: validate, place, allocate all-or-nothing, freeze the price."""
    now = clock.now()
    if not card_model.is_active:
        raise InvalidInput(
            "This card model is no longer offered.", fields={"card_model": ["Retired model."]}
        )
    if card_count < 1:
        raise InvalidInput("card_count must be at least 1.", fields={"card_count": ["Too small."]})
    lease_end: dt.datetime | None
    if kind == LeaseKind.LONG:
        lease_start, lease_end, unit_price = _long_terms(card_model, start, end, term_months)
    elif kind == LeaseKind.SHORT:
        lease_start, lease_end = _short_window(start, end, term_months, now)
        unit_price = card_model.hourly_rate
    else:
        raise InvalidInput("kind must be long or short.", fields={"kind": ["Unknown kind."]})

    _lock_card_model(card_model.pk)
    try:
        placement = placement_find(
            card_model_id=card_model.pk,
            count=card_count,
            start=lease_start,
            end=lease_end,
            site_id=site.pk if site else None,
        )
    except NoCapacity:
        _fleet_check(card_model, site, card_count)  # more than there are at all says so
        raise
    status = LeaseStatus.ACTIVE if lease_start <= now else LeaseStatus.RESERVED
    lease = Lease.objects.create(
        tenant=tenant,
        kind=kind,
        card_model=card_model,
        site=site,
        card_count=card_count,
        status=status,
        start=lease_start,
        end=lease_end,
        committed_end=lease_end if kind == LeaseKind.LONG else None,
        term_months=term_months if kind == LeaseKind.LONG else None,
        unit_price=unit_price,
        created_by=acting_user(actor),
    )
    _allocate(lease, placement.card_ids, lease_start, lease_end)
    _event(
        lease,
        actor=actor,
        at=now,
        from_status="",
        to_status=status,
        reason="created",
        data={"cards": placement.card_ids, "servers": placement.server_ids},
    )
    _audit(actor, "lease.create", lease, None)
    lease.shown = lease_payload_created(lease, placement.card_ids, placement.server_ids)
    events_record([(EventType.LEASE_CREATED, lease.tenant_id, lease.shown)])
    _spend_limit_check(lease)
    return lease


def _spend_limit_check(lease: Lease) -> None:
    """The tenant's spend limit (billing.services.spend): refuses the lease (a new one or a
    renewal) in this transaction (nothing written) when the limit is reached; a budgeted
    tenant's is evaluated after commit."""
    from billing.services import spend  # billing depends on leasing: imported late

    if spend.lease_spend_check(lease):
        tenant_id = lease.tenant_id
        transaction.on_commit(lambda: spend.spend_evaluate_soon(tenant_id))


def _long_terms(
    card_model: CardModel,
    start: dt.datetime | dt.date | None,
    end: dt.datetime | None,
    term_months: int | None,
) -> tuple[dt.datetime, dt.datetime, Decimal]:
    if term_months not in LONG_TERMS:
        raise InvalidInput(
            f"term_months must be one of {', '.join(map(str, LONG_TERMS))}.",
            fields={"term_months": ["Not an offered term."]},
        )
    if end is not None:
        raise InvalidInput(
            "A long lease ends after its term; do not send end.", fields={"end": ["Not allowed."]}
        )
    lease_start, lease_end = lease_window(
        kind=LeaseKind.LONG, start=start, end=None, term_months=term_months
    )
    assert lease_end is not None  # a long lease ends with its term
    return lease_start, lease_end, long_lease_monthly_fee(card_model, term_months)


def _short_window(
    start: dt.datetime | dt.date | None,
    end: dt.datetime | None,
    term_months: int | None,
    now: dt.datetime,
) -> tuple[dt.datetime, dt.datetime | None]:
    if term_months is not None:
        raise InvalidInput(
            "term_months is for long leases.", fields={"term_months": ["Not allowed."]}
        )
    if isinstance(start, dt.date) and not isinstance(start, dt.datetime):
        start = clock.day_start(start)
    return short_lease_window(start, end, now)


# --- Lifecycle ---


def _locked(lease: Lease) -> Lease:
    return Lease.objects.select_for_update().get(pk=lease.pk)


def _cut_allocations(lease: Lease, at: dt.datetime) -> None:
    """End every allocation of `lease` that runs past `at` at `at` (drop those starting later)."""
    allocations = Allocation.objects.filter(lease=lease)
    allocations.filter(period__startswith__gte=at).delete()
    allocations.filter(Q(period__endswith__gt=at) | Q(period__upper_inf=True)).update(
        period=_range_until(at)
    )


def _range_until(at: dt.datetime) -> Any:
    """An update expression: the allocation's own lower bound up to `at`."""
    return Func(
        Func(F("period"), function="lower"),
        Value(at),
        Value("[)"),
        function="tstzrange",
    )


@transaction.atomic
def lease_stop(*, actor: Actor, lease: Lease, reason: str = "") -> Lease:
    """End a short lease now (a reserved one that has not started is cancelled instead)."""
    lease = _locked(lease)
    if lease.kind != LeaseKind.SHORT:
        raise InvalidState("Only short leases are stopped; long leases are terminated.")
    now = clock.now()
    if lease.status == LeaseStatus.RESERVED and lease.start > now:
        return _cancel(actor=actor, lease=lease, reason=reason or "stopped before its start")
    # by the clock, not only the status: the minute's status task may not have run yet
    if lease.status not in {LeaseStatus.ACTIVE, LeaseStatus.RESERVED}:
        raise InvalidState(f"{_a(lease.status)} lease cannot be stopped.")
    if lease.end is not None and lease.end <= now:
        raise InvalidState(f"The lease already ended, at {lease.end.isoformat()}.")
    before, from_status = snapshot(lease), lease.status
    _cut_allocations(lease, now)
    lease.end = now
    lease.status = LeaseStatus.ENDED
    lease.save(update_fields=["end", "status", "updated_at"])
    _event(
        lease,
        actor=actor,
        at=now,
        from_status=from_status,
        to_status=lease.status,
        reason=reason or "stopped",
    )
    _audit(actor, "lease.stop", lease, before)
    _emit(EventType.LEASE_ENDED, [lease.pk])
    transaction.on_commit(lambda: _after_stop(lease.pk))
    tenant_id = lease.tenant_id  # spend limits: the tenant's burn changed
    transaction.on_commit(lambda: enqueue_nudge("billing.evaluate_spend", tenant_id))
    return lease


def _after_stop(lease_id: int) -> None:
    """Meter the stopped lease's held minutes now rather than at the next hourly run.

    By task name: billing depends on leasing, not the other way round. Best effort: the hourly
    meter and the invoice run meter the same minutes idempotently if this is lost."""
    enqueue_nudge("billing.meter_short_lease", lease_id)


@dataclass(frozen=True)
class Termination:
    lease: Lease
    cancelled_renewal: Lease | None  # the renewal that had not started, cancelled with it


def _pending_renewal(lease: Lease) -> Lease | None:
    """The reserved (not yet started) renewal of `lease`, if any."""
    return (
        Lease.objects.filter(renewed_from=lease, status=LeaseStatus.RESERVED).order_by("id").first()
    )


@dataclass(frozen=True)
class TerminationQuote:
    """What terminating a long lease at `effective` does: it ends at `end` (the start of that
    day, operator time) and owes `fee`, 50 % of `remaining` (what the fee rule would bill from
    `effective` to the committed end)."""

    lease: Lease
    effective: dt.date
    end: dt.datetime
    remaining: Decimal
    fee: Decimal


def lease_termination_quote(*, lease: Lease, effective: dt.date) -> TerminationQuote:
    """The checks and the fee of `lease_terminate` (which calls it), nothing changed: the
    quote a tenant sees before confirming is the fee charged. InvalidState / InvalidInput
    (in words) when the lease cannot be terminated at `effective`."""
    if lease.kind != LeaseKind.LONG:
        raise InvalidState("Only long leases are terminated; short leases are stopped.")
    if lease.status not in {LeaseStatus.ACTIVE, LeaseStatus.RESERVED}:
        raise InvalidState(f"{_a(lease.status)} lease cannot be terminated.")
    assert lease.end is not None
    today = clock.local_today()
    start_day, end_day = clock.local_date(lease.start), clock.local_date(lease.end)
    if effective <= today:
        raise InvalidInput(
            "Termination takes effect after today.", fields={"effective": ["Not after today."]}
        )
    if effective <= start_day or effective >= end_day:
        raise InvalidInput(
            f"effective must fall after the lease's start ({start_day}) and before its end "
            f"({end_day}).",
            fields={"effective": ["Outside the lease's term."]},
        )
    remaining = long_lease_value(lease.unit_price, lease.card_count, effective, end_day)
    return TerminationQuote(
        lease=lease,
        effective=effective,
        end=clock.day_start(effective),
        remaining=fraction_to_money(remaining),
        fee=fraction_to_money(remaining * TERMINATION_FEE_SHARE),
    )


@transaction.atomic
def lease_terminate(
    *, actor: Actor, lease: Lease, effective: dt.date, reason: str = ""
) -> Termination:
    """End a long lease early at `effective` (after today), with the termination fee:
    50 % of what the fee rule would bill from `effective` to the committed end
    (`lease_termination_quote`).

    A renewal that has not started (it would begin at the old end, on cards the tenant is
    leaving) is cancelled in the same transaction, and both leases' events say so."""
    lease = _locked(lease)
    quote = lease_termination_quote(lease=lease, effective=effective)
    before = snapshot(lease)
    effective_at = quote.end
    _cut_allocations(lease, effective_at)
    from_status = lease.status
    lease.termination_fee = quote.fee
    lease.terminated_on = effective
    lease.end = effective_at
    lease.status = LeaseStatus.TERMINATED
    lease.save(update_fields=["termination_fee", "terminated_on", "end", "status", "updated_at"])
    renewal = _pending_renewal(lease)
    if renewal is not None:
        renewal = _cancel(
            actor=actor,
            lease=renewal,
            reason=f"lease {lease.pk} terminated early, effective {effective.isoformat()}",
        )
    why = reason or "terminated early"
    data: dict[str, Any] = {
        "effective": effective.isoformat(),
        "remaining_committed_value": str(quote.remaining),
        "termination_fee": str(lease.termination_fee),
    }
    if renewal is not None:
        note = f"; renewal {renewal.pk} cancelled"
        limit = LeaseEvent._meta.get_field("reason").max_length or len(why + note)
        why = why[: limit - len(note)] + note  # the caller's reason may already fill the column
        data["cancelled_renewal"] = renewal.pk
    _event(
        lease,
        actor=actor,
        at=clock.now(),
        from_status=from_status,
        to_status=lease.status,
        reason=why,
        data=data,
    )
    _audit(actor, "lease.terminate", lease, before)
    _emit(EventType.LEASE_TERMINATED, [lease.pk])
    return Termination(lease=lease, cancelled_renewal=renewal)


def lease_cancel(*, actor: Actor, lease: Lease, reason: str = "") -> Lease:
    """Cancel a lease before it starts; its cards are released. Tenants cancel their short
    reservations; a long lease is a commitment, ended by `lease_terminate` (with its fee) unless
    staff cancel it. (Stopping or terminating a lease cancels what it leaves pending whoever
    asks: that is `_cancel`.)"""
    if user_role(actor) == Role.TENANT and lease.kind == LeaseKind.LONG:
        raise Forbidden(
            "A long lease is a commitment: terminate it (with its fee), "
            "or ask the operator to cancel it."
        )
    return _cancel(actor=actor, lease=lease, reason=reason)


@transaction.atomic
def _cancel(*, actor: Actor, lease: Lease, reason: str = "") -> Lease:
    lease = _locked(lease)
    if lease.status != LeaseStatus.RESERVED:
        raise InvalidState(f"Only reserved leases can be cancelled; this one is {lease.status}.")
    if lease.start <= clock.now():  # by the clock: the minute's status task may lag
        raise InvalidState("The lease has started: stop or terminate it instead.")
    before = snapshot(lease)
    cards = list(lease.allocations.values_list("card_id", flat=True))
    lease.allocations.all().delete()
    lease.status = LeaseStatus.CANCELLED
    lease.save(update_fields=["status", "updated_at"])
    data: dict[str, Any] = {"released_cards": cards}
    # a long lease's renewal would start at this lease's end: it goes too
    renewal = _pending_renewal(lease) if lease.kind == LeaseKind.LONG else None
    if renewal is not None:
        _cancel(actor=actor, lease=renewal, reason=f"lease {lease.pk} cancelled")
        data["cancelled_renewal"] = renewal.pk
    _event(
        lease,
        actor=actor,
        at=clock.now(),
        from_status=LeaseStatus.RESERVED,
        to_status=lease.status,
        reason=reason or "cancelled",
        data=data,
    )
    _audit(actor, "lease.cancel", lease, before)
    _emit(EventType.LEASE_CANCELLED, [lease.pk])
    return lease


def current_card_ids(lease: Lease) -> list[int]:
    """The cards a lease holds at its end (or now, for an open-ended lease)."""
    allocations = Allocation.objects.filter(lease=lease)
    if lease.end is None:
        allocations = allocations.filter(period__upper_inf=True)
    else:
        allocations = allocations.filter(
            Q(period__upper_inf=True) | Q(period__endswith__gte=lease.end)
        )
    return sorted(allocations.values_list("card_id", flat=True))


@transaction.atomic
def lease_renew(*, actor: Actor, lease: Lease, term_months: int | None = None) -> Lease:
    """A follow-on long lease on the same cards, starting at the old end, when they are free."""
    lease = _locked(lease)
    if lease.kind != LeaseKind.LONG:
        raise InvalidState("Only long leases are renewed.")
    if lease.status not in {LeaseStatus.ACTIVE, LeaseStatus.RESERVED}:
        raise InvalidState(f"{_a(lease.status)} lease cannot be renewed.")
    if Lease.objects.filter(renewed_from=lease).exists():
        raise InvalidState("This lease has already been renewed.")
    assert lease.end is not None and lease.term_months is not None
    if lease.end <= clock.now():  # by the clock: the minute's status task may lag
        raise InvalidState(f"The lease already ended, at {lease.end.isoformat()}.")
    term = term_months or lease.term_months
    if term not in LONG_TERMS:
        raise InvalidInput(
            f"term_months must be one of {', '.join(map(str, LONG_TERMS))}.",
            fields={"term_months": ["Not an offered term."]},
        )
    card_model = lease.card_model
    first_day = clock.local_date(lease.end)
    start = lease.end
    end = clock.day_start(clock.add_months(first_day, term))
    cards = current_card_ids(lease)
    _lock_card_model(card_model.pk)
    free = {
        card
        for server in free_cards_by_server(
            card_model_id=card_model.pk, site_id=None, start=start, end=end
        )
        for card in server.card_ids
    }
    taken = sorted(set(cards) - free)
    if taken:
        raise NoCapacity(
            f"{len(taken)} of the lease's cards are not free after its end; it cannot be renewed "
            "on the same cards.",
            extra={"unavailable_cards": taken},
        )
    renewal = Lease.objects.create(
        tenant=lease.tenant,
        kind=LeaseKind.LONG,
        card_model=card_model,
        site=lease.site,
        card_count=len(cards),
        status=LeaseStatus.RESERVED,
        start=start,
        end=end,
        committed_end=end,
        term_months=term,
        unit_price=long_lease_monthly_fee(card_model, term),
        renewed_from=lease,
        created_by=acting_user(actor),
    )
    _allocate(renewal, cards, start, end)
    now = clock.now()
    _event(
        renewal,
        actor=actor,
        at=now,
        from_status="",
        to_status=renewal.status,
        reason=f"renewal of lease {lease.pk}",
        data={"cards": cards, "renewed_from": lease.pk},
    )
    _event(
        lease,
        actor=actor,
        at=now,
        from_status=lease.status,
        to_status=lease.status,
        reason=f"renewed by lease {renewal.pk}",
        data={"renewal": renewal.pk},
    )
    _audit(actor, "lease.renew", renewal, None)
    _emit(EventType.LEASE_RENEWED, [renewal.pk])  # the renewal; `renewed_from` names the lease
    _spend_limit_check(renewal)  # a new long lease: its fee counts from the old end
    return renewal


# --- Time-driven transitions ---


@transaction.atomic
def leases_advance(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Move leases whose time has come: reserved → active at start; active → ended at end.

    Set-based and idempotent: a second run at the same instant changes nothing.
    """
    now = now or clock.now()
    started = list(
        Lease.objects.select_for_update(skip_locked=True)
        .filter(status=LeaseStatus.RESERVED, start__lte=now)
        .values_list("pk", flat=True)
    )
    ended = list(
        Lease.objects.select_for_update(skip_locked=True)
        .filter(status__in=[LeaseStatus.ACTIVE, LeaseStatus.RESERVED], end__lte=now)
        .values_list("pk", flat=True)
    )
    Lease.objects.filter(pk__in=started).exclude(pk__in=ended).update(
        status=LeaseStatus.ACTIVE, updated_at=now
    )
    Lease.objects.filter(pk__in=ended).update(status=LeaseStatus.ENDED, updated_at=now)
    events = [
        LeaseEvent(
            lease_id=pk,
            at=now,
            from_status=LeaseStatus.RESERVED,
            to_status=LeaseStatus.ACTIVE,
            reason="start reached",
        )
        for pk in started
    ] + [
        LeaseEvent(
            lease_id=pk,
            at=now,
            from_status=LeaseStatus.ACTIVE,
            to_status=LeaseStatus.ENDED,
            reason="end reached",
        )
        for pk in ended
    ]
    LeaseEvent.objects.bulk_create(events)
    _emit(EventType.LEASE_ACTIVATED, sorted(set(started) - set(ended)))
    _emit(EventType.LEASE_ENDED, sorted(ended))
    return {"activated": len(set(started) - set(ended)), "ended": len(ended)}


# --- Card swap ---


@transaction.atomic
def card_swap(*, actor: Actor, card: Card, reason: str = "") -> dict[str, Any]:
    """Put a card into maintenance; every lease holding it now or later gets a free card of the
    same model for the rest of its allocation (same server preferred), in one transaction.
    If any replacement is missing, nothing changes (409)."""
    # the model's allocation lock first, then the card row: the order lease creation takes
    _lock_card_model(Card.objects.values_list("card_model_id", flat=True).get(pk=card.pk))
    card = Card.objects.select_for_update().select_related("server").get(pk=card.pk)
    if card.status == CardStatus.RETIRED:
        raise InvalidState("A retired card cannot go into maintenance.")
    # cut at the next whole minute: short leases are billed in whole minutes per card, so a cut
    # inside a minute would bill that minute on both cards
    now = minute_ceil(clock.now())
    held = list(
        Allocation.objects.select_related("lease")
        .filter(card=card)
        .filter(Q(period__endswith__gt=now) | Q(period__upper_inf=True))
        .order_by("pk")
    )
    before = snapshot(card)
    swaps = []
    for allocation in held:
        lower, upper = allocation.period.lower, allocation.period.upper
        from_at = max(lower, now)
        servers = free_cards_by_server(
            card_model_id=card.card_model_id,
            site_id=allocation.lease.site_id,
            start=from_at,
            end=upper,
        )
        # Replacements chosen earlier in this loop are already allocated, so not free here.
        same_server = [s for s in servers if s.server_id == card.server_id]
        placement = choose_placement(same_server or servers, 1)
        if placement is None:
            raise NoCapacity(
                f"No free {card.card_model} card can replace card {card.pk} for lease "
                f"{allocation.lease_id}; nothing was changed.",
                extra={"lease": allocation.lease_id},
            )
        replacement = placement.card_ids[0]
        if lower >= now:
            allocation.delete()
        else:
            allocation.period = DateTimeTZRange(lower, now, "[)")
            allocation.save(update_fields=["period"])
        Allocation.objects.create(
            lease=allocation.lease,
            card_id=replacement,
            period=DateTimeTZRange(from_at, upper, "[)"),
        )
        _event(
            allocation.lease,
            actor=actor,
            at=now,
            from_status=allocation.lease.status,
            to_status=allocation.lease.status,
            reason=reason or "card swapped for maintenance",
            data={"card_out": card.pk, "card_in": replacement},
        )
        swaps.append({"lease": allocation.lease_id, "card_out": card.pk, "card_in": replacement})
    _emit(EventType.LEASE_CARD_SWAPPED, sorted({swap["lease"] for swap in swaps}))
    card.status = CardStatus.MAINTENANCE
    card.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action="card.maintenance",
        instance=card,
        before=before,
        after=snapshot(card),
        reason=reason,
    )
    return {"card": card.pk, "status": card.status, "swaps": swaps}


def _a(word: str) -> str:
    """The word with its indefinite article, capitalised: "An ended", "A reserved"."""
    return f"{'An' if word[:1] in 'aeiou' else 'A'} {word}"
