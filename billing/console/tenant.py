"""The console's billing pages for tenant users: usage and charges of the running month (the
invoice preview, `invoicing.invoice_preview`: the invoice run's own lines and the issuing rule's
vouchers, nothing stored), their invoices (newest first, paginated) and one invoice with its
lines. The PDF is the API's (`/api/v1/invoices/<pk>/pdf/`, which takes the session too)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from accounts.models import Tenant
from billing.choices import InvoiceStatus, LineKind
from billing.models import Invoice, InvoiceLine
from billing.selectors import invoice_of_tenant, invoices_of_tenant
from billing.services.invoicing import invoice_preview
from billing.services.vouchers import vouchers_preview_by_grant
from core.console import console_view
from core.roles import Role

PAGE_SIZE = 25

STATUS_LABELS: dict[str, Promise] = {
    InvoiceStatus.DRAFT: _("Draft"),
    InvoiceStatus.ISSUED: _("Issued"),
    InvoiceStatus.PAID: _("Paid"),
    InvoiceStatus.VOID: _("Void"),
}
LINE_LABELS: dict[str, Promise] = {
    LineKind.LONG_LEASE_FEE: _("Long-lease fee"),
    LineKind.SHORT_LEASE_USAGE: _("Short-lease usage"),
    LineKind.METERED_USAGE: _("Metered usage"),
    LineKind.TERMINATION_FEE: _("Early termination fee"),
    LineKind.PRIOR_PERIOD: _("Prior-period usage"),
}
UNIT_LABELS: dict[str, Promise] = {
    "card-month": _("card-months"),
    "card-hour": _("card-hours"),
    "fee": _("one-off"),
}


def _percent(rate: Decimal) -> Decimal:
    return Decimal(rate) * 100


def _line(line: InvoiceLine) -> dict[str, Any]:
    """What a person reads of an invoice line: its kind, lease, card model or metric in words."""
    return {
        "line": line,
        "label": LINE_LABELS.get(line.kind, line.kind),
        "unit": UNIT_LABELS.get(line.unit, line.unit),
        "what": line.metric.name
        if line.metric and line.kind != LineKind.SHORT_LEASE_USAGE
        else (line.card_model.name if line.card_model else ""),
    }


def _invoice_row(invoice: Invoice) -> dict[str, Any]:
    return {
        "invoice": invoice,
        "status_label": STATUS_LABELS.get(invoice.status, invoice.status),
        "total": invoice.subtotal + invoice.tax,
        "tax_percent": _percent(invoice.tax_rate),
    }


@console_view(roles=[Role.TENANT])
@require_GET
def usage(request: HttpRequest, *, tenant: Tenant) -> HttpResponse:
    """Usage and charges of the running month so far: the invoice preview's lines, the
    vouchers issuing would apply, and the running total."""
    preview = invoice_preview(tenant=tenant)
    context: dict[str, Any] = {
        "preview": preview,
        "lines": [_line(line) for line in preview.lines],
        "total": preview.subtotal + preview.tax,
        "tax_percent": _percent(preview.invoice.tax_rate if preview.invoice else settings.VAT_RATE),
    }
    return render(request, "billing/console/usage.html", context)


@console_view(roles=[Role.TENANT])
@require_GET
def invoices(request: HttpRequest, *, tenant: Tenant) -> HttpResponse:
    """The tenant's invoices, newest first."""
    page = Paginator(invoices_of_tenant(tenant=tenant), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "rows": [_invoice_row(invoice) for invoice in page]}
    return render(request, "billing/console/invoices.html", context)


@console_view(roles=[Role.TENANT])
@require_GET
def invoice(request: HttpRequest, pk: int, *, tenant: Tenant) -> HttpResponse:
    """One of the tenant's invoices with its lines; another tenant's is the 404 page. A draft
    shows the vouchers issuing it now would apply (the issuing rule, nothing redeemed)."""
    found = invoice_of_tenant(tenant=tenant, pk=pk)
    if found is None:
        raise Http404
    lines = list(found.lines.all())
    context: dict[str, Any] = {
        **_invoice_row(found),
        "lines": [_line(line) for line in lines],
        "redemptions": [r for r in found.redemptions.all() if r.voided_at is None],
    }
    if found.status == InvoiceStatus.DRAFT:
        vouchers = vouchers_preview_by_grant(invoice=found, lines=lines)
        deduction = sum((amount for _, amount in vouchers), Decimal("0.00"))
        context.update(
            preview_vouchers=vouchers,
            voucher_deduction=deduction,
            amount_due=found.subtotal + found.tax - deduction,
        )
    else:
        context.update(voucher_deduction=found.voucher_deduction, amount_due=found.amount_due)
    return render(request, "billing/console/invoice.html", context)
