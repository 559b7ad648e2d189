"""The Celery app. The beat schedule is declared here, once, and loaded into django-celery-beat."""

import os

from celery import Celery
from celery.schedules import crontab

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
    "advance-leases": {
        "task": "leasing.advance_leases",
        "schedule": 60.0,
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
