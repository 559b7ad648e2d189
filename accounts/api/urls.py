from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.api.views import MeView, TenantViewSet

router = SimpleRouter()
router.register("tenants", TenantViewSet, basename="tenant")

urlpatterns = [path("me/", MeView.as_view(), name="me"), *router.urls]
