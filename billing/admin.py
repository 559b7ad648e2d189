"""Billing in the admin: visible, read-only. Every billing row is made or changed by a service
(metering, usage ingestion, invoicing, vouchers) with its audit; staff issue and void invoices
through admin actions that call the invoicing services."""

from typing import Any

from django.contrib import admin

from billing.models import (
    BillingProfile,
    Budget,
    BudgetNotice,
    CreditNote,
    DocumentCounter,
    Invoice,
    InvoiceLine,
    InvoiceRun,
    InvoiceRunBatch,
    Metric,
    Payment,
    UsageRecord,
    VoucherClaim,
    VoucherGrant,
    VoucherModelRate,
    VoucherProgram,
    VoucherRedemption,
)
from billing.services import invoicing
from core.admin import GovernedAdmin, GovernedTabularInline, service_action


class InvoiceLineInline(GovernedTabularInline):
    model = InvoiceLine
    fields = [
        "kind", "description", "lease", "quantity", "unit", "unit_price", "amount",
        "period_start", "period_end",
    ]  # fmt: skip


class RedemptionInline(GovernedTabularInline):
    model = VoucherRedemption
    fields = ["grant", "amount", "created_at", "voided_at"]


class PaymentInline(GovernedTabularInline):
    model = Payment
    fields = ["amount", "paid_on", "reference", "created_at", "created_by"]


def issue(invoice: Any, values: dict[str, Any]) -> object:
    return invoicing.invoice_issue(actor=values["actor"], invoice=invoice)


def void(invoice: Any, values: dict[str, Any]) -> object:
    return invoicing.invoice_void(actor=values["actor"], invoice=invoice, reason=values["reason"])


@admin.register(Invoice)
class InvoiceAdmin(GovernedAdmin):
    list_display = ["id", "number", "tenant", "month", "status", "amount_due", "issued_at"]
    list_filter = ["status", "month"]
    search_fields = ["number", "tenant__name"]
    list_select_related = ["tenant"]
    inlines = [InvoiceLineInline, RedemptionInline, PaymentInline]
    actions = [
        service_action(description="Issue the selected draft invoices", call=issue),
        service_action(
            description="Void the selected issued invoices (with a reason)",
            call=void,
            ask_reason=True,
        ),
    ]


@admin.register(InvoiceLine)
class InvoiceLineAdmin(GovernedAdmin):
    list_display = ["id", "invoice", "kind", "description", "amount"]
    list_filter = ["kind"]
    list_select_related = ["invoice"]
    show_full_result_count = False


@admin.register(InvoiceRun)
class InvoiceRunAdmin(GovernedAdmin):
    list_display = ["id", "month", "status", "invoices", "finished_at"]


@admin.register(InvoiceRunBatch)
class InvoiceRunBatchAdmin(GovernedAdmin):
    list_display = ["id", "run", "tenant_from", "tenant_to", "status", "owner_pid", "finished_at"]
    list_select_related = ["run"]


@admin.register(CreditNote)
class CreditNoteAdmin(GovernedAdmin):
    list_display = ["id", "number", "invoice", "amount", "created_at"]
    list_select_related = ["invoice"]


@admin.register(Payment)
class PaymentAdmin(GovernedAdmin):
    list_display = ["id", "invoice", "amount", "paid_on", "reference", "created_at"]
    list_select_related = ["invoice"]


@admin.register(DocumentCounter)
class DocumentCounterAdmin(GovernedAdmin):
    list_display = ["series", "year", "last"]


@admin.register(UsageRecord)
class UsageRecordAdmin(GovernedAdmin):
    list_display = ["id", "tenant", "metric", "quantity", "start", "end", "source", "invoice"]
    list_filter = ["source", "metric"]
    list_select_related = ["tenant", "metric"]
    show_full_result_count = False


@admin.register(Metric)
class MetricAdmin(GovernedAdmin):
    list_display = ["code", "name", "unit", "unit_price", "billable", "external"]


@admin.register(VoucherProgram)
class VoucherProgramAdmin(GovernedAdmin):
    list_display = ["id", "name", "issuer", "budget", "granted", "valid_from", "valid_to"]


@admin.register(VoucherModelRate)
class VoucherModelRateAdmin(GovernedAdmin):
    list_display = ["id", "program", "card_model", "rate"]


@admin.register(VoucherGrant)
class VoucherGrantAdmin(GovernedAdmin):
    list_display = ["id", "program", "tenant", "amount", "redeemed", "valid_from", "valid_to"]
    list_select_related = ["program", "tenant"]


@admin.register(VoucherRedemption)
class VoucherRedemptionAdmin(GovernedAdmin):
    list_display = ["id", "grant", "invoice", "amount", "created_at", "voided_at"]


@admin.register(VoucherClaim)
class VoucherClaimAdmin(GovernedAdmin):
    list_display = ["id", "program", "month", "status", "total"]


# --- Invoicing in China: billing profiles (edited by tenants and finance through the service) ---


@admin.register(BillingProfile)
class BillingProfileAdmin(GovernedAdmin):
    list_display = ["id", "tenant", "invoice_title", "tax_id", "fapiao_type", "updated_at"]
    list_filter = ["fapiao_type"]
    search_fields = ["invoice_title", "tax_id", "tenant__name"]
    list_select_related = ["tenant"]


# --- Spend limits (set by tenants and finance through the service; notices by the evaluation) ---


@admin.register(Budget)
class BudgetAdmin(GovernedAdmin):
    list_display = ["id", "tenant", "monthly_limit", "warn_at", "action", "updated_at"]
    list_filter = ["action"]
    search_fields = ["tenant__name"]
    list_select_related = ["tenant"]


@admin.register(BudgetNotice)
class BudgetNoticeAdmin(GovernedAdmin):
    list_display = ["id", "tenant", "month", "monthly_limit", "kind", "threshold", "spend", "at"]
    list_filter = ["kind", "month"]
    search_fields = ["tenant__name"]
    list_select_related = ["tenant"]
