"""The console's billing pages (/console/billing/…), included from config/urls.py."""

from django.urls import path

from billing.console import tenant

app_name = "billing-console"

urlpatterns = [
    path("usage/", tenant.usage, name="usage"),
    path("invoices/", tenant.invoices, name="invoices"),
    path("invoices/<int:pk>/", tenant.invoice, name="invoice"),
]
