"""Billing rules that set-based SQL applies too, each with its Python twin side by side (a
property test holds them equal: tests/billing/test_rules_sql.py).

Billable usage: a record a month's run bills (and issuing its invoice claims) is one of a billable
metric, not yet on an invoice, of that month or earlier, and not waiting: a record of the month
itself waits while the tenant's invoice for the month is issued or paid (it goes to the next
invoice as prior-period), and a record of an earlier month waits while that month's invoice is
still a draft (the draft bills it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from billing.choices import InvoiceStatus

_CLOSED = (InvoiceStatus.ISSUED, InvoiceStatus.PAID)


def usage_billable(
    *,
    metric_billable: bool,
    invoiced: bool,
    record_month: dt.date,
    run_month: dt.date,
    invoice_statuses: Collection[str],
) -> bool:
    """Whether a month's run bills a usage record. `invoice_statuses`: the statuses of the
    record tenant's invoices for the record's month (any number, void ones included)."""
    if not metric_billable or invoiced or record_month > run_month:
        return False
    waiting = set(_CLOSED) if record_month == run_month else {InvoiceStatus.DRAFT}
    return not waiting.intersection(invoice_statuses)


def usage_billable_sql(record: str, metric: str, month: str) -> str:
    """SQL for `usage_billable`: `record` aliases billing_usagerecord, `metric` its
    billing_metric row, `month` the run month's expression (a placeholder)."""
    closed = ", ".join(f"'{status.value}'" for status in _CLOSED)
    return f"""{metric}.billable
  AND {record}.invoice_id IS NULL AND {record}.month <= {month}
  AND NOT EXISTS (
      SELECT 1 FROM billing_invoice i
      WHERE i.tenant_id = {record}.tenant_id AND i.month = {record}.month
        AND (({record}.month = {month} AND i.status IN ({closed}))
             OR ({record}.month < {month} AND i.status = '{InvoiceStatus.DRAFT.value}'))
  )"""
