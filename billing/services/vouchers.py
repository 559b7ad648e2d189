"""Compute vouchers (算力券): programmes, grants, redemption at issue, claims on the issuer.

A voucher is a third-party payment, not a discount: tax stays on the full subtotal and the
deduction comes off the amount due. Grants are locked in primary-key order and their
`redeemed` column carries a CHECK (redeemed ≤ amount), so concurrent issuing can never
over-redeem.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from django.db import transaction
from django.db.models import (
    Case,
    Count,
    DecimalField,
    F,
    Max,
    Min,
    Prefetch,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from accounts.models import Tenant
from billing.choices import CARD_MINUTES, ClaimStatus, InvoiceStatus, LineKind
from billing.models import (
    Invoice,
    InvoiceLine,
    VoucherClaim,
    VoucherGrant,
    VoucherModelRate,
    VoucherProgram,
    VoucherRedemption,
)
from billing.parties import invoice_buyer
from billing.pricebook import builtin_metric_id
from core import clock
from core.actors import Actor
from core.audit import audit_record, snapshot
from core.exceptions import Conflict, InvalidInput, InvalidState
from core.money import fraction_to_money
from marketplace.models import CardModel

RENTAL_KINDS = {LineKind.LONG_LEASE_FEE, LineKind.SHORT_LEASE_USAGE}
LEASE_KINDS = {"long", "short"}
# The most card models a programme names (card_models, model_rates): a fleet has tens.
MAX_PROGRAM_MODELS = 100


# --- Programmes and grants ---


@transaction.atomic
def voucher_program_create(
    *,
    actor: Actor,
    model_rates: list[dict[str, Any]] | None = None,
    card_models: list[CardModel] | None = None,
    **fields: Any,
) -> VoucherProgram:
    if fields["valid_to"] < fields["valid_from"]:
        raise InvalidInput("valid_to is before valid_from.", fields={"valid_to": ["Too early."]})
    kinds = fields.get("lease_kinds") or sorted(LEASE_KINDS)
    if not set(kinds) <= LEASE_KINDS:
        raise InvalidInput("lease_kinds are long and/or short.", fields={"lease_kinds": ["Bad."]})
    fields["lease_kinds"] = sorted(set(kinds))
    program = VoucherProgram.objects.create(**fields)
    if card_models:
        program.card_models.set(card_models)
    VoucherModelRate.objects.bulk_create(
        VoucherModelRate(program=program, card_model=row["card_model"], rate=row["rate"])
        for row in model_rates or []
    )
    audit_record(
        actor=actor, action="voucher_program.create", instance=program, after=snapshot(program)
    )
    return program


@transaction.atomic
def voucher_grant_create(
    *,
    actor: Actor,
    program: VoucherProgram,
    tenant: Tenant,
    amount: Decimal,
    valid_from: dt.date | None = None,
    valid_to: dt.date | None = None,
) -> VoucherGrant:
    """Grant a tenant vouchers: within the programme's window, its budget and per-tenant cap."""
    program = VoucherProgram.objects.select_for_update().get(pk=program.pk)
    if program.closed_at is not None:
        raise InvalidState(
            "The programme is closed: it takes no new grants.", code="program_closed"
        )
    valid_from = valid_from or program.valid_from
    valid_to = valid_to or program.valid_to
    if valid_from < program.valid_from or valid_to > program.valid_to or valid_to < valid_from:
        raise InvalidInput(
            f"A grant's window lies inside the programme's ({program.valid_from} to "
            f"{program.valid_to}).",
            fields={"valid_from": ["Outside the programme."], "valid_to": ["Outside."]},
        )
    if amount <= 0:
        raise InvalidInput("amount must be positive.", fields={"amount": ["Not positive."]})
    tenant_total = (
        program.grants.filter(tenant=tenant).aggregate(total=Sum(STANDING))["total"] or 0
    ) + amount
    if tenant_total > program.per_tenant_cap:
        raise Conflict(
            f"The tenant's grants would reach {tenant_total}, over the programme's per-tenant "
            f"cap of {program.per_tenant_cap}.",
            code="over_tenant_cap",
            fields={"amount": [f"At most {program.per_tenant_cap - tenant_total + amount}."]},
        )
    if program.granted + amount > program.budget:
        raise Conflict(
            f"Only {program.budget - program.granted} of the programme's budget is left.",
            code="over_budget",
            fields={"amount": [f"At most {program.budget - program.granted}."]},
        )
    grant = VoucherGrant.objects.create(
        program=program, tenant=tenant, amount=amount, valid_from=valid_from, valid_to=valid_to
    )
    # `granted` follows in the database (trigger billing_vouchergrant_keep_granted)
    audit_record(actor=actor, action="voucher_grant.create", instance=grant, after=snapshot(grant))
    return grant


# --- Programme edit and close, grant revoke ---

# What a grant holds of its programme's budget (as the database's trigger counts it): its
# amount, or once revoked what it redeemed.
STANDING = Case(When(revoked_at__isnull=True, then=F("amount")), default=F("redeemed"))

# Editable at any time (until the programme closes): who pays, its name, its figures within
# what is granted, its window around its grants, and whether claims wait for payment (until a
# claim of it has gone to the issuer). The rules behind redemptions (rates, eligible leases
# and card models, term limit) only until it has redeemed something.
ALWAYS_EDITABLE = {"issuer", "name", "budget", "per_tenant_cap", "valid_from", "valid_to"}
TERMS = {"coverage_rate", "model_rates", "lease_kinds", "card_models", "max_term_months"}


def _check_figures(program: VoucherProgram, changes: dict[str, Any]) -> None:
    """Budget never below what is granted; cap never below a tenant's grants; window around
    the grants. Raises InvalidInput naming every field at fault."""
    problems: dict[str, list[str]] = {}
    budget = changes.get("budget", program.budget)
    if budget < program.granted:
        problems["budget"] = [f"At least {program.granted}: that much is granted."]
    grants = program.grants.all()
    if "per_tenant_cap" in changes:
        top = (
            grants.values("tenant")
            .annotate(total=Sum(STANDING))
            .order_by("-total")
            .values_list("total", flat=True)
            .first()
        )
        if top is not None and changes["per_tenant_cap"] < top:
            problems["per_tenant_cap"] = [f"At least {top}: a tenant holds that much."]
    valid_from = changes.get("valid_from", program.valid_from)
    valid_to = changes.get("valid_to", program.valid_to)
    window = grants.aggregate(first=Min("valid_from"), last=Max("valid_to"))
    if valid_to < valid_from:
        problems["valid_to"] = ["Before valid_from."]
    if window["first"] is not None and valid_from > window["first"]:
        problems["valid_from"] = [f"At most {window['first']}: a grant starts then."]
    if window["last"] is not None and valid_to < window["last"]:
        problems["valid_to"] = [f"At least {window['last']}: a grant lasts until then."]
    if problems:
        raise InvalidInput(
            "The programme cannot take these figures: "
            + " ".join(f"{field}: {msgs[0]}" for field, msgs in problems.items()),
            fields=problems,
        )


@transaction.atomic
def voucher_program_update(
    *,
    actor: Actor,
    program: VoucherProgram,
    model_rates: list[dict[str, Any]] | None = None,
    card_models: list[CardModel] | None = None,
    **changes: Any,
) -> VoucherProgram:
    """Edit a programme (PATCH): see ALWAYS_EDITABLE and TERMS for what may change when."""
    program = VoucherProgram.objects.select_for_update().get(pk=program.pk)
    if program.closed_at is not None:
        raise InvalidState(
            "The programme is closed: it is no longer edited.", code="program_closed"
        )
    terms = set(changes) & TERMS | {
        name
        for name, value in (("model_rates", model_rates), ("card_models", card_models))
        if value is not None
    }
    if terms and VoucherRedemption.objects.filter(grant__program=program).exists():
        raise InvalidState(
            "The programme has redeemed vouchers: its rates and eligibility stay as they were.",
            code="program_terms_in_use",
            fields={name: ["Fixed once vouchers are redeemed."] for name in sorted(terms)},
        )
    if (
        "requires_payment" in changes
        and changes["requires_payment"] != program.requires_payment
        and program.claims.exclude(status=ClaimStatus.DRAFT).exists()
    ):
        raise InvalidState(
            "A claim of this programme went to the issuer: whether claims wait for payment "
            "stays as it was.",
            code="program_claimed",
            fields={"requires_payment": ["Fixed once a claim is submitted."]},
        )
    _check_figures(program, changes)
    if "lease_kinds" in changes:
        kinds = changes["lease_kinds"] or sorted(LEASE_KINDS)
        if not set(kinds) <= LEASE_KINDS:
            raise InvalidInput(
                "lease_kinds are long and/or short.", fields={"lease_kinds": ["Bad."]}
            )
        changes["lease_kinds"] = sorted(set(kinds))
    before = snapshot(program)
    for name, value in changes.items():
        setattr(program, name, value)
    program.save()
    if card_models is not None:
        program.card_models.set(card_models)
    if model_rates is not None:
        program.model_rates.all().delete()
        VoucherModelRate.objects.bulk_create(
            VoucherModelRate(program=program, card_model=row["card_model"], rate=row["rate"])
            for row in model_rates
        )
    audit_record(
        actor=actor,
        action="voucher_program.update",
        instance=program,
        before=before,
        after=snapshot(program),
    )
    return program


@transaction.atomic
def voucher_program_close(*, actor: Actor, program: VoucherProgram) -> VoucherProgram:
    """Close a programme: no new grants, and issuing redeems none of its grants (the database
    refuses both). Its redemptions and claims stay."""
    program = VoucherProgram.objects.select_for_update().get(pk=program.pk)
    if program.closed_at is not None:
        raise InvalidState("The programme is closed already.", code="program_closed")
    before = snapshot(program)
    program.closed_at = clock.now()
    program.save(update_fields=["closed_at", "updated_at"])
    audit_record(
        actor=actor,
        action="voucher_program.close",
        instance=program,
        before=before,
        after=snapshot(program),
    )
    return program


@transaction.atomic
def voucher_grant_revoke(*, actor: Actor, grant: VoucherGrant, reason: str = "") -> VoucherGrant:
    """Revoke a grant: it redeems nothing more, and its unredeemed balance goes back to the
    programme's budget (the database lowers `granted`); its redemptions stay. Voiding an
    invoice later restores that invoice's redemption to the programme's budget, not to the
    revoked grant."""
    grant = VoucherGrant.objects.select_for_update().select_related("program").get(pk=grant.pk)
    if grant.revoked_at is not None:
        raise InvalidState("The grant is revoked already.", code="grant_revoked")
    before = snapshot(grant)
    grant.revoked_at = clock.now()
    grant.save(update_fields=["revoked_at", "updated_at"])
    audit_record(
        actor=actor,
        action="voucher_grant.revoke",
        instance=grant,
        before=before,
        after=snapshot(grant),
        reason=reason,
    )
    return grant


# --- Reads (the console's pages) ---

_MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=14, decimal_places=2)


def voucher_programs_with_totals() -> QuerySet[VoucherProgram]:
    """Every programme with its figures from one grouped query: `redeemed` (Σ its grants'
    redemptions still standing), `left_to_grant` (budget − granted), `unredeemed` (granted −
    redeemed) and `grant_count`; its model rates and card models prefetched."""
    return (
        VoucherProgram.objects.annotate(
            redeemed=Coalesce(Sum("grants__redeemed"), Value(Decimal("0.00")), output_field=_MONEY),
            grant_count=Count("grants"),
        )
        .annotate(
            left_to_grant=F("budget") - F("granted"),
            unredeemed=F("granted") - F("redeemed"),
        )
        .prefetch_related("model_rates__card_model", "card_models")
        .order_by("-valid_to", "id")
    )


def voucher_grantable_tenants() -> QuerySet[Tenant]:
    """The tenants a grant may go to, by name."""
    return Tenant.objects.order_by("name")


def voucher_grants_of_program(*, program: VoucherProgram) -> QuerySet[VoucherGrant]:
    """A programme's grants with their tenants, by tenant name."""
    return program.grants.select_related("tenant").order_by("tenant__name", "id")


def voucher_grants(*, tenant: Tenant | None) -> QuerySet[VoucherGrant]:
    """Grants with their tenants and programmes (and the programmes' rates), latest expiry
    first: a tenant's own, or every tenant's for staff (`tenant=None`)."""
    grants = VoucherGrant.objects.all() if tenant is None else tenant.voucher_grants.all()
    return (
        grants.select_related("program", "tenant")
        .prefetch_related("program__model_rates__card_model")
        .order_by("-valid_to", "id")
    )


def voucher_redemptions_of(
    *, tenant: Tenant | None = None, grant: VoucherGrant | None = None
) -> QuerySet[VoucherRedemption]:
    """Redemptions (newest first) with their invoice and grant's programme: a tenant's, or one
    grant's."""
    redemptions = VoucherRedemption.objects.select_related("invoice", "grant__program")
    if tenant is not None:
        redemptions = redemptions.filter(grant__tenant=tenant)
    if grant is not None:
        redemptions = redemptions.filter(grant=grant)
    return redemptions.order_by("-invoice__month", "-id")


@dataclass
class ClaimMonth:
    """One month of a programme's claims: its redemptions so far and its claim's record."""

    month: dt.date
    status: str
    redemptions: int
    total: Decimal  # frozen once submitted; the live sum of the redemptions before
    submitted_at: dt.datetime | None
    reimbursed_at: dt.datetime | None


def voucher_claim_months(*, program: VoucherProgram) -> list[ClaimMonth]:
    """The months a programme may claim, newest first: every month with redemptions standing
    (one grouped query) and every month with a claim recorded (one more)."""
    sums = {
        row["invoice__month"]: row
        for row in _claimable(program)
        .values("invoice__month")
        .annotate(total=Sum("amount"), count=Count("id"))
        .order_by()
    }
    records = {claim.month: claim for claim in VoucherClaim.objects.filter(program=program)}
    months = []
    for month in sorted(set(sums) | set(records), reverse=True):
        live, record = sums.get(month), records.get(month)
        live_total = live["total"] if live else Decimal("0.00")
        frozen = record is not None and record.status != ClaimStatus.DRAFT
        months.append(
            ClaimMonth(
                month=month,
                status=record.status if record else ClaimStatus.DRAFT,
                redemptions=live["count"] if live else 0,
                total=record.total if frozen and record else live_total,
                submitted_at=record.submitted_at if record else None,
                reimbursed_at=record.reimbursed_at if record else None,
            )
        )
    return months


# --- Redemption at issue ---


@dataclass
class _Terms:
    rate: Fraction
    model_rates: dict[int, Fraction]
    card_models: set[int]
    lease_kinds: set[str]
    max_term: int | None
    window: tuple[dt.date, dt.date]  # [from, to] inclusive, grant ∩ programme


def _terms(grant: VoucherGrant) -> _Terms:
    program = grant.program
    return _Terms(
        rate=Fraction(program.coverage_rate),
        model_rates={r.card_model_id: Fraction(r.rate) for r in program.model_rates.all()},
        card_models={m.pk for m in program.card_models.all()},
        lease_kinds=set(program.lease_kinds or LEASE_KINDS),
        max_term=program.max_term_months,
        window=(max(grant.valid_from, program.valid_from), min(grant.valid_to, program.valid_to)),
    )


def _eligible(line: InvoiceLine, terms: _Terms, card_minutes_id: int | None) -> bool:
    rental = line.kind in RENTAL_KINDS or (
        line.kind == LineKind.PRIOR_PERIOD and line.metric_id == card_minutes_id
    )
    if not rental or line.lease is None:
        return False
    if line.lease_kind not in terms.lease_kinds:
        return False
    if terms.card_models and line.card_model_id not in terms.card_models:
        return False
    if terms.max_term is not None and (line.lease.term_months or 0) > terms.max_term:
        return False
    first, last = terms.window
    return first <= line.period_start and line.period_end <= last + dt.timedelta(days=1)


def _rate(line: InvoiceLine, terms: _Terms) -> Fraction:
    return terms.model_rates.get(line.card_model_id or 0, terms.rate)


def voucher_deductions(
    *, lines: list[InvoiceLine], grants: list[VoucherGrant], card_minutes_id: int | None = None
) -> list[tuple[VoucherGrant, Decimal]]:
    """What each grant pays on an invoice's lines: the one rule for issuing and previews.

    Programmes in order of earliest expiry (`valid_to`, then id) stack: each covers its rate (per
    card model) on the part of each eligible line that earlier programmes left unpaid. Grants of
    one programme share that cover, earliest expiry first: a grant pays
    min(round(Σ cover still unpaid on the lines in its window, 2), its balance), attributed to
    those lines in proportion; so together they never pay more than the programme's rate, and
    all programmes together never more than the lines.
    """
    if card_minutes_id is None:
        card_minutes_id = builtin_metric_id(CARD_MINUTES)
    unpaid = {line.pk: Fraction(line.amount) for line in lines}  # after earlier programmes
    left = sum(unpaid.values(), Fraction(0))  # what all grants together may still pay
    by_program: dict[int, list[VoucherGrant]] = {}
    for grant in sorted(grants, key=lambda g: (g.valid_to, g.pk)):
        by_program.setdefault(grant.program_id, []).append(grant)
    programs = sorted(
        by_program.values(), key=lambda gs: (gs[0].program.valid_to, gs[0].program_id)
    )
    paid: list[tuple[VoucherGrant, Decimal]] = []
    for program_grants in programs:
        base = dict(unpaid)  # the programme covers its rate on what earlier ones left
        open_cover: dict[int, Fraction] = {}  # per line: the programme's cover not yet paid
        for grant in program_grants:
            terms = _terms(grant)
            for line in lines:
                if line.pk not in open_cover and _eligible(line, terms, card_minutes_id):
                    open_cover[line.pk] = base[line.pk] * _rate(line, terms)
            mine = {
                line.pk: open_cover[line.pk]
                for line in lines
                if open_cover.get(line.pk, 0) > 0 and _eligible(line, terms, card_minutes_id)
            }
            wanted = sum(mine.values(), Fraction(0))
            if wanted <= 0:
                continue
            deduction = min(
                fraction_to_money(wanted), grant.amount - grant.redeemed, _cents_down(left)
            )
            if deduction <= 0:
                continue
            share = Fraction(deduction) / wanted
            for pk, cover in mine.items():
                open_cover[pk] -= cover * share
                unpaid[pk] -= cover * share
            left -= Fraction(deduction)
            paid.append((grant, deduction))
    return paid


def _cents_down(value: Fraction) -> Decimal:
    return Decimal(value.numerator * 100 // value.denominator) / 100


def _candidate_window(invoice: Invoice, lines: list[InvoiceLine]) -> tuple[dt.date, dt.date]:
    """[first day, month end): the days a grant must touch to pay on the invoice's lines (a
    prior-period line may lie in a grant's window that ended before this month)."""
    first_day = min(min(line.period_start for line in lines), invoice.month)
    return first_day, clock.next_month_first(invoice.month)


def _candidates(*, tenant_ids: set[int], first_day: dt.date, month_end: dt.date) -> Any:
    """The grants with a balance of these tenants whose window touches [first_day, month_end)."""
    return VoucherGrant.objects.filter(
        tenant_id__in=tenant_ids, valid_from__lt=month_end, valid_to__gte=first_day
    ).filter(
        redeemed__lt=F("amount"),
        revoked_at__isnull=True,  # a revoked grant, or a closed programme's, pays nothing more
        program__closed_at__isnull=True,
    )


def _plan(
    invoice: Invoice,
    lines: list[InvoiceLine],
    grants: list[VoucherGrant],
    card_minutes_id: int | None = None,
) -> list[tuple[VoucherGrant, Decimal]]:
    """What each grant pays on the invoice (`voucher_deductions`), of the `grants` (a superset:
    any tenant's, any window, with their terms) those that are the invoice's candidates."""
    first_day, month_end = _candidate_window(invoice, lines)
    mine = [
        grant
        for grant in grants
        if grant.tenant_id == invoice.tenant_id
        and grant.valid_from < month_end
        and grant.valid_to >= first_day
        and grant.redeemed < grant.amount
    ]
    return voucher_deductions(
        lines=sorted(lines, key=lambda line: line.pk), grants=mine, card_minutes_id=card_minutes_id
    )


def _with_terms(grants: Any) -> list[VoucherGrant]:
    return list(
        grants.select_related("program").prefetch_related(
            "program__model_rates", "program__card_models"
        )
    )


def voucher_plan(
    *, invoice: Invoice, lines: list[InvoiceLine] | None = None, lock: bool = False
) -> list[tuple[VoucherGrant, Decimal]]:
    """What each grant pays if the invoice is issued now: the one rule issuing applies and
    previews show (`voucher_deductions` over the tenant's candidate grants, `_plan`). Issuing
    passes `lock=True`: the candidate grants are locked in primary-key order first (so
    concurrent issues queue). Only the grant rows are locked (not their programme's: other
    tenants' invoices issue alongside); the grants are read again after the lock so that a
    revoke or a close committed meanwhile is seen (and the database refuses a redemption on
    either in any case). `lines`: the invoice's lines with their lease, when the caller has them
    already. Nothing is redeemed here."""
    if lines is None:
        lines = list(invoice.lines.select_related("lease").order_by("pk"))
    if not lines:
        return []
    first_day, month_end = _candidate_window(invoice, lines)
    candidates = _candidates(
        tenant_ids={invoice.tenant_id}, first_day=first_day, month_end=month_end
    )
    if lock:
        locked = list(
            candidates.select_for_update(of=("self",)).order_by("pk").values_list("pk", flat=True)
        )
        if not locked:
            return []
        candidates = candidates.filter(pk__in=locked)
    return _plan(invoice, lines, _with_terms(candidates))


def vouchers_apply(*, invoice: Invoice) -> Decimal:
    """Redeem the tenant's grants against an invoice being issued (`voucher_plan`, locked);
    returns the deduction."""
    total = Decimal("0.00")
    for grant, deduction in voucher_plan(invoice=invoice, lock=True):
        VoucherRedemption.objects.create(grant=grant, invoice=invoice, amount=deduction)
        VoucherGrant.objects.filter(pk=grant.pk).update(redeemed=F("redeemed") + deduction)
        total += deduction
    return total


def vouchers_preview_by_grant(
    *, invoice: Invoice, lines: list[InvoiceLine] | None = None
) -> list[tuple[VoucherGrant, Decimal]]:
    """What each grant would pay if the invoice were issued now (`voucher_plan`: nothing
    redeemed, nothing locked); grants with their programme."""
    return voucher_plan(invoice=invoice, lines=lines)


def vouchers_preview(*, invoice: Invoice) -> Decimal:
    """What issuing the invoice now would deduct (`voucher_plan`, nothing redeemed)."""
    deductions = vouchers_preview_by_grant(invoice=invoice)
    return sum((deduction for _, deduction in deductions), Decimal("0.00"))


def vouchers_preview_many(invoices: Iterable[Invoice]) -> dict[int, Decimal]:
    """Per draft of `invoices`, what issuing it now would deduct: the same `_plan` as
    `voucher_plan`, set-based (the drafts' lines from one query, their candidate grants from
    one more and the grants' terms from two more, however many drafts)."""
    drafts = [invoice for invoice in invoices if invoice.status == InvoiceStatus.DRAFT]
    if not drafts:
        return {}
    lines: dict[int, list[InvoiceLine]] = {invoice.pk: [] for invoice in drafts}
    for line in InvoiceLine.objects.filter(invoice_id__in=lines).select_related("lease"):
        lines[line.invoice_id].append(line)
    windows = [
        _candidate_window(invoice, lines[invoice.pk]) for invoice in drafts if lines[invoice.pk]
    ]
    grants = (
        _with_terms(
            _candidates(
                tenant_ids={invoice.tenant_id for invoice in drafts},
                first_day=min(first for first, _ in windows),
                month_end=max(end for _, end in windows),
            )
        )
        if windows
        else []
    )
    card_minutes_id = builtin_metric_id(CARD_MINUTES)
    return {
        invoice.pk: sum(
            (amount for _, amount in _plan(invoice, lines[invoice.pk], grants, card_minutes_id)),
            Decimal("0.00"),
        )
        if lines[invoice.pk]
        else Decimal("0.00")
        for invoice in drafts
    }


# --- Claims ---


@dataclass
class ClaimLease:
    """A lease whose lines a redemption covered, as the issuer's evidence names it."""

    lease: int
    kind: str
    term_months: int | None  # long leases
    start: dt.datetime
    end: dt.datetime | None
    card_model: int
    card_model_name: str
    domestic: bool
    card_hours: Decimal


@dataclass
class ClaimRow:
    """One redemption as evidence: who (tenant and tax id as the invoice names them), which
    bill (invoice and fapiao numbers), what for (the leases of the lines it covered, with their
    card-hours), how much, and when and how the invoice was paid."""

    redemption: int
    tenant: int
    tenant_name: str
    tax_id: str
    invoice: int
    invoice_number: str
    fapiao_number: str | None
    leases: list[ClaimLease]
    card_hours: Decimal
    amount: Decimal
    paid_on: dt.date | None
    payment_reference: str


@dataclass
class Claim:
    program: int
    month: dt.date
    status: str
    total: Decimal
    rows: list[ClaimRow]
    requires_payment: bool = False


def _claimable(program: VoucherProgram) -> QuerySet[VoucherRedemption]:
    """The redemptions a programme's claims count: standing ones, and with `requires_payment`
    only those of invoices paid in full."""
    redemptions = VoucherRedemption.objects.filter(grant__program=program, voided_at__isnull=True)
    if program.requires_payment:
        redemptions = redemptions.filter(invoice__status=InvoiceStatus.PAID)
    return redemptions


def _card_hours(line: InvoiceLine) -> Decimal:
    """A rental line's card-hours: a long lease's cards × the hours of its period, a short
    lease's metered card-hours (its quantity)."""
    if line.kind == LineKind.LONG_LEASE_FEE and line.lease is not None:
        days = (line.period_end - line.period_start).days
        return Decimal(line.lease.card_count * days * 24)
    if line.kind == LineKind.TERMINATION_FEE:
        return Decimal(0)
    return line.quantity


def _claim_leases(
    lines: list[InvoiceLine], terms: _Terms, card_minutes_id: int | None
) -> list[ClaimLease]:
    """The leases of the lines a grant with `terms` covers, in lease order, card-hours summed."""
    leases: dict[int, ClaimLease] = {}
    for line in lines:
        if line.lease is None or not _eligible(line, terms, card_minutes_id):
            continue
        lease = line.lease
        entry = leases.get(lease.pk)
        if entry is None:
            entry = leases[lease.pk] = ClaimLease(
                lease=lease.pk,
                kind=lease.kind,
                term_months=lease.term_months,
                start=lease.start,
                end=lease.end,
                card_model=lease.card_model_id,
                card_model_name=lease.card_model.name,
                domestic=lease.card_model.domestic,
                card_hours=Decimal(0),
            )
        entry.card_hours += _card_hours(line)
    return [leases[pk] for pk in sorted(leases)]


def voucher_claim_get(*, program: VoucherProgram, month: dt.date) -> Claim:
    """The claim of a programme for the invoices of `month`: one row per redemption standing
    (void invoices excluded; with `requires_payment`, unpaid ones too), with its evidence.

    A redemption pays for several lines, possibly of several leases: its row lists those leases
    (the invoice's lines the grant covers, by the programme's rules), each with its kind, term,
    card model and card-hours. Each row names the tenant as its invoice does: the buyer frozen
    at issue, the current one on a draft. A fixed number of queries whatever the number of rows
    (the redemptions with their invoices and grants, the invoices' lines with their leases and
    card models, the programme with its rates and card models, the claim's record)."""
    month = clock.month_first(month)
    program = VoucherProgram.objects.prefetch_related("model_rates", "card_models").get(
        pk=program.pk
    )
    lines = InvoiceLine.objects.select_related("lease__card_model").order_by("pk")
    redemptions = (
        _claimable(program)
        .filter(invoice__month=month)
        .select_related("invoice__tenant", "grant")
        .prefetch_related(Prefetch("invoice__lines", queryset=lines))
        .order_by("invoice__number", "pk")
    )
    card_minutes_id = builtin_metric_id(CARD_MINUTES)
    rows = []
    for r in redemptions:
        r.grant.program = program  # its rules, prefetched once
        invoice = r.invoice
        buyer = invoice_buyer(invoice)
        leases = _claim_leases(list(invoice.lines.all()), _terms(r.grant), card_minutes_id)
        rows.append(
            ClaimRow(
                redemption=r.pk,
                tenant=invoice.tenant_id,
                tenant_name=buyer["name"],
                tax_id=buyer.get("tax_id") or "",
                invoice=invoice.pk,
                invoice_number=invoice.number or "",
                fapiao_number=invoice.fapiao_number,
                leases=leases,
                card_hours=sum((lease.card_hours for lease in leases), Decimal(0)),
                amount=r.amount,
                paid_on=invoice.paid_on,
                payment_reference=invoice.payment_reference,
            )
        )
    record = VoucherClaim.objects.filter(program=program, month=month).first()
    total = sum((row.amount for row in rows), Decimal("0.00"))
    return Claim(
        program=program.pk,
        month=month,
        status=record.status if record else ClaimStatus.DRAFT,
        total=record.total if record and record.status != ClaimStatus.DRAFT else total,
        rows=rows,
        requires_payment=program.requires_payment,
    )


_NEXT_CLAIM_STATUS = {
    ClaimStatus.DRAFT: ClaimStatus.SUBMITTED,
    ClaimStatus.SUBMITTED: ClaimStatus.REIMBURSED,
}


@transaction.atomic
def voucher_claim_advance(
    *, actor: Actor, program: VoucherProgram, month: dt.date, status: str
) -> Claim:
    """draft → submitted (the total is frozen) → reimbursed."""
    month = clock.month_first(month)
    now = clock.now()
    if status == ClaimStatus.SUBMITTED:
        # a claim goes to the issuer once the month is billed: over, and no drafts left
        if month >= clock.month_first(clock.local_today()):
            raise InvalidState(f"{month:%Y-%m} has not ended; its claim is not complete yet.")
        drafts = (
            Invoice.objects.filter(
                month=month, status=InvoiceStatus.DRAFT, tenant__voucher_grants__program=program
            )
            .distinct()
            .count()
        )
        if drafts:
            raise InvalidState(
                f"{drafts} invoice(s) of {month:%Y-%m} are still drafts: issue them first."
            )
        if program.requires_payment:
            # its claim counts paid invoices only, and its total is frozen at submission: a
            # redemption paid later would never be claimed (void an invoice that will not be)
            unpaid = (
                VoucherRedemption.objects.filter(
                    grant__program=program,
                    invoice__month=month,
                    invoice__status=InvoiceStatus.ISSUED,
                    voided_at__isnull=True,
                )
                .values("invoice")
                .distinct()
                .count()
            )
            if unpaid:
                raise InvalidState(
                    f"{unpaid} invoice(s) of {month:%Y-%m} with this programme's vouchers are "
                    "not paid yet, and it claims paid invoices only: record their payments "
                    "first."
                )
    record, _ = VoucherClaim.objects.select_for_update().get_or_create(program=program, month=month)
    if _NEXT_CLAIM_STATUS.get(ClaimStatus(record.status)) != status:
        raise InvalidState(f"A {record.status} claim cannot become {status}.")
    before = snapshot(record)
    if status == ClaimStatus.SUBMITTED:
        record.total = voucher_claim_get(program=program, month=month).total
        record.submitted_at = now
    else:
        record.reimbursed_at = now
    record.status = status
    record.save()
    audit_record(
        actor=actor,
        action="voucher_claim.advance",
        instance=record,
        before=before,
        after=snapshot(record),
    )
    return voucher_claim_get(program=program, month=month)
