from celery import shared_task

from analytics.models import RecomputeRun
from analytics.services import (
    recompute_chunks_help,
    recompute_runs_recover,
    snapshots_nightly,
    snapshots_recompute,
)


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


@shared_task(name="analytics.recompute_run", acks_late=True)
def recompute_run(run_id: int) -> str:
    """A long recompute asked for through the API (`snapshots_recompute_start`): carries out
    its run row. A redelivery redoes a run that did not finish (a recompute is idempotent); a
    done run is left as it is. A failure is recorded on the row, then raised."""
    run = RecomputeRun.objects.get(pk=run_id)
    if run.status == "done":
        return "done"
    return snapshots_recompute(
        day_from=run.day_from, day_to=run.day_to, trigger=run.trigger, run=run
    ).status


@shared_task(name="analytics.recompute_chunks", acks_late=True)
def recompute_chunks(run_id: int) -> int:
    """Help with a run handed out a site at a time (the nightly's): take its chunks nobody has
    until none is left. Redelivered or late, it finds none and returns."""
    return recompute_chunks_help(run_id)
