from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.api.views import (
    LogoutAllView,
    LogoutView,
    MeView,
    TenantViewSet,
    TokenObtainView,
)

router = SimpleRouter()
router.register("tenants", TenantViewSet, basename="tenant")

urlpatterns = [
    path("me/", MeView.as_view(), name="me"),
    path("auth/token/", TokenObtainView.as_view(), name="auth-token"),
    path("auth/logout/", LogoutView.as_view(), name="auth-logout"),
    path("auth/logout-all/", LogoutAllView.as_view(), name="auth-logout-all"),
    *router.urls,
]
