from django.urls import path
from rest_framework.routers import SimpleRouter

from leasing.api import views

router = SimpleRouter()
router.register("leases", views.LeaseViewSet, basename="lease")

urlpatterns = [
    path("availability/", views.AvailabilityView.as_view(), name="availability"),
    path(
        "cards/<int:pk>/maintenance/",
        views.CardMaintenanceView.as_view(),
        name="card-maintenance",
    ),
    *router.urls,
]
