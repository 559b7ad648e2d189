"""The analytics app's console pages, included from config/urls.py at console/."""

from django.urls import path

from analytics.console import business_cases, revenue

app_name = "analytics-console"

urlpatterns = [
    path("business-cases/", business_cases.sites, name="business-cases"),
    path("business-cases/<int:pk>/", business_cases.case_detail, name="business-case"),
    path(
        "business-cases/sites/<int:pk>/",
        business_cases.site_case,
        name="business-case-site",
    ),
    path("revenue/", revenue.revenue, name="revenue"),
    path("revenue/recompute/", revenue.recompute, name="revenue-recompute"),
]
