from celery import shared_task

from core import clock
from core.idempotency import idempotency_keys_purge


@shared_task(name="core.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    return idempotency_keys_purge()


@shared_task(name="core.clock_now")
def clock_now() -> str:
    """What the worker's clock says (diagnostics; proves workers read the shared test clock)."""
    return clock.now().isoformat()
