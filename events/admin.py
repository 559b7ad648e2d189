from django.contrib import admin

from core.admin import GovernedAdmin, GovernedTabularInline
from events.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint


@admin.register(Event)
class EventAdmin(GovernedAdmin):
    """The outbox: written by the services that make each change, read-only here."""

    list_display = ["id", "type", "created", "tenant"]
    list_filter = ["type"]
    search_fields = ["tenant__name"]
    list_select_related = ["tenant"]
    show_full_result_count = False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(GovernedAdmin):
    """Endpoints change through the API and the console (their secret is never shown here)."""

    list_display = ["id", "tenant", "url", "active", "failing_since", "disabled_reason"]
    list_filter = ["active"]
    list_select_related = ["tenant"]
    exclude = ["secret"]


class DeliveryAttemptInline(GovernedTabularInline):
    model = DeliveryAttempt
    fields = ["number", "at", "status_code", "duration_ms", "ok", "error"]


@admin.register(Delivery)
class DeliveryAdmin(GovernedAdmin):
    list_display = ["id", "event", "endpoint", "status", "attempts", "next_attempt_at"]
    list_filter = ["status"]
    list_select_related = ["event", "endpoint"]
    inlines = [DeliveryAttemptInline]
    show_full_result_count = False


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(GovernedAdmin):
    list_display = ["id", "delivery", "number", "at", "status_code", "ok"]
    list_select_related = ["delivery"]
    show_full_result_count = False
