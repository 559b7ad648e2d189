from rest_framework.routers import SimpleRouter

from billing.api import views

router = SimpleRouter()
router.register("metrics", views.MetricViewSet, basename="metric")
router.register("usage-records", views.UsageRecordViewSet, basename="usage-record")
router.register("voucher-programs", views.VoucherProgramViewSet, basename="voucher-program")
router.register("voucher-grants", views.VoucherGrantViewSet, basename="voucher-grant")
router.register("invoice-runs", views.InvoiceRunViewSet, basename="invoice-run")
router.register("invoices", views.InvoiceViewSet, basename="invoice")
router.register("credit-notes", views.CreditNoteViewSet, basename="credit-note")

urlpatterns = router.urls
