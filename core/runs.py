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
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection, models
from django.db.models.functions import Now

from core import clock

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
