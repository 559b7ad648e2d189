"""An async invoice run starts in a billing service: the row now, the task once it commits."""

import datetime as dt

import pytest

from billing.choices import RunStatus
from billing.models import InvoiceRun
from billing.services import invoicing
from core.exceptions import InvalidInput, ServiceUnavailable
from core.models import AuditLog
from core.queue import QUEUE_DOWN
from tests.outages import broker_down, take_queued
from tests.timing import at

pytestmark = pytest.mark.django_db

MARCH = dt.date(2027, 3, 1)


def test_the_run_is_recorded_running_and_queued_once_it_commits(
    finance, django_capture_on_commit_callbacks
):
    with at("2027-04-01 09:00"), django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = invoicing.invoice_run_start(month=dt.date(2027, 3, 17), actor=finance)
    assert (run.month, run.status) == (MARCH, RunStatus.RUNNING)
    assert InvoiceRun.objects.get() == run
    start = AuditLog.objects.get(action="invoice_run.start")
    assert start.actor_id == finance.pk
    assert len(callbacks) == 1
    callbacks[0]()
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING  # a worker's to finish
    assert take_queued("billing.run_invoices") == [f"({run.pk},)"]


def test_a_month_not_begun_records_nothing(finance):
    with at("2027-04-01 09:00"), pytest.raises(InvalidInput):
        invoicing.invoice_run_start(month=dt.date(2027, 5, 1), actor=finance)
    assert not InvoiceRun.objects.exists()


def test_with_the_broker_down_it_raises_unavailable_and_records_nothing(finance):
    with at("2027-04-01 09:00"), broker_down(), pytest.raises(ServiceUnavailable):
        invoicing.invoice_run_start(month=MARCH, actor=finance)
    assert not InvoiceRun.objects.exists()
    assert not AuditLog.objects.filter(action="invoice_run.start").exists()


def test_a_broker_lost_before_the_commit_closes_the_run_as_failed(
    finance, django_capture_on_commit_callbacks
):
    with at("2027-04-01 09:00"), django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = invoicing.invoice_run_start(month=MARCH, actor=finance)
    with at("2027-04-01 09:01"), broker_down():
        callbacks[0]()
    run.refresh_from_db()
    assert (run.status, run.error) == (RunStatus.FAILED, QUEUE_DOWN)
    assert run.finished_at is not None
