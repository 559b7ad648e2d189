"""Webhook delivery on its own queue (`webhooks`, settings' CELERY_TASK_ROUTES)."""

from __future__ import annotations

import logging

from celery import shared_task

from events.selectors import deliveries_due
from events.services import delivery_attempt

logger = logging.getLogger(__name__)


@shared_task(name="events.deliver", ignore_result=True)
def deliver(delivery_id: int) -> str:
    """One attempt of one delivery (skipped when not due or another worker holds it)."""
    return delivery_attempt(delivery_id=delivery_id)


@shared_task(name="events.sweep_deliveries", ignore_result=True)
def sweep_deliveries() -> int:
    """Hand the due deliveries to the queue: retries, and what the after-commit hand-over lost.
    Beat runs it every few seconds; a delivery handed over twice is attempted once (the claim)."""
    due = deliveries_due()
    for count, delivery_id in enumerate(due):
        try:
            deliver.delay(delivery_id)
        except Exception:  # the broker is away: the next sweep tries again
            logger.warning("could not enqueue delivery %s", delivery_id, exc_info=True)
            return count
    return len(due)
