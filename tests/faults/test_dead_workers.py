"""A real celery worker SIGKILLed mid-run (the whole worker, as a host dies): the run is redone by
the next worker as it starts (core.runs: `recover_runs`), long before the broker would hand the
task back, and its result equals a clean run's.

"Mid-run" is made certain, not timed: the test holds a row lock the run needs half-way (a stale
row of a later chunk of days, or the month's invoice-run lock after metering), waits until the
worker's session waits on it, and kills the worker then.
"""

import datetime as dt
from typing import Any

import psycopg
import pytest

from tests.faults.stack import FaultStack, wait_until, worker

pytestmark = pytest.mark.slow


def _waiting_on_a_lock(conn: psycopg.Connection[Any], pid: int) -> bool:
    row = conn.execute(
        "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid]
    ).fetchone()
    return bool(row and row[0] == "Lock")


def _session_gone(conn: psycopg.Connection[Any], pid: int) -> bool:
    row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
    return row is not None and row[0] == 0


def _rows(conn: psycopg.Connection[Any], sql: str) -> list[tuple[Any, ...]]:
    return conn.execute(sql).fetchall()


SNAPSHOTS = {
    "occupancy": """
        SELECT day, rack_id, site_id, card_model_id, cards_installed, cards_in_service,
               card_hours_available, card_hours_leased, card_hours_busy
        FROM analytics_occupancydaily ORDER BY day, rack_id, card_model_id""",
    "revenue": """
        SELECT day, lease_id, tenant_id, site_id, card_model_id, lease_kind, amount
        FROM analytics_revenuedaily ORDER BY day, lease_id""",
    "sites": """
        SELECT day, site_id, racks_racked, racks_planned
        FROM analytics_sitedaily ORDER BY day, site_id""",
}


def test_a_worker_killed_mid_nightly_is_redone_by_the_next_worker(fault_stack: FaultStack) -> None:
    stack = fault_stack
    db = stack.new_database()
    with stack.connect(db) as conn:
        # The last successful nightly was 500 days ago: tonight's covers 500 days, two chunks
        # (analytics.services.CHUNK_DAYS), the second holding the seeded days.
        (yesterday,) = conn.execute(
            "SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date - 1"
        ).fetchone()
        last = yesterday - dt.timedelta(days=500)
        conn.execute(
            "UPDATE analytics_recomputerun SET day_from = %s, day_to = %s, started_at = %s",
            [last, last, last + dt.timedelta(days=1, hours=1)],
        )
        locked_day = yesterday - dt.timedelta(days=10)  # in the second chunk
        assert conn.execute(
            "SELECT count(*) FROM analytics_occupancydaily WHERE day = %s", [locked_day]
        ).fetchone()[0]
        # made stale, so the nightly must rewrite the day's rows (rows it would write alike it
        # leaves alone, without taking their locks)
        conn.execute(
            "UPDATE analytics_occupancydaily SET card_hours_busy = card_hours_busy + 1 "
            "WHERE day = %s",
            [locked_day],
        )
    clean = f"{db}_clean"
    stack.copy_database(db, clean)
    celery = stack.celery(1)

    with stack.connect(db) as watch, stack.connect(db) as holder:
        holder.autocommit = False
        holder.execute(
            "SELECT 1 FROM analytics_occupancydaily WHERE day = %s FOR UPDATE", [locked_day]
        )
        with worker(stack, db, 1, "nightly-a") as first:
            celery.send_task("analytics.nightly_recompute")

            def owner_waiting() -> int | None:
                row = watch.execute(
                    "SELECT owner_pid FROM analytics_recomputerun WHERE status = 'running'"
                ).fetchone()
                return row[0] if row and row[0] and _waiting_on_a_lock(watch, row[0]) else None

            owner = wait_until("the nightly to wait on the second chunk", owner_waiting)
            # mid-run: the first chunk is committed, the second not begun
            first_chunk = watch.execute(
                "SELECT count(*) FROM analytics_occupancydaily WHERE day BETWEEN %s AND %s",
                [last + dt.timedelta(days=1), last + dt.timedelta(days=30)],
            ).fetchone()[0]
            assert first_chunk > 0
            first.kill()  # SIGKILL, the whole worker
        holder.rollback()  # the dead worker's session finds its client gone and ends
        wait_until("the dead worker's session to end", lambda: _session_gone(watch, owner))
        (run_id, status) = watch.execute(
            "SELECT id, status FROM analytics_recomputerun WHERE owner_pid = %s", [owner]
        ).fetchone()
        assert status == "running"  # what the killed worker left

        with worker(stack, db, 1, "nightly-b"):
            wait_until(
                "the next worker to redo the run",
                lambda: watch.execute(
                    "SELECT status = 'done' FROM analytics_recomputerun WHERE id = %s", [run_id]
                ).fetchone()[0],
            )
        assert not watch.execute(
            "SELECT count(*) FROM analytics_recomputerun WHERE status = 'running'"
        ).fetchone()[0]

    stack.manage(clean, "shell", "-c", "from analytics.services import snapshots_nightly; "
                 "snapshots_nightly()")  # fmt: skip
    with stack.connect(db) as redone, stack.connect(clean) as reference:
        for name, sql in SNAPSHOTS.items():
            assert _rows(redone, sql) == _rows(reference, sql), name
        assert _rows(redone, SNAPSHOTS["occupancy"])  # something was compared


INVOICES = """
    SELECT t.name, i.month, i.status, i.number, i.currency, i.subtotal, i.tax_rate, i.tax,
           i.amount_due,
           array_agg((l.kind, l.lease_id, l.description, l.quantity, l.unit, l.unit_price,
                      l.amount)::text ORDER BY l.kind, l.lease_id, l.description, l.amount)
    FROM billing_invoice i
    JOIN accounts_tenant t ON t.id = i.tenant_id
    LEFT JOIN billing_invoiceline l ON l.invoice_id = i.id
    GROUP BY t.name, i.id ORDER BY i.month, t.name, i.number
"""
ISSUE_ALL = (
    "from billing.models import Invoice\n"
    "from billing.services.invoicing import invoice_issue\n"
    "for invoice in Invoice.objects.filter(status='draft').order_by('month', 'tenant__name'):\n"
    "    invoice_issue(actor=None, invoice=invoice)\n"
)


def test_a_worker_killed_mid_invoice_run_is_redone_by_the_next_worker(
    fault_stack: FaultStack,
) -> None:
    stack = fault_stack
    db = stack.new_database()
    with stack.connect(db) as conn:
        # last month's drafts and runs are gone: the run below builds them from nothing
        (month,) = conn.execute(
            "SELECT (date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai')"
            " - interval '1 month')::date"
        ).fetchone()
        drafts = "SELECT id FROM billing_invoice WHERE month = %s AND status = 'draft'"
        conn.execute(f"DELETE FROM billing_invoiceline WHERE invoice_id IN ({drafts})", [month])
        conn.execute("DELETE FROM billing_invoice WHERE month = %s AND status = 'draft'", [month])
        runs = "SELECT id FROM billing_invoicerun WHERE month = %s"
        conn.execute(f"DELETE FROM billing_invoicerunbatch WHERE run_id IN ({runs})", [month])
        conn.execute("DELETE FROM billing_invoicerun WHERE month = %s", [month])
        (run_id,) = conn.execute(
            "INSERT INTO billing_invoicerun (month, status, invoices, error, created_at,"
            " updated_at) VALUES (%s, 'running', 0, '', now(), now()) RETURNING id",
            [month],
        ).fetchone()  # as invoice_run_start records an async run
    clean = f"{db}_clean"
    stack.copy_database(db, clean)
    celery = stack.celery(2)

    with stack.connect(db) as watch, stack.connect(db) as holder:
        holder.autocommit = False
        holder.execute(
            "SELECT pg_advisory_xact_lock(hashtext('billing.invoice_run'), %s)",
            [month.year * 100 + month.month],
        )
        with worker(stack, db, 2, "invoices-a") as first:
            celery.send_task("billing.run_invoices", args=[run_id])

            def owner_waiting() -> int | None:
                row = watch.execute(
                    "SELECT owner_pid FROM billing_invoicerun WHERE id = %s", [run_id]
                ).fetchone()
                return row[0] if row and row[0] and _waiting_on_a_lock(watch, row[0]) else None

            owner = wait_until("the run to wait on the month's lock", owner_waiting)
            first.kill()
        holder.rollback()
        wait_until("the dead worker's session to end", lambda: _session_gone(watch, owner))
        assert watch.execute(
            "SELECT status FROM billing_invoicerun WHERE id = %s", [run_id]
        ).fetchone() == ("running",)
        assert not watch.execute(
            "SELECT count(*) FROM billing_invoice WHERE month = %s", [month]
        ).fetchone()[0]

        with worker(stack, db, 2, "invoices-b"):
            wait_until(
                "the next worker to redo the run",
                lambda: watch.execute(
                    "SELECT status = 'done' FROM billing_invoicerun WHERE id = %s", [run_id]
                ).fetchone()[0],
            )

    stack.manage(clean, "run_invoices", "--month", f"{month:%Y-%m}")
    for database in (db, clean):  # numbers too: issued in the same order on both
        stack.manage(database, "shell", "-c", ISSUE_ALL)
    with stack.connect(db) as redone, stack.connect(clean) as reference:
        got = _rows(redone, INVOICES)
        assert got == _rows(reference, INVOICES)
        assert [row for row in got if row[1] == month]  # last month's invoices were compared
        assert not redone.execute(
            "SELECT tenant_id, month FROM billing_invoice GROUP BY 1, 2 HAVING count(*) > 1"
        ).fetchall()
