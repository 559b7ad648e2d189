from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.api.views import healthz

api_v1 = [
    path("", include("core.api.urls")),
    path("", include("accounts.api.urls")),
    path("", include("leasing.api.urls")),
    path("", include("billing.api.urls")),
    path("", include("marketplace.api.urls")),
    path("", include("analytics.api.urls")),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("healthz/", healthz),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api-auth/", include("rest_framework.urls")),
    path("admin/", admin.site.urls),
]

if settings.BENCH_ENDPOINTS:  # the benchmarks' unauthenticated baselines: never in production
    urlpatterns.append(path("bench/", include("bench.textbook")))

handler404 = "core.api.views.not_found"
handler500 = "core.api.views.server_error"
