"""The console's billing pages (/console/billing/…), included from config/urls.py."""

from django.urls import path

from billing.console import tenant, vouchers

app_name = "billing-console"

urlpatterns = [
    path("usage/", tenant.usage, name="usage"),
    path("invoices/", tenant.invoices, name="invoices"),
    path("invoices/<int:pk>/", tenant.invoice, name="invoice"),
    path("vouchers/", vouchers.index, name="vouchers"),
    path("vouchers/programmes/new/", vouchers.program_new, name="voucher-program-new"),
    path("vouchers/programmes/<int:pk>/", vouchers.program_detail, name="voucher-program"),
    path("vouchers/programmes/<int:pk>/grants/", vouchers.grant_new, name="voucher-grant-new"),
    path("vouchers/programmes/<int:pk>/claim/", vouchers.claim, name="voucher-claim"),
    path("vouchers/grants/<int:pk>/", vouchers.grant_detail, name="voucher-grant"),
]
