from celery import shared_task

from analytics.services import recompute_runs_recover, snapshots_nightly


@shared_task(name="analytics.nightly_recompute", acks_late=True)
def nightly_recompute() -> str:
    """01:00 operator time: yesterday and any day missed since the last successful run.

    Never skips: a redelivery after a killed run closes the dead run and redoes its days; a
    failure raises (the task fails, it is never recorded as done).
    """
    run = snapshots_nightly()
    return f"done: {run.day_from}…{run.day_to}"


@shared_task(name="analytics.recover_runs")
def recover_runs() -> int:
    """Beat, every minute, and each worker as it starts: redo the recomputes whose worker died
    (without waiting hours for the broker to hand their task back)."""
    return len(recompute_runs_recover())
