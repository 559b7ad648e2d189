"""The console's billing pages (/console/billing/…), included from config/urls.py."""

from django.urls import path

from billing.console import budget, fapiao, month_end, tenant, vouchers

app_name = "billing-console"

urlpatterns = [
    path("usage/", tenant.usage, name="usage"),
    path("budget/", budget.budget, name="budget"),  # spend limits (billing/console/budget.py)
    path("invoices/", tenant.invoices, name="invoices"),
    path("invoices/<int:pk>/", tenant.invoice, name="invoice"),
    path("vouchers/", vouchers.index, name="vouchers"),
    path("vouchers/programmes/new/", vouchers.program_new, name="voucher-program-new"),
    path("vouchers/programmes/<int:pk>/", vouchers.program_detail, name="voucher-program"),
    path("vouchers/programmes/<int:pk>/grants/", vouchers.grant_new, name="voucher-grant-new"),
    path("vouchers/programmes/<int:pk>/claim/", vouchers.claim, name="voucher-claim"),
    path("vouchers/grants/<int:pk>/", vouchers.grant_detail, name="voucher-grant"),
    path("vouchers/programmes/<int:pk>/edit/", vouchers.program_edit, name="voucher-program-edit"),
    path(
        "vouchers/programmes/<int:pk>/close/",
        vouchers.program_close,
        name="voucher-program-close",
    ),
    path("vouchers/grants/<int:pk>/revoke/", vouchers.grant_revoke, name="voucher-grant-revoke"),
    path("month-end/", month_end.month_end, name="month-end"),
    path("month-end/run/", month_end.run_start, name="month-end-run"),
    path("month-end/runs/<int:pk>/", month_end.run_status, name="month-end-run-status"),
    path("month-end/issue-all/", month_end.issue_all, name="month-end-issue-all"),
    path("month-end/<int:pk>/issue/", month_end.issue, name="month-end-issue"),
    path("month-end/<int:pk>/pay/", month_end.pay, name="month-end-pay"),
    path("month-end/<int:pk>/void/", month_end.void, name="month-end-void"),
    path("month-end/<int:pk>/credit/", month_end.credit, name="month-end-credit"),
    # Invoicing in China (billing/console/fapiao.py)
    path("profile/", fapiao.profile, name="billing-profile"),
    path("fapiao/", fapiao.queue, name="fapiao"),
    path("fapiao/invoices/<int:pk>/", fapiao.record_invoice, name="fapiao-invoice"),
    path("fapiao/credit-notes/<int:pk>/", fapiao.record_credit_note, name="fapiao-credit"),
]
