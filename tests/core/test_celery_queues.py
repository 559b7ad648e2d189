"""Four queues, routed by task name, each servable by workers of its own (docs/scaling.md)."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

from config.celery import app

ROOT = Path(__file__).resolve().parents[2]


def _queue_of(task_name: str) -> str:
    return str(app.amqp.router.route({}, task_name)["queue"].name)


def test_each_task_goes_to_the_queue_of_its_work() -> None:
    app.loader.import_default_modules()
    ours = sorted(name for name in app.tasks if not name.startswith("celery."))
    queues = {name: _queue_of(name) for name in ours}
    assert {name: q for name, q in queues.items() if q == "billing"}.keys() >= {
        "billing.run_invoices",
        "billing.evaluate_spend",
        "billing.meter_short_leases",
    }
    assert queues["analytics.nightly_recompute"] == "analytics"
    assert queues["events.deliver"] == queues["events.sweep_deliveries"] == "webhooks"
    assert queues["leasing.advance_leases"] == queues["core.purge_idempotency_keys"] == "default"
    assert set(queues.values()) == set(settings.WORKER_QUEUES)


def test_the_procfile_worker_takes_every_queue_and_the_keys_carry_the_prefix() -> None:
    procfile = (ROOT / "Procfile").read_text()
    default = re.search(r"-Q \$\{CELERY_QUEUES:-([a-z,]+)\}", procfile)
    assert default is not None and tuple(default.group(1).split(",")) == settings.WORKER_QUEUES
    prefix = f"{settings.REDIS_KEY_PREFIX}:"
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] == prefix
    assert settings.CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS["global_keyprefix"] == prefix


def test_the_compose_worker_takes_every_queue_too() -> None:
    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = compose["services"]["worker"]["command"]
    assert tuple(command[command.index("-Q") + 1].split(",")) == settings.WORKER_QUEUES
