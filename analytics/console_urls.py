"""The analytics app's console pages, included from config/urls.py: the operators' Fleet pages
under console/fleet/ (analytics/console/fleet.py)."""

from django.urls import path

from analytics.console import fleet

app_name = "analytics-console"

urlpatterns = [
    # Fleet (operators): overview, sites and their heat maps, racks, cards into maintenance
    path("", fleet.overview, name="fleet"),
    path("recompute/", fleet.recompute, name="fleet-recompute"),
    path("sites/", fleet.sites, name="sites"),
    path("sites/<int:pk>/", fleet.site, name="site"),
    path("racks/<int:pk>/", fleet.rack, name="rack"),
    path("cards/<int:pk>/maintenance/", fleet.maintenance, name="card-maintenance"),
]
