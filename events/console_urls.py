"""The console's Webhooks (tenant users) and Events (staff) pages, included from config/urls.py
under /console/."""

from django.urls import path

from events import console

app_name = "events-console"

urlpatterns = [
    path("webhooks/", console.webhooks, name="webhooks"),
    path("webhooks/<int:pk>/", console.endpoint, name="endpoint"),
    path("webhooks/<int:pk>/rotate/", console.rotate, name="rotate"),
    path("webhooks/<int:pk>/toggle/", console.toggle, name="toggle"),
    path(
        "webhooks/<int:pk>/deliveries/<int:delivery_id>/retry/",
        console.retry,
        name="retry",
    ),
    path("events/", console.events, name="events"),
]
