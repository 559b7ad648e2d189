"""An invoice run is built a batch of tenants at a time (any `billing` worker may take one): the
drafts equal those of one batch over every tenant, a batch whose taker died is taken over,
and runs and helpers at once give each tenant one invoice with its lines once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, connections
from django.db.models import Count

from billing.models import Invoice, InvoiceLine, InvoiceRun, InvoiceRunBatch
from billing.services.invoicing import _batches_plan, invoice_batches_help, invoice_run
from billing.services.usage import usage_records_ingest
from leasing.services import lease_create, lease_stop
from tests.billing.conftest import issue
from tests.concurrency import run_concurrently
from tests.factories import CardModelFactory, RackFactory, TenantFactory, make_server_with_cards
from tests.outages import take_queued
from tests.timing import at

pytestmark = pytest.mark.django_db(transaction=True)

MARCH = dt.date(2027, 3, 1)
AFTER = "2027-04-01 09:00"
ONE_BATCH = 10**12


@pytest.fixture
def tenants() -> list[Any]:
    """Seven tenants: long leases (whole and part of March), short leases stopped in March
    (metered by the run), storage usage, one tenant with nothing to bill."""
    model = CardModelFactory(hourly_rate=Decimal("7.5000"), monthly_rate=Decimal("3900.0000"))
    for _ in range(3):
        make_server_with_cards(RackFactory(), model, cards=8)
    tenants = [TenantFactory() for _ in range(7)]
    with at("2027-02-20 10:00"):
        for i, tenant in enumerate(tenants[:5]):
            lease_create(actor=None, tenant=tenant, kind="long", card_model=model,
                         card_count=1 + i % 2, start=dt.date(2027, 3, 1 + 5 * i),
                         term_months=12)  # fmt: skip
    for i, tenant in enumerate(tenants[2:6]):
        with at(f"2027-03-1{i} 08:05:10"):
            short = lease_create(
                actor=None, tenant=tenant, kind="short", card_model=model, card_count=2
            )
        with at(f"2027-03-1{i} 13:44:59"):
            lease_stop(actor=None, lease=short)
        with at("2027-03-20 07:00"):
            result = usage_records_ingest(
                records=[
                    {
                        "source": "ceph", "external_id": f"s-{i}", "lease": short.pk,
                        "metric": "storage_tb_hours", "quantity": "2.5",
                        "start": f"2027-03-1{i}T01:00:00Z", "end": f"2027-03-1{i}T02:00:00Z",
                    }
                ]
            )  # fmt: skip
            assert result.accepted == 1, result.errors
    return tenants


def _drafts() -> list[tuple[Any, ...]]:
    """Every invoice of March and its lines, without ids."""
    return sorted(
        InvoiceLine.objects.filter(invoice__month=MARCH).values_list(
            "invoice__tenant_id", "invoice__status", "invoice__subtotal", "invoice__tax",
            "invoice__amount_due", "kind", "lease_id", "metric_id", "card_model_id",
            "description", "quantity", "unit_price", "amount", "period_start", "period_end",
        )
    )  # fmt: skip


def _one_batch_drafts(settings: Any) -> list[tuple[Any, ...]]:
    """What one batch over every tenant builds (the drafts are then removed again)."""
    settings.INVOICE_RUN_BATCH_TENANTS = ONE_BATCH
    with at(AFTER):
        run = invoice_run(month=MARCH)
    assert run.status == "done" and run.batches.count() == 1
    drafts = _drafts()
    Invoice.objects.filter(month=MARCH, status="draft").delete()
    InvoiceRun.objects.all().delete()
    return drafts


def _one_invoice_each() -> None:
    assert not (
        Invoice.objects.filter(month=MARCH)
        .exclude(status="void")
        .values("tenant")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .exists()
    )


def test_batches_build_what_one_batch_over_every_tenant_does(tenants, settings):
    whole = _one_batch_drafts(settings)
    assert len({row[0] for row in whole}) == 6  # the seventh has nothing to bill
    settings.INVOICE_RUN_BATCH_TENANTS = 2
    take_queued("billing.run_invoice_batches")
    with at(AFTER):
        run = invoice_run(month=MARCH)
    assert run.status == "done" and run.invoices == 6
    batches = list(run.batches.order_by("tenant_from"))
    assert len(batches) >= 4 and {b.status for b in batches} == {"done"}
    assert [b.tenant_from for b in batches[1:]] == [b.tenant_to for b in batches[:-1]]
    assert batches[-1].tenant_to is None  # tenants added since are in the last
    assert len(take_queued("billing.run_invoice_batches")) == len(batches) - 1  # helpers
    assert _drafts() == whole
    ids = sorted(InvoiceLine.objects.values_list("id", flat=True))
    with at(AFTER):
        assert invoice_run(month=MARCH).status == "done"
    assert sorted(InvoiceLine.objects.values_list("id", flat=True)) == ids  # twice: no change


def test_an_issued_invoice_never_changes_when_its_batch_runs_again(tenants, settings):
    settings.INVOICE_RUN_BATCH_TENANTS = 2
    with at(AFTER):
        assert invoice_run(month=MARCH).status == "done"
        issued = issue(Invoice.objects.filter(month=MARCH).order_by("tenant_id").first())
    frozen = list(issued.lines.order_by("id").values_list("id", "amount"))
    with at("2027-04-02 09:00"):
        assert invoice_run(month=MARCH).status == "done"
    issued.refresh_from_db()
    assert issued.status == "issued"
    assert list(issued.lines.order_by("id").values_list("id", "amount")) == frozen
    _one_invoice_each()


def _session() -> tuple[Any, int, dt.datetime]:
    other = connections.create_connection("default")
    with other.cursor() as cursor:
        cursor.execute(
            "SELECT pid, backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()"
        )
        pid, started = cursor.fetchone()
    return other, pid, started


def test_a_batch_whose_taker_died_is_taken_over_and_helpers_leave_held_ones(tenants, settings):
    whole = _one_batch_drafts(settings)
    settings.INVOICE_RUN_BATCH_TENANTS = 2
    with at(AFTER):
        run = InvoiceRun.objects.create(month=MARCH)  # as the API records an async run
    _batches_plan(run)
    dead, held, *rest = InvoiceRunBatch.objects.filter(run=run).order_by("tenant_from")
    assert rest
    # a taker that died mid-way: its session is gone (no such backend), its batch still open
    InvoiceRunBatch.objects.filter(pk=dead.pk).update(owner_pid=2**31 - 7, owner_started=None)
    other, pid, started = _session()  # a taker alive, at work on its batch
    try:
        InvoiceRunBatch.objects.filter(pk=held.pk).update(owner_pid=pid, owner_started=started)
        with at(AFTER):
            assert invoice_batches_help(run.pk) == len(rest)  # nobody's only
        statuses = dict(InvoiceRunBatch.objects.filter(run=run).values_list("pk", "status"))
        assert (statuses[dead.pk], statuses[held.pk]) == ("open", "open")
        InvoiceRunBatch.objects.filter(pk=held.pk).update(owner_pid=None)  # it let go
        with at(AFTER):
            done = invoice_run(month=MARCH, run=run)  # the run's own worker
    finally:
        other.close()
    assert done.status == "done" and done.invoices == 6
    assert set(InvoiceRunBatch.objects.filter(run=run).values_list("status", flat=True)) == {"done"}
    assert _drafts() == whole
    with at(AFTER):
        assert invoice_batches_help(run.pk) == 0  # a late helper: the run is done


def test_two_runs_and_a_helper_at_once_give_each_tenant_one_invoice(tenants, settings):
    whole = _one_batch_drafts(settings)
    settings.INVOICE_RUN_BATCH_TENANTS = 2
    with at(AFTER):
        run = InvoiceRun.objects.create(month=MARCH)
    _batches_plan(run)
    work = [
        lambda: invoice_run(month=MARCH, run=run),
        lambda: invoice_run(month=MARCH),
        lambda: invoice_batches_help(run.pk),
    ]
    with at(AFTER):
        results = run_concurrently(3, lambda i: work[i]())
    assert not [r for r in results if isinstance(r, Exception)], results
    assert results[0].status == "done" and results[1].status == "done"
    _one_invoice_each()
    assert _drafts() == whole
    with connection.cursor() as cursor:  # no line twice
        cursor.execute(
            "SELECT invoice_id, kind, lease_id, metric_id, period_start FROM billing_invoiceline"
            " GROUP BY 1, 2, 3, 4, 5 HAVING count(*) > 1"
        )
        assert cursor.fetchall() == []
