"""A real Celery worker for a test: in a thread of the test process (solo pool), taking every
queue as the Procfile's worker does."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from celery.contrib.testing.worker import start_worker
from django.conf import settings

from config.celery import app as celery_app


def real_worker() -> AbstractContextManager[Any]:
    return start_worker(
        celery_app,
        pool="solo",
        perform_ping_check=False,
        shutdown_timeout=10,
        queues=list(settings.WORKER_QUEUES),
    )
