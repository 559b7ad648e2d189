"""Reads of events, endpoints and deliveries shared by the API, the console and the tasks."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet

from accounts.models import Tenant
from core import clock
from events.choices import DeliveryStatus
from events.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint


def events_visible(*, tenant: Tenant | None) -> QuerySet[Event]:
    """Newest first: a tenant's own events, or every event for staff (`tenant=None`)."""
    events = Event.objects.select_related("tenant").order_by("-created", "-id")
    return events if tenant is None else events.filter(tenant=tenant)


def endpoints_of(*, tenant: Tenant | None) -> QuerySet[WebhookEndpoint]:
    """A tenant's endpoints, or the staff endpoints (no tenant) for `tenant=None`."""
    endpoints = WebhookEndpoint.objects.select_related("tenant").order_by("id")
    return (
        endpoints.filter(tenant__isnull=True) if tenant is None else endpoints.filter(tenant=tenant)
    )


def deliveries_of(*, endpoint: WebhookEndpoint) -> QuerySet[Delivery]:
    """An endpoint's deliveries, newest first, with their event and attempt log (three
    queries for a page, whatever its rows)."""
    return (
        Delivery.objects.filter(endpoint=endpoint)
        .select_related("event")
        .prefetch_related(
            Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("number"))
        )
        .order_by("-created", "-id")
    )


def deliveries_due(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Pending deliveries the sweep should hand to the queue: retries whose time has come, and
    first attempts that the after-commit hand-over has not delivered within the grace period
    (a dead broker, a worker killed before it posted). Claimed ones are left to their worker
    until the claim expires."""
    now = now or clock.now()
    grace = now - dt.timedelta(seconds=settings.WEBHOOK_SWEEP_GRACE_SECONDS)
    return list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(attempts__gt=0) | Q(created__lte=grace))
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
