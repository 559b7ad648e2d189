"""Reads of billing that pages share, set-based (a page is a fixed number of queries, however
many invoices it lists): a tenant's invoices and one of them with its lines; for staff, a month's
invoices with their tenants and credited amounts, the month's totals by status and the month's
latest invoice run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from accounts.models import Tenant
from billing.choices import InvoiceStatus
from billing.models import CreditNote, Invoice, InvoiceLine, InvoiceRun, Payment
from billing.services.vouchers import vouchers_preview_many
from core import clock

_MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=14, decimal_places=2)
ZERO = Decimal("0.00")


def _credited() -> Coalesce:
    """The sum of an invoice's credit notes (a correlated subquery: no row multiplication)."""
    notes = (
        CreditNote.objects.filter(invoice=OuterRef("pk"))
        .order_by()
        .values("invoice")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Coalesce(Subquery(notes, output_field=_MONEY), Value(ZERO), output_field=_MONEY)


def invoices_of_month(
    *, month: dt.date, statuses: Iterable[str] | None = None
) -> QuerySet[Invoice]:
    """The month's invoices (every tenant's), their tenant selected and `credited` annotated;
    drafts first, then by number. `statuses` narrows them."""
    invoices = Invoice.objects.filter(month=month).select_related("tenant")
    if statuses is not None:
        invoices = invoices.filter(status__in=list(statuses))
    return invoices.annotate(credited=_credited()).order_by("number", "id")


@dataclass(frozen=True)
class StatusTotals:
    """Counts and sums of the month's invoices of one status (or of several: `total`)."""

    status: str
    count: int = 0
    subtotal: Decimal = ZERO
    tax: Decimal = ZERO
    voucher_deduction: Decimal = ZERO
    amount_due: Decimal = ZERO
    credited: Decimal = ZERO
    amount_paid: Decimal = ZERO
    preview: bool = False  # drafts: vouchers and amount due are what issuing now would give

    @property
    def balance(self) -> Decimal:
        """What is still to be paid: amount due − credited − paid."""
        return self.amount_due - self.credited - self.amount_paid


@dataclass(frozen=True)
class MonthTotals:
    """A month's totals per invoice status (every status, zeros included, in the model's order)
    and the total of the invoices that stand (every status but void)."""

    month: dt.date
    by_status: list[StatusTotals] = field(default_factory=list)
    total: StatusTotals = field(default_factory=lambda: StatusTotals(status="total"))

    @property
    def count(self) -> int:
        return sum(row.count for row in self.by_status)


_SUMMED = ("subtotal", "tax", "voucher_deduction", "amount_due", "amount_paid")


def invoice_totals_by_status(*, month: dt.date) -> MonthTotals:
    """The month's invoices counted and summed by status, in one grouped query."""
    rows = (
        Invoice.objects.filter(month=month)
        .order_by()
        .values("status")
        .annotate(
            count=Count("id"),
            credited=Coalesce(Sum(_credited()), Value(ZERO), output_field=_MONEY),
            **{name: Coalesce(Sum(name), Value(ZERO), output_field=_MONEY) for name in _SUMMED},
        )
    )
    found = {row["status"]: row for row in rows}
    if InvoiceStatus.DRAFT in found:  # drafts: what issuing them now would deduct (set-based)
        previews = vouchers_preview_many(
            Invoice.objects.filter(month=month, status=InvoiceStatus.DRAFT).only(
                "id", "tenant_id", "month", "status"
            )
        )
        deduction = sum(previews.values(), ZERO)
        draft = found[InvoiceStatus.DRAFT]
        draft.update(voucher_deduction=deduction, amount_due=draft["amount_due"] - deduction)
    by_status = [
        StatusTotals(
            status=status,
            **{key: value for key, value in found.get(status, {}).items() if key != "status"},
            preview=status == InvoiceStatus.DRAFT,
        )
        for status in InvoiceStatus.values
    ]
    standing = [row for row in by_status if row.status != InvoiceStatus.VOID]
    total = StatusTotals(
        status="total",
        count=sum(row.count for row in standing),
        subtotal=sum((row.subtotal for row in standing), ZERO),
        tax=sum((row.tax for row in standing), ZERO),
        voucher_deduction=sum((row.voucher_deduction for row in standing), ZERO),
        amount_due=sum((row.amount_due for row in standing), ZERO),
        credited=sum((row.credited for row in standing), ZERO),
        amount_paid=sum((row.amount_paid for row in standing), ZERO),
    )
    return MonthTotals(month=month, by_status=by_status, total=total)


def invoice_run_latest(*, month: dt.date) -> InvoiceRun | None:
    """The month's most recent invoice run, if any."""
    return InvoiceRun.objects.filter(month=month).order_by("-id").first()


def invoice_find(*, pk: int) -> Invoice | None:
    """An invoice by id (any tenant's: for staff), or None."""
    return Invoice.objects.filter(pk=pk).first()


def invoice_run_find(*, pk: int) -> InvoiceRun | None:
    """An invoice run by id, or None."""
    return InvoiceRun.objects.filter(pk=pk).first()


# --- A tenant's own invoices -------------------------------------------------------------------


def invoices_of_tenant(*, tenant: Tenant) -> QuerySet[Invoice]:
    """A tenant's invoices, newest month first (one query per page)."""
    return Invoice.objects.filter(tenant=tenant).order_by("-month", "-id")


def invoice_of_tenant(*, tenant: Tenant, pk: int) -> Invoice | None:
    """One of the tenant's invoices with its lines (their lease, metric and card model) and
    voucher redemptions (with their grant's programme); None when it is not the tenant's."""
    lines = InvoiceLine.objects.select_related("lease", "metric", "card_model").order_by("id")
    return (
        invoices_of_tenant(tenant=tenant)
        .select_related("tenant")
        .prefetch_related(Prefetch("lines", queryset=lines), "redemptions__grant__program")
        .filter(pk=pk)
        .first()
    )


# --- Fapiao: the month's requests (docs/domain.md §Fapiao) ---


def fapiao_invoices(month: dt.date, *, recorded: bool) -> QuerySet[Invoice]:
    """Issued or paid invoices issued in `month` (operator time) with (`recorded`) or without a
    fapiao number, with their tenants and lines: two queries however many."""
    start, end = clock.month_bounds(month)
    return (
        Invoice.objects.filter(
            status__in=[InvoiceStatus.ISSUED, InvoiceStatus.PAID],
            issued_at__gte=start,
            issued_at__lt=end,
            fapiao_number__isnull=not recorded,
        )
        .select_related("tenant")
        .prefetch_related(Prefetch("lines", queryset=InvoiceLine.objects.order_by("id")))
        .order_by("number", "id")
    )


def fapiao_credit_notes(month: dt.date, *, recorded: bool) -> QuerySet[CreditNote]:
    """Credit notes created in `month` whose invoice has its fapiao number (a red fapiao
    reverses a recorded one), with (`recorded`) or without their own number."""
    start, end = clock.month_bounds(month)
    return (
        CreditNote.objects.filter(
            created_at__gte=start,
            created_at__lt=end,
            invoice__fapiao_number__isnull=False,
            fapiao_number__isnull=not recorded,
        )
        .select_related("invoice__tenant")
        .prefetch_related(Prefetch("invoice__lines", queryset=InvoiceLine.objects.order_by("id")))
        .order_by("number", "id")
    )


def credit_note_find(*, pk: int) -> CreditNote | None:
    """A credit note by id (any tenant's: for staff), with its invoice, or None."""
    return CreditNote.objects.select_related("invoice").filter(pk=pk).first()


# --- Draft previews, payments and balances -----------------------------------------------------


def invoices_preview_fill(invoices: Iterable[Invoice]) -> None:
    """For reading only (never saved after): each draft's `voucher_deduction` and `amount_due`
    become what issuing it now would give (`vouchers_preview_many`: the issuing rule,
    set-based, nothing redeemed) and `preview` is True; issued, paid and void invoices keep
    their frozen figures (`preview` False). Each also gets its `balance` (amount due −
    credited − paid), from its `credited` annotation (`with_balances`)."""
    invoices = list(invoices)
    previews = vouchers_preview_many(invoices)
    for invoice in invoices:
        invoice.preview = invoice.pk in previews  # type: ignore[attr-defined]
        if invoice.pk in previews:
            invoice.voucher_deduction = previews[invoice.pk]
            invoice.amount_due = invoice.subtotal + invoice.tax - invoice.voucher_deduction
        credited = getattr(invoice, "credited", None)
        if credited is None:
            credited = invoice.credit_notes.aggregate(total=Sum("amount"))["total"] or ZERO
            invoice.credited = credited  # type: ignore[attr-defined]
        invoice.balance = invoice.amount_due - credited - invoice.amount_paid  # type: ignore[attr-defined]


def with_balances(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """`credited` (Σ credit notes) annotated and the payments prefetched (oldest first): no
    query per invoice."""
    if "credited" not in invoices.query.annotations:
        invoices = invoices.annotate(credited=_credited())
    return invoices.prefetch_related(Prefetch("payments", queryset=Payment.objects.order_by("id")))


def credit_notes_of_month(*, month: dt.date) -> QuerySet[CreditNote]:
    """The credit notes against the month's invoices, with their invoice and its tenant."""
    return (
        CreditNote.objects.filter(invoice__month=month)
        .select_related("invoice__tenant")
        .order_by("number")
    )
