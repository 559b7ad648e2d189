from django.urls import path
from rest_framework.routers import SimpleRouter

from billing.api import budgets, fapiao, views

router = SimpleRouter()
router.register("metrics", views.MetricViewSet, basename="metric")
router.register("usage-records", views.UsageRecordViewSet, basename="usage-record")
router.register("voucher-programs", views.VoucherProgramViewSet, basename="voucher-program")
router.register("voucher-grants", views.VoucherGrantViewSet, basename="voucher-grant")
router.register("invoice-runs", views.InvoiceRunViewSet, basename="invoice-run")
router.register("invoices", views.InvoiceViewSet, basename="invoice")
router.register("credit-notes", views.CreditNoteViewSet, basename="credit-note")

urlpatterns = [
    path("me/billing-profile/", fapiao.MyBillingProfileView.as_view(), name="my-billing-profile"),
    path(
        "tenants/<int:tenant_id>/billing-profile/",
        fapiao.TenantBillingProfileView.as_view(),
        name="tenant-billing-profile",
    ),
    path("me/budget/", budgets.MyBudgetView.as_view(), name="my-budget"),
    path(
        "tenants/<int:tenant_id>/budget/", budgets.TenantBudgetView.as_view(), name="tenant-budget"
    ),
    *router.urls,
]
