"""Handing work to Celery without holding a web worker on a dead broker.

Two kinds of enqueue, by what the request needs:
- `queue_check()` before a write whose only way to finish is a task (an async invoice run): when
  the broker does not answer within a couple of seconds the request is a 503 and records nothing.
- `enqueue_nudge()` for a task that only speeds up what a periodic task catches up on anyway
  (metering a stopped lease): a failure is logged and the request answers normally.

The broker's connect and publish timeouts and retries are bounded in settings (CELERY_BROKER_*,
CELERY_TASK_PUBLISH_RETRY_POLICY, CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app

from core.exceptions import ServiceUnavailable

logger = logging.getLogger(__name__)

QUEUE_DOWN = "The task queue is unavailable; try again shortly."
_CHECK_TIMEOUT_SECONDS = 2


def queue_check() -> None:
    """Raise ServiceUnavailable unless the broker accepts a connection now."""
    try:
        with current_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=_CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # kombu and redis-py raise several families: all mean "away"
        logger.warning("task queue unavailable: %r", exc)
        raise ServiceUnavailable(QUEUE_DOWN) from exc


def enqueue_nudge(task_name: str, *args: Any) -> bool:
    """Send `task_name` if the broker takes it; log and go on if it does not."""
    try:
        current_app.send_task(task_name, args=args, ignore_result=True)
    except Exception:  # the broker being away must not fail a request that has committed
        logger.warning("could not enqueue %s%r", task_name, args, exc_info=True)
        return False
    return True
