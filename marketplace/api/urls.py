from django.urls import path
from rest_framework.routers import SimpleRouter

from marketplace.api import views

router = SimpleRouter()
router.register("sites", views.SiteViewSet, basename="site")
router.register("racks", views.RackViewSet, basename="rack")
router.register("servers", views.ServerViewSet, basename="server")
router.register("card-models", views.CardModelViewSet, basename="card-model")
router.register("cards", views.CardViewSet, basename="card")

urlpatterns = [
    path("inventory/import/", views.InventoryImportView.as_view(), name="inventory-import"),
    path(
        "inventory/capacity/",
        views.CapacityView.as_view(),
        name="inventory-capacity",
    ),
    *router.urls,
]
