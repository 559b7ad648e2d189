"""Who an invoice is from and to, as its documents show them.

A draft shows the seller and the tenant as they are now. Issuing freezes both onto the invoice
(`Invoice.seller`, `Invoice.buyer`, in the issuing transaction), and every document of an issued
invoice (PDF, CSV export, fapiao request) renders from that snapshot: renaming a tenant or
editing its billing profile later changes no issued invoice. A snapshot is a flat JSON object:
the billing profile's fields (title as `name`, tax id, fapiao type, bank, registered address and
phone, email) joined it without a migration of the old snapshots, which lack them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from stdnum.cn import uscc

from accounts.models import Tenant
from billing.choices import FapiaoType, InvoiceStatus
from billing.models import BillingProfile, Invoice
from core.exceptions import Conflict


def seller_now() -> dict[str, Any]:
    """The seller as the settings say now (SELLER_*; docs/operations.md §Seller)."""
    return {
        "name": settings.SELLER_NAME,
        "tax_id": settings.SELLER_TAX_ID,
        "address": settings.SELLER_ADDRESS,
        "phone": settings.SELLER_PHONE,
        "bank_name": settings.SELLER_BANK_NAME,
        "bank_account": settings.SELLER_BANK_ACCOUNT,
    }


def seller_configured() -> bool:
    """Whether the seller's tax id is a valid Unified Social Credit Code."""
    return uscc.is_valid(settings.SELLER_TAX_ID or "")


def seller_check() -> None:
    """Refuse (409 seller_not_configured) what needs a seller while there is none."""
    if not seller_configured():
        raise Conflict(
            "The seller is not configured: SELLER_TAX_ID is not a valid Unified Social Credit "
            "Code. The deployer sets the SELLER_* settings; nothing was issued.",
            code="seller_not_configured",
        )


def _profile_of(tenant: Tenant) -> BillingProfile | None:
    """The tenant's billing profile through its relation: a list that selects
    `tenant__billing_profile` reads it with no query of its own (a miss is cached too)."""
    try:
        return tenant.billing_profile
    except BillingProfile.DoesNotExist:
        return None


def buyer_now(tenant: Tenant) -> dict[str, Any]:
    """The tenant as its fapiao would name it now: its billing profile when it has one (title,
    tax id, fapiao type, bank, registered address and phone, email), else its name and tax id
    with an ordinary fapiao."""
    buyer: dict[str, Any] = {
        "tenant_id": tenant.pk,
        "name": tenant.name,
        "tax_id": tenant.tax_id,
        "address": tenant.billing_address,
        "fapiao_type": FapiaoType.ORDINARY.value,
    }
    profile = _profile_of(tenant)
    if profile is not None:
        buyer.update(
            name=profile.invoice_title,
            tenant_name=tenant.name,
            tax_id=profile.tax_id,
            fapiao_type=profile.fapiao_type,
            bank_name=profile.bank_name,
            bank_account=profile.bank_account,
            registered_address=profile.registered_address,
            registered_phone=profile.registered_phone,
            email=profile.email,
        )
        if profile.registered_address:
            buyer["address"] = profile.registered_address
    return buyer


def invoice_parties_freeze(invoice: Invoice) -> None:
    """Snapshot the parties onto an invoice being issued (the caller saves it)."""
    invoice.seller = seller_now()
    invoice.buyer = buyer_now(invoice.tenant)


def invoice_seller(invoice: Invoice) -> dict[str, Any]:
    return seller_now() if invoice.status == InvoiceStatus.DRAFT else invoice.seller


def invoice_buyer(invoice: Invoice) -> dict[str, Any]:
    return buyer_now(invoice.tenant) if invoice.status == InvoiceStatus.DRAFT else invoice.buyer
