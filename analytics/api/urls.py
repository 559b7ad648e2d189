from django.urls import path
from rest_framework.routers import SimpleRouter

from analytics.api import business_cases, reports

router = SimpleRouter()
router.register("business-cases", business_cases.BusinessCaseViewSet, basename="business-case")

urlpatterns = [
    path("reports/occupancy/", reports.OccupancyReportView.as_view(), name="report-occupancy"),
    path("reports/revenue/", reports.RevenueReportView.as_view(), name="report-revenue"),
    path("reports/recompute/", reports.RecomputeView.as_view(), name="report-recompute"),
    path(
        "reports/recompute/<int:pk>/",
        reports.RecomputeRunView.as_view(),
        name="report-recompute-run",
    ),
    *router.urls,
]
