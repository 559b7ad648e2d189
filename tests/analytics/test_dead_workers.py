"""A run whose worker died is recognised, closed as failed and redone (recomputes, invoice runs).

The worker is a separate process with its own database session. It is blocked mid-run on a lock
another session holds, then killed (SIGKILL: nothing of it runs again), and its session is
terminated as the server ends a dead client's. Its run row is left `running`, exactly as a
killed worker leaves it.
"""

import datetime as dt
import os
import subprocess
import sys
import time

import pytest
from django.db import connection, connections

from analytics.models import OccupancyDaily, RecomputeRun, RevenueDaily
from analytics.services import site_lock_key, snapshots_nightly, snapshots_recompute
from analytics.tasks import nightly_recompute
from billing.models import Invoice, InvoiceLine, InvoiceRun
from billing.services.invoicing import invoice_run
from billing.tasks import run_invoices
from tests.analytics.conftest import DAY
from tests.timing import at

pytestmark = pytest.mark.django_db(transaction=True)
NIGHT = "2027-03-14 01:00"


def _rows():
    return (
        sorted(OccupancyDaily.objects.values_list("day", "rack_id", "card_hours_leased")),
        sorted(RevenueDaily.objects.values_list("day", "lease_id", "amount")),
    )


class Blocker:
    """Another session holding a lock the worker will wait on."""

    def __init__(self, sql: str, params: list) -> None:
        self.sql_params = (sql, params)

    def __enter__(self) -> "Blocker":
        self.conn = connections.create_connection("default")
        self.conn.ensure_connection()
        self.conn.set_autocommit(True)
        with self.conn.cursor() as cursor:
            cursor.execute(*self.sql_params)
        return self

    def __exit__(self, *exc) -> None:
        self.conn.close()


def _worker_env() -> dict[str, str]:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings"}


def _waiting_worker() -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT pid FROM pg_locks
            WHERE NOT granted AND locktype = 'advisory'
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """
        )
        row = cursor.fetchone()
    return row[0] if row else None


def kill_worker_once_it_waits(code: str) -> None:
    """Run `code` in a worker process; once its session waits on a lock, kill both."""
    script = f"import django; django.setup()\nfrom tests.timing import at\n{code}\n"
    worker = subprocess.Popen([sys.executable, "-c", script], env=_worker_env())
    try:
        for _ in range(600):
            pid = _waiting_worker()
            if pid is not None or worker.poll() is not None:
                break
            time.sleep(0.05)
        assert pid is not None, f"the worker never waited on the lock (exit {worker.poll()})"
    finally:
        worker.kill()
        worker.wait(10)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(200):
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
            if not cursor.fetchone()[0]:
                return
            time.sleep(0.05)
    pytest.fail("the dead worker's session never ended")


def test_a_nightly_killed_mid_run_is_closed_and_redone_by_its_redelivery(story):
    with at("2027-03-11 01:00"):
        snapshots_nightly()  # 2027-03-10 done: the next nightly starts on the 11th
    with (
        Blocker("SELECT pg_advisory_lock(hashtext(%s))", [site_lock_key(story["site"].pk)]),
        at(NIGHT),
    ):
        kill_worker_once_it_waits(
            "from analytics.tasks import nightly_recompute\n"
            f"with at({NIGHT!r}): nightly_recompute()"
        )
    dead = RecomputeRun.objects.get(day_from=DAY + dt.timedelta(days=1))
    assert dead.status == "running"  # what a killed worker leaves behind
    with at(NIGHT):
        answer = nightly_recompute()  # the redelivery
    assert answer.startswith("done"), answer
    dead.refresh_from_db()
    assert dead.status == "failed" and dead.finished_at is not None
    redone = RecomputeRun.objects.filter(status="done").order_by("-id").first()
    assert (redone.day_from, redone.day_to) == (DAY + dt.timedelta(days=1), DAY + dt.timedelta(3))
    after_redo = _rows()
    OccupancyDaily.objects.all().delete()
    RevenueDaily.objects.all().delete()
    with at(NIGHT):
        snapshots_recompute(day_from=DAY, day_to=DAY + dt.timedelta(days=3))
    assert after_redo == _rows()
    assert not RecomputeRun.objects.filter(status="running").exists()


def test_an_invoice_run_whose_worker_died_is_closed_and_redone(story):
    month = dt.date(2027, 3, 1)
    with at("2027-04-01 09:00"):
        run = InvoiceRun.objects.create(month=month)  # an async run, as the API queues it
    key = [month.year * 100 + month.month]
    blocker = Blocker("SELECT pg_advisory_lock(hashtext('billing.invoice_run'), %s)", key)
    with blocker, at("2027-04-01 09:00"):
        kill_worker_once_it_waits(
            "from billing.tasks import run_invoices\n"
            f"with at('2027-04-01 09:00'): run_invoices({run.pk})"
        )
    run.refresh_from_db()
    assert run.status == "running"
    assert not Invoice.objects.exists()
    with at("2027-04-01 09:05"):
        other = invoice_run(month=month)  # the next run recognises the dead one
    run.refresh_from_db()
    assert (run.status, other.status) == ("failed", "done")
    lines = sorted(InvoiceLine.objects.values_list("kind", "lease_id", "amount"))
    with at("2027-04-01 09:10"):
        assert run_invoices(run.pk) == "done"  # its redelivery runs again: nothing changes
    assert sorted(InvoiceLine.objects.values_list("kind", "lease_id", "amount")) == lines
    assert lines and not InvoiceRun.objects.filter(status="running").exists()


def test_recover_runs_redoes_a_dead_recompute_on_its_row_and_then_leaves_it(story):
    from analytics.tasks import recover_runs

    with (
        Blocker("SELECT pg_advisory_lock(hashtext(%s))", [site_lock_key(story["site"].pk)]),
        at(NIGHT),
    ):
        kill_worker_once_it_waits(
            "from analytics.services import snapshots_recompute\n"
            "import datetime as dt\n"
            f"with at({NIGHT!r}): snapshots_recompute(day_from=dt.date(2027, 3, 10), "
            "day_to=dt.date(2027, 3, 13))"
        )
    dead = RecomputeRun.objects.get()
    assert dead.status == "running"
    with at(NIGHT):
        assert recover_runs() == 1
    dead.refresh_from_db()
    assert (dead.status, dead.error, dead.trigger) == ("done", "", "backfill")
    after_redo = _rows()
    OccupancyDaily.objects.all().delete()
    RevenueDaily.objects.all().delete()
    with at(NIGHT):
        snapshots_recompute(day_from=dt.date(2027, 3, 10), day_to=dt.date(2027, 3, 13))
        assert recover_runs() == 0  # done: nothing left to redo
    assert after_redo == _rows() and after_redo[0]


def test_recover_runs_redoes_a_dead_invoice_run_on_its_row(story):
    from billing.tasks import recover_runs

    month = dt.date(2027, 3, 1)
    with at("2027-04-01 09:00"):
        run = InvoiceRun.objects.create(month=month)
    key = [month.year * 100 + month.month]
    blocker = Blocker("SELECT pg_advisory_lock(hashtext('billing.invoice_run'), %s)", key)
    with blocker, at("2027-04-01 09:00"):
        kill_worker_once_it_waits(
            "from billing.tasks import run_invoices\n"
            f"with at('2027-04-01 09:00'): run_invoices({run.pk})"
        )
    with at("2027-04-01 09:05"):
        assert recover_runs() == 1
        assert recover_runs() == 0
    run.refresh_from_db()
    assert run.status == "done" and Invoice.objects.filter(month=month).exists()
    assert not InvoiceRun.objects.exclude(pk=run.pk).exists()
