"""Events past their retention go, with their delivery logs; the ones still needed stay."""

from __future__ import annotations

import datetime as dt
from typing import Any

import time_machine
from django.db import transaction

from events import services
from events.choices import DeliveryStatus, EventType
from events.models import Delivery, DeliveryAttempt, Event
from events.tasks import purge
from tests.events.conftest import Receiver, endpoint_for


def _record(kind: str, tenant: Any = None) -> Event:
    with transaction.atomic():
        return services.event_record(type=kind, tenant=tenant, data={"id": 1})


def test_the_purge_takes_old_events_with_their_logs_and_keeps_what_is_still_needed(
    world, receiver: Receiver, settings: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(services, "enqueue_nudge", lambda *args: False)
    settings.EVENT_RETENTION_DAYS = 90
    endpoint_for(None, receiver.url)
    long_ago = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    with time_machine.travel(long_ago, tick=False):
        delivered = _record(EventType.LEASE_CREATED)
        assert services.delivery_attempt(delivery_id=delivered.deliveries.get().pk) == "delivered"
        pending = _record(EventType.LEASE_ENDED)
        announced = _record(EventType.GRANT_LOW_BALANCE, world["a"])
    with time_machine.travel(long_ago + dt.timedelta(days=89), tick=False):
        recent = _record(EventType.LEASE_CREATED)
    with time_machine.travel(long_ago + dt.timedelta(days=91), tick=False):
        assert purge() == 1
        assert services.events_purge(chunk=1) == 0  # nothing more, by chunks too
    kept = set(Event.objects.values_list("id", flat=True))
    assert kept == {pending.id, announced.id, recent.id}
    assert not Delivery.objects.filter(event_id=delivered.id).exists()
    assert not DeliveryAttempt.objects.exists()  # the only attempt was the purged event's
    assert Delivery.objects.get(event=pending).status == DeliveryStatus.PENDING


def test_the_purge_goes_by_chunks(world, settings: Any) -> None:
    settings.EVENT_RETENTION_DAYS = 1
    with (
        time_machine.travel(dt.datetime(2027, 1, 1, tzinfo=dt.UTC), tick=False),
        transaction.atomic(),
    ):
        services.events_record((EventType.LEASE_CREATED, None, {"n": n}) for n in range(7))
    with time_machine.travel(dt.datetime(2027, 1, 3, tzinfo=dt.UTC), tick=False):
        assert services.events_purge(chunk=3) == 7
    assert not Event.objects.exists()
