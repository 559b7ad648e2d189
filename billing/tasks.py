"""Thin Celery wrappers around billing services. Idempotent; they read the one clock."""

from __future__ import annotations

from celery import shared_task

from billing.models import InvoiceRun
from billing.services.invoicing import invoice_batches_help, invoice_run, invoice_runs_recover
from billing.services.metering import lease_meter_at_stop, short_leases_meter
from core import clock


@shared_task(name="billing.meter_short_leases")
def meter_short_leases() -> int:
    """Hourly: held card-minutes of short leases for the hours just completed (3-day catch-up)."""
    return short_leases_meter()


@shared_task(name="billing.meter_short_lease")
def meter_short_lease(lease_id: int) -> int:
    """At stop: the stopped lease's minutes, to the last one."""
    return lease_meter_at_stop(lease_id)


@shared_task(name="billing.run_invoices")
def run_invoices(run_id: int) -> str:
    """Build the drafts of an InvoiceRun's month."""
    run = InvoiceRun.objects.get(pk=run_id)
    return invoice_run(month=run.month, run=run).status


@shared_task(name="billing.run_invoice_batches", acks_late=True)
def run_invoice_batches(run_id: int) -> int:
    """Help with an invoice run handed out in batches of tenants: build its batches nobody has
    until none is left. Redelivered or late, it finds none and returns."""
    return invoice_batches_help(run_id)


@shared_task(name="billing.run_previous_month_invoices")
def run_previous_month_invoices() -> str:
    """Beat, the 1st at 03:00 operator time: drafts of the month just ended."""
    last_month = clock.add_months(clock.month_first(clock.local_today()), -1)
    return invoice_run(month=last_month).status


@shared_task(name="billing.recover_runs")
def recover_runs() -> int:
    """Beat, every minute, and each worker as it starts: run again the invoice runs whose worker
    died (without waiting hours for the broker to hand their task back)."""
    return len(invoice_runs_recover())


@shared_task(name="billing.ensure_usage_partitions")
def ensure_usage_partitions() -> list[str]:
    """Beat, daily, and each worker as it starts: the usage ledger's partitions of this month
    and the next ones, and those of months found in its default partition."""
    from billing.services.partitions import usage_partitions_ensure

    return usage_partitions_ensure()


@shared_task(name="billing.evaluate_spend")
def evaluate_spend(tenant_id: int | None = None) -> int:
    """Beat, every minute (all budgeted tenants in one pass), and after each lease creation,
    stop and usage batch (that tenant): spend-limit notices and stops."""
    from billing.services.spend import spend_evaluate

    return spend_evaluate(tenant_id=tenant_id).notices
