from celery import shared_task

from analytics.services import snapshots_nightly


@shared_task(name="analytics.nightly_recompute", acks_late=True)
def nightly_recompute() -> str:
    """01:00 operator time: yesterday and any day missed since the last successful run."""
    run = snapshots_nightly()
    return (
        "skipped: another recompute is running"
        if run is None
        else f"done: {run.day_from}…{run.day_to}"
    )
