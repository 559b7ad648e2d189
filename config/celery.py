"""The Celery app. The beat schedule is declared here, once, and loaded into django-celery-beat."""

import logging
import os
from typing import Any

from celery import Celery
from celery.schedules import crontab
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("aidc")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Times are operator-local (CELERY_TIMEZONE = OPERATOR_TIME_ZONE).
app.conf.beat_schedule = {
    "meter-short-leases": {
        "task": "billing.meter_short_leases",
        "schedule": crontab(minute=2),
    },
    "run-previous-month-invoices": {
        "task": "billing.run_previous_month_invoices",
        "schedule": crontab(minute=0, hour=3, day_of_month=1),
    },
    "nightly-occupancy-revenue": {
        "task": "analytics.nightly_recompute",
        "schedule": crontab(minute=0, hour=1),
    },
    # spend limits: warnings, reached, stops (billing.services.spend)
    "evaluate-spend-limits": {
        "task": "billing.evaluate_spend",
        "schedule": 60.0,
    },
    "advance-leases": {
        "task": "leasing.advance_leases",
        "schedule": 60.0,
    },
    # runs whose worker died (core.runs): redone now, not when the broker gives their task back
    "recover-invoice-runs": {
        "task": "billing.recover_runs",
        "schedule": 60.0,
    },
    "recover-recompute-runs": {
        "task": "analytics.recover_runs",
        "schedule": 60.0,
    },
    # webhook retries, and deliveries the after-commit hand-over lost (events/)
    "sweep-webhook-deliveries": {
        "task": "events.sweep_deliveries",
        "schedule": 5.0,
    },
    # the usage ledger's monthly partitions, made ahead (billing.services.partitions)
    "ensure-usage-partitions": {
        "task": "billing.ensure_usage_partitions",
        "schedule": crontab(minute=41, hour=4),
    },
    "purge-old-events": {
        "task": "events.purge",
        "schedule": crontab(minute=29, hour=4),
    },
    "purge-idempotency-keys": {
        "task": "core.purge_idempotency_keys",
        "schedule": crontab(minute=17, hour=4),
    },
    "purge-expired-tokens": {
        "task": "accounts.purge_expired_tokens",
        "schedule": crontab(minute=23, hour=4),
    },
}

RECOVERY_TASKS = ("billing.recover_runs", "analytics.recover_runs", "events.sweep_deliveries")
# idempotent upkeep that should not wait for its daily tick after a (first) start
START_TASKS = (*RECOVERY_TASKS, "billing.ensure_usage_partitions")


@worker_ready.connect
def recover_runs_on_start(sender: Any = None, **kwargs: Any) -> None:
    """A worker that starts (often the one replacing a killed worker) redoes the runs whose
    worker died at once, rather than at beat's next tick, and makes the usage ledger's
    partitions of the months ahead."""
    for name in START_TASKS:
        try:
            app.send_task(name, ignore_result=True)
        except Exception:  # the broker just answered the worker: log and leave it to beat
            logging.getLogger(__name__).warning("could not enqueue %s", name, exc_info=True)
