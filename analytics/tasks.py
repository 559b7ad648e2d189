from celery import shared_task

from analytics.services import snapshots_nightly


@shared_task(name="analytics.nightly_recompute", acks_late=True)
def nightly_recompute() -> str:
    """01:00 operator time: yesterday and any day missed since the last successful run.

    Never skips: a redelivery after a killed run closes the dead run and redoes its days; a
    failure raises (the task fails, it is never recorded as done).
    """
    run = snapshots_nightly()
    return f"done: {run.day_from}…{run.day_to}"
