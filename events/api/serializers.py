from __future__ import annotations

from rest_framework import serializers

from core.serializers import StrictBooleanField, StrictSerializer, name_of
from events.choices import EventType
from events.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint


class EventSerializer(serializers.ModelSerializer):
    """An event, as listed and as POSTed to webhooks (`events.services.event_payload`)."""

    id = serializers.CharField(read_only=True)
    tenant_name = name_of("tenant")

    class Meta:
        model = Event
        fields = ["id", "type", "created", "tenant", "tenant_name", "data"]
        read_only_fields = fields


class EndpointCreateSerializer(StrictSerializer):
    url = serializers.URLField(max_length=2000)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices),
        required=False,
        max_length=len(EventType.values),
        help_text="the event types to receive; empty or absent: every type",
    )
    active = StrictBooleanField(required=False, default=True)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)


class EndpointUpdateSerializer(EndpointCreateSerializer):
    url = serializers.URLField(max_length=2000, required=False)
    active = StrictBooleanField(required=False)


class EndpointSerializer(serializers.ModelSerializer):
    tenant_name = name_of("tenant")

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "tenant",
            "tenant_name",
            "url",
            "event_types",
            "active",
            "description",
            "disabled_reason",
            "failing_since",
            "created_at",
        ]
        read_only_fields = fields


class EndpointWithSecretSerializer(EndpointSerializer):
    """The endpoint with its signing secret: only in the answer of creation and rotation."""

    secret = serializers.CharField(read_only=True)

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["number", "at", "status_code", "duration_ms", "ok", "error"]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    event = serializers.CharField(source="event_id", read_only=True)
    event_type = serializers.CharField(source="event.type", read_only=True)
    attempt_log = AttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event",
            "event_type",
            "endpoint",
            "status",
            "attempts",
            "created",
            "last_attempt_at",
            "last_status_code",
            "last_duration_ms",
            "last_error",
            "next_attempt_at",
            "delivered_at",
            "attempt_log",
        ]
        read_only_fields = fields
