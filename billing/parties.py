"""Who an invoice is from and to, as its documents show them.

A draft shows the seller and the tenant as they are now. Issuing freezes both onto the invoice
(`Invoice.seller`, `Invoice.buyer`, in the issuing transaction), and every document of an issued
invoice (PDF, CSV export) renders from that snapshot: renaming a tenant later changes no issued
invoice. A snapshot is a flat JSON object so that more buyer fields (a billing profile's title,
bank, fapiao type) can join it without a migration of the old ones.
"""

from __future__ import annotations

from typing import Any

from accounts.models import Tenant
from billing.choices import InvoiceStatus
from billing.models import Invoice

SELLER = {
    "name": "AIDC Compute Services Co., Ltd. 算力服务有限公司",
    "tax_id": "91420500MA49XXXX0A",
    "address": "Yichang, Hubei, China 湖北省宜昌市",
}


def seller_now() -> dict[str, Any]:
    return dict(SELLER)


def buyer_now(tenant: Tenant) -> dict[str, Any]:
    return {
        "tenant_id": tenant.pk,
        "name": tenant.name,
        "tax_id": tenant.tax_id,
        "address": tenant.billing_address,
    }


def invoice_parties_freeze(invoice: Invoice) -> None:
    """Snapshot the parties onto an invoice being issued (the caller saves it)."""
    invoice.seller = seller_now()
    invoice.buyer = buyer_now(invoice.tenant)


def invoice_seller(invoice: Invoice) -> dict[str, Any]:
    return seller_now() if invoice.status == InvoiceStatus.DRAFT else invoice.seller


def invoice_buyer(invoice: Invoice) -> dict[str, Any]:
    return buyer_now(invoice.tenant) if invoice.status == InvoiceStatus.DRAFT else invoice.buyer
