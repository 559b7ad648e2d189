import datetime as dt

from celery import shared_task

from analytics.services import snapshots_nightly, snapshots_recompute
from core import clock


@shared_task(name="analytics.nightly_recompute", acks_late=True)
def nightly_recompute() -> str:
    """01:00 operator time: yesterday and any day missed since the last successful run."""
    run = snapshots_nightly()
    return (
        "skipped: another recompute is running"
        if run is None
        else f"done: {run.day_from}…{run.day_to}"
    )


@shared_task(name="analytics.recompute_range", acks_late=True)
def recompute_range(day_from: str, day_to: str) -> str:
    run = snapshots_recompute(
        day_from=dt.date.fromisoformat(day_from), day_to=dt.date.fromisoformat(day_to)
    )
    return f"done at {clock.now().isoformat()}" if run else "skipped"
