"""Real outages for tests: a local port with nothing listening stands for a server that is down."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from django.conf import settings

from config.celery import app as celery_app


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _forget_celery_connections() -> None:
    celery_app._pool = None
    amqp = celery_app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None
    celery_app._backend_cache = None
    celery_app._local = threading.local()


@contextmanager
def broker_down() -> Iterator[str]:
    """Point Celery's broker and result store at a closed port for the block."""
    url = f"redis://127.0.0.1:{closed_port()}/0"
    saved = celery_app.conf.broker_url, celery_app.conf.result_backend
    celery_app.conf.broker_url = celery_app.conf.result_backend = url
    _forget_celery_connections()
    try:
        yield url
    finally:
        celery_app.conf.broker_url, celery_app.conf.result_backend = saved
        _forget_celery_connections()


def take_queued(task_name: str) -> list[str]:
    """The `task_name` messages waiting in the broker (under the suite's own key prefix), taken
    off the queue: their arguments (repr)."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"]
    taken = []
    for queue in (f"{prefix}{name}" for name in settings.WORKER_QUEUES):
        for raw in client.lrange(queue, 0, -1):
            message = json.loads(raw)
            if message["headers"].get("task") == task_name:
                client.lrem(queue, 1, raw)
                taken.append(message["headers"]["argsrepr"])
    return taken
