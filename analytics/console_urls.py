"""The analytics app's console pages, included from config/urls.py at console/: the operators'
Fleet pages (analytics/console/fleet.py), business cases and revenue."""

from django.urls import path

from analytics.console import business_cases, fleet, revenue

app_name = "analytics-console"

urlpatterns = [
    # Fleet (operators): overview, sites and their heat maps, racks, cards into maintenance
    path("fleet/", fleet.overview, name="fleet"),
    path("fleet/recompute/", fleet.recompute, name="fleet-recompute"),
    path("fleet/sites/", fleet.sites, name="sites"),
    path("fleet/sites/<int:pk>/", fleet.site, name="site"),
    path("fleet/racks/<int:pk>/", fleet.rack, name="rack"),
    path("fleet/cards/<int:pk>/maintenance/", fleet.maintenance, name="card-maintenance"),
    # Business cases (operators)
    path("business-cases/", business_cases.sites, name="business-cases"),
    path("business-cases/<int:pk>/", business_cases.case_detail, name="business-case"),
    path(
        "business-cases/sites/<int:pk>/",
        business_cases.site_case,
        name="business-case-site",
    ),
    # Revenue (finance)
    path("revenue/", revenue.revenue, name="revenue"),
    path("revenue/recompute/", revenue.recompute, name="revenue-recompute"),
]
