"""Reads of billing that pages share: a tenant's invoices, newest first, and one of them with
its lines (set-based: a page is a fixed number of queries, whatever its length)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from accounts.models import Tenant
from billing.models import Invoice, InvoiceLine


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
