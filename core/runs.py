"""Runs a worker may die in (invoice runs, recomputes): who owns a `running` row, and is it alive.

A run row records its owner, the PostgreSQL session running it (backend pid and start), and a
heartbeat in database time that the owner refreshes as it commits progress. A `running` row is
abandoned when its owner's session is gone, or when its heartbeat is older than the run's bound
(a session a dead host left behind lingers until the server notices; a queued run nobody picked
up has no owner at all). Whoever starts a run first closes the abandoned ones as `failed`, so a
stuck row never reads as work in progress.

Redoing the work does not wait for the broker: a worker killed outright (the host, or the whole
worker) leaves its task unacknowledged in Redis, and Redis hands it back only after the broker's
visibility timeout (hours). Instead each app's `recover_runs` task, run by beat every minute and
by every worker as it starts, closes the abandoned rows and runs each again on the same row
(`runs_to_redo`): a run closed as abandoned within `REDO_WITHIN` is redone once more each time
until it ends `done`, or `failed` for a reason of its own (which is not redone). Runs are
idempotent, so the late redelivery of the original task, when it comes, changes nothing.

A run may be handed out in chunks (`RunChunk`: the nightly a site at a time, the invoice run a
range of tenants at a time): the run's own worker creates them and queues helper tasks
(`chunks_hand_out`); any worker of the queue takes an open chunk nobody has (`chunks_help`), and
the run's own worker takes what is left and, again, any whose taker died (`chunks_work`). Taking
is one statement (`FOR UPDATE SKIP LOCKED`): of two sessions, one gets a chunk. Chunks are
idempotent like runs: a chunk redone after its taker died gives what it would have.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import connection, models, transaction
from django.db.models.functions import Now

from core import clock
from core.queue import enqueue_nudge

ABANDONED = "Abandoned: its worker stopped before finishing (closed by a later run)."
# A run closed as abandoned longer ago than this is left as it is (its work was redone, or
# superseded: the nightly covers missed days, a later invoice run builds the same drafts).
REDO_WITHIN = dt.timedelta(days=1)


class OwnedRun(models.Model):
    """Columns of a run row whose owner may die (see the module's docstring)."""

    owner_pid = models.IntegerField(null=True, blank=True, editable=False)
    owner_started = models.DateTimeField(null=True, blank=True, editable=False)
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False, db_default=Now())

    class Meta:
        abstract = True


def run_claim(run: OwnedRun) -> None:
    """Make the current session the run's owner, and the run `running` again if it was closed."""
    table = connection.ops.quote_name(run._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} SET status = 'running', finished_at = NULL,
                   owner_pid = a.pid, owner_started = a.backend_start, heartbeat_at = now()
            FROM pg_stat_activity a WHERE a.pid = pg_backend_pid() AND {table}.id = %s
            """,
            [run.pk],
        )


def run_heartbeat(run: OwnedRun) -> None:
    """The owner is alive (call it in the transaction that commits progress)."""
    table = connection.ops.quote_name(run._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET heartbeat_at = now() WHERE id = %s", [run.pk])


def runs_close_abandoned(*, model: type[OwnedRun], stale_after: dt.timedelta) -> int:
    """Close the model's `running` rows whose owner is gone as `failed`; returns how many."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        params: dict[str, Any] = {"now": clock.now(), "error": ABANDONED, "stale": stale_after}
        cursor.execute(
            f"""
            UPDATE {table} r SET status = 'failed', finished_at = %(now)s, error = %(error)s
            WHERE r.status = 'running'
              AND (r.heartbeat_at IS NULL OR r.heartbeat_at < now() - %(stale)s
                   OR (r.owner_pid IS NOT NULL AND NOT EXISTS (
                         SELECT 1 FROM pg_stat_activity a
                         WHERE a.pid = r.owner_pid
                           AND (a.backend_start IS NULL OR a.backend_start = r.owner_started))))
            """,
            params,
        )
        return cursor.rowcount


def runs_to_redo(*, model: type[OwnedRun], stale_after: dt.timedelta) -> list[int]:
    """Close the model's abandoned runs, then the ids of every run closed as abandoned within
    `REDO_WITHIN` (by this call or by a run that started since), oldest first: the caller runs
    each again on its row (claiming it makes it `running` again)."""
    runs_close_abandoned(model=model, stale_after=stale_after)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT id FROM {table}
            WHERE status = 'failed' AND error = %s AND finished_at >= %s
            ORDER BY id
            """,
            [ABANDONED, clock.now() - REDO_WITHIN],
        )
        return [row[0] for row in cursor.fetchall()]


# --- Runs handed out in chunks ---


class RunChunk(OwnedRun):
    """A share of a run (a ForeignKey `run` in the concrete model) that any worker may take:
    `owner_*` say who has it, `open` until done."""

    status = models.CharField(max_length=8, default="open")  # open | done
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


Chunk = TypeVar("Chunk", bound=RunChunk)

CHUNK_POLL_SECONDS = 0.5  # the run's worker, waiting on chunks others hold, looks this often

# Take one of the run's open chunks for this session: nobody's, or (`reclaim`) one whose taker's
# session is gone or silent past the stale bound. One statement: of two sessions, one gets it.
_CHUNK_TAKE_SQL = """
UPDATE {table} c
SET owner_pid = a.pid, owner_started = a.backend_start, heartbeat_at = now()
FROM pg_stat_activity a
WHERE a.pid = pg_backend_pid()
  AND c.id = (
      SELECT k.id FROM {table} k
      WHERE k.run_id = %(run)s AND k.status = 'open'
        AND (k.owner_pid IS NULL
             OR (%(reclaim)s AND (
                 k.heartbeat_at < now() - %(stale)s * interval '1 second'
                 OR NOT EXISTS (
                     SELECT 1 FROM pg_stat_activity s
                     WHERE s.pid = k.owner_pid
                       AND (s.backend_start IS NULL OR s.backend_start = k.owner_started)))))
      ORDER BY k.id
      LIMIT 1
      FOR UPDATE SKIP LOCKED
  )
RETURNING c.id
"""


def chunk_take(
    model: type[Chunk], run_id: int, *, reclaim: bool, stale_after: dt.timedelta
) -> Chunk | None:
    """One of the run's open chunks, now this session's (None: none to take)."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            _CHUNK_TAKE_SQL.format(table=table),
            {"run": run_id, "reclaim": reclaim, "stale": stale_after.total_seconds()},
        )
        row = cursor.fetchone()
    return None if row is None else model._default_manager.get(pk=row[0])


def _chunk_do(model: type[Chunk], chunk: Chunk, do: Callable[[Chunk], None]) -> None:
    """`do` the chunk and mark it done; a chunk that fails is let go at once (nobody's), for
    the run's worker, or the run done again, to take."""
    try:
        do(chunk)
    except Exception:
        model._default_manager.filter(pk=chunk.pk, status="open").update(owner_pid=None)
        raise
    model._default_manager.filter(pk=chunk.pk).update(status="done", finished_at=clock.now())


def chunks_hand_out(task_name: str, run_id: int, helpers: int) -> None:
    """Once the transaction that created the run's chunks commits, queue `helpers` tasks
    `task_name(run_id)` for other workers (the broker being away: this worker does them all)."""

    def hand_out() -> None:
        for _ in range(helpers):
            if not enqueue_nudge(task_name, run_id):
                break

    transaction.on_commit(hand_out)


def chunks_work(
    model: type[Chunk],
    run: OwnedRun,
    do: Callable[[Chunk], None],
    *,
    stale_after: dt.timedelta,
) -> int:
    """The run's own worker: `do` its open chunks until none is left, then wait for those other
    workers hold, taking over any whose taker died. Returns how many it did."""
    done = 0
    while True:
        chunk = chunk_take(model, run.pk, reclaim=True, stale_after=stale_after)
        if chunk is not None:
            _chunk_do(model, chunk, do)
            done += 1
            continue
        if not model._default_manager.filter(run_id=run.pk, status="open").exists():
            return done
        run_heartbeat(run)
        time.sleep(CHUNK_POLL_SECONDS)


def chunks_help(
    model: type[Chunk],
    run_id: int,
    do: Callable[[Chunk], None],
    *,
    stale_after: dt.timedelta,
) -> int:
    """Another worker's help with a run: `do` its chunks nobody has until none is left (how many
    it did). A chunk that fails is let go at once, for the run's worker to take again."""
    done = 0
    while (chunk := chunk_take(model, run_id, reclaim=False, stale_after=stale_after)) is not None:
        _chunk_do(model, chunk, do)
        done += 1
    return done
