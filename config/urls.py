from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, reverse_lazy
from django.views.generic import RedirectView

from core.api.root import ApiRootView, DocsView, SchemaView
from core.api.views import healthz

api_v1: list[URLPattern | URLResolver] = [
    path("", include("core.api.urls")),
    path("", include("accounts.api.urls")),
    path("", include("leasing.api.urls")),
    path("", include("billing.api.urls")),
    path("", include("events.api.urls")),
    path("", include("marketplace.api.urls")),
    path("", include("analytics.api.urls")),
]
api_v1.insert(0, path("", ApiRootView.as_view(patterns=api_v1), name="api-root"))

# People meet the console first: the site's root and the admin's "View site" lead there (it sends
# whoever is not signed in to its login page); the API's docs are at /api/docs/.
admin.site.site_url = reverse_lazy("console:home")  # type: ignore[assignment]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("healthz/", healthz),
    path("", RedirectView.as_view(pattern_name="console:home"), name="site-root"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", DocsView.as_view(url_name="schema"), name="api-docs"),
    path("api-auth/", include("rest_framework.urls")),
    path("admin/", admin.site.urls),
    # the web console (core/console.py); apps' pages go beside it: console/<area>/
    path("console/", include("core.console_urls")),
    path("console/leases/", include("leasing.console_urls")),
    path("console/", include("analytics.console_urls")),  # business-cases/, revenue/, fleet
    path("console/billing/", include("billing.console_urls")),
    path("console/", include("events.console_urls")),  # webhooks/, events/
]

if settings.BENCH_ENDPOINTS:  # the benchmarks' unauthenticated baselines: never in production
    urlpatterns.append(path("bench/", include("bench.textbook")))

handler400 = "core.api.views.bad_request"
handler403 = "core.console.permission_denied"
handler404 = "core.api.views.not_found"
handler500 = "core.api.views.server_error"
