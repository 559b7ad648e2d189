"""The outbox of events, webhook endpoints and their deliveries (docs/api.md §Events and
webhooks)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q

from accounts.models import Tenant
from core.models import TimeStampedModel
from events.choices import DeliveryStatus, EventType


class Event(models.Model):
    """One change of interest, recorded in the transaction of the change (the outbox).

    `id` is the `webhook-id` of every delivery of it: receivers dedupe by it. `tenant` is null
    for events only staff see. `data` is the object as the API shows it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=40, choices=EventType.choices)
    created = models.DateTimeField()
    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    data = models.JSONField(encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            models.Index(fields=["-created", "-id"], name="events_event_newest"),
            models.Index(fields=["tenant", "-created"], name="events_event_tenant_newest"),
            models.Index(fields=["type", "-created"], name="events_event_type_newest"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class WebhookEndpoint(TimeStampedModel):
    """Where events are POSTed. A tenant's endpoint receives its tenant's events; a staff
    endpoint (no tenant) receives every event. `event_types` empty = every type."""

    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.PROTECT, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=2000)
    event_types = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)
    secret = models.CharField(max_length=100, editable=False)
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text="the first failed attempt since the last success"
    )
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url


class Delivery(models.Model):
    """One event to one endpoint: pending until a 2xx, or failed after the last retry.

    A worker claims the row (`claimed_until`) in a short transaction, POSTs with no transaction
    open, and records the outcome in another; a claim that outlives its worker expires and the
    sweep retries it (at least once)."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    created = models.DateTimeField()
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="events_delivery_once"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="events_delivery_due",
                condition=Q(status=DeliveryStatus.PENDING),
            ),
            models.Index(fields=["endpoint", "-created"], name="events_delivery_endpoint"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.status})"


class DeliveryAttempt(models.Model):
    """The log of one POST: when, the answer's status code (null when none came), how long."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    ok = models.BooleanField()
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="events_attempt_once"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"
