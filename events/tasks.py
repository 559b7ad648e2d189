"""Webhook delivery on its own queue (`webhooks`, settings' CELERY_TASK_ROUTES)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from events.selectors import deliveries_due
from events.services import deliveries_attempt, events_purge

logger = logging.getLogger(__name__)


@shared_task(name="events.deliver", ignore_result=True)
def deliver(delivery_ids: list[int] | int) -> dict[str, int]:
    """One attempt of each of a batch of deliveries (each skipped when not due or another
    worker holds it); how many ended how."""
    ids = [delivery_ids] if isinstance(delivery_ids, int) else delivery_ids
    results = deliveries_attempt(ids)
    return {result: list(results.values()).count(result) for result in set(results.values())}


@shared_task(name="events.sweep_deliveries", ignore_result=True)
def sweep_deliveries() -> int:
    """Hand the due deliveries to the queue: retries, and what the after-commit hand-over lost.
    Beat runs it every few seconds; a delivery handed over twice is attempted once (the claim)."""
    due = deliveries_due()
    size = settings.WEBHOOK_BATCH_SIZE
    for start in range(0, len(due), size):
        try:
            deliver.delay(due[start : start + size])
        except Exception:  # the broker is away: the next sweep tries again
            logger.warning("could not enqueue deliveries %s", due[start:], exc_info=True)
            return start
    return len(due)


@shared_task(name="events.purge", ignore_result=True)
def purge() -> int:
    """Events past their retention, with their delivery logs (beat, nightly)."""
    return events_purge()
