from celery import shared_task

from leasing.services import leases_advance


@shared_task(name="leasing.advance_leases")
def advance_leases() -> dict[str, int]:
    """Reserved → active at start; active → ended at end. Idempotent; reads the one clock."""
    return leases_advance()
