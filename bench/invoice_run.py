"""Invoice run: 2,000 tenants and 10,000 leases in under 5 s (20,000 and 100,000 in under 30 s).

Runs the month before the current one through the service, in `manage.py shell` against the
bench database, then runs it again: the second run must change nothing (and shows what a refresh
costs). Before them the last run's drafts are removed, the month's short leases metered as the
platform's hourly meter would have done by month end (a freshly generated fleet has no meter
records: the first run would otherwise meter the whole month in bulk; that time is reported
apart, `meter_s`), and the ledger vacuumed and analysed, as autovacuum keeps it.
"""

from __future__ import annotations

import json
from typing import Any

from bench.harness import BenchError, Context

NEEDS_SERVER = False
TARGET_S = 5.0  # 2,000 tenants, 10,000 leases (30 s at 20,000 / 100,000)

_CODE = r"""
import json, time
from django.db import connection
from billing.models import Invoice, InvoiceLine
from billing.services.invoicing import invoice_run
from billing.services.metering import month_meter
from core import clock

month = clock.add_months(clock.month_first(clock.local_today()), -1)
Invoice.objects.filter(month=month, status="draft").delete()
t = time.perf_counter(); metered = month_meter(month); meter_s = time.perf_counter() - t
with connection.cursor() as cursor:
    cursor.execute(
        "UPDATE billing_usagerecord SET invoice_id = NULL"
        " WHERE month = %s AND invoice_id IS NOT NULL",
        [month],
    )
    # as autovacuum keeps a production database (a bench server may run without it): the rows
    # the last run and the reset left dead gone, the ledger's statistics up to date
    cursor.execute("VACUUM ANALYZE billing_usagerecord, billing_invoice, billing_invoiceline")
t = time.perf_counter(); first = invoice_run(month=month); first_s = time.perf_counter() - t
month_lines = InvoiceLine.objects.filter(invoice__month=month)
lines = month_lines.count()
snapshot = sorted(month_lines.values_list("id", "amount"))
t = time.perf_counter(); second = invoice_run(month=month); second_s = time.perf_counter() - t
same = snapshot == sorted(month_lines.values_list("id", "amount"))
with connection.cursor() as cursor:
    cursor.execute("SELECT count(DISTINCT tenant_id), count(*) FROM leasing_lease")
    tenants, leases = cursor.fetchone()
print("BENCH-JSON", json.dumps({
    "month": month.isoformat(), "first_s": first_s, "second_s": second_s,
    "metered": metered, "meter_s": meter_s,
    "status": [first.status, second.status], "invoices": first.invoices, "lines": lines,
    "unchanged": same, "tenants_with_leases": tenants, "leases": leases,
}))
"""


def run(ctx: Context) -> dict[str, Any]:
    output = ctx.manage("shell", "-v", "0", "-c", _CODE)
    lines = [line for line in output.splitlines() if line.startswith("BENCH-JSON ")]
    if not lines:
        raise BenchError(f"no result from the shell: {output[-500:]}")
    result = json.loads(lines[-1].removeprefix("BENCH-JSON "))
    return {
        "target": f"< {TARGET_S:g} s for 2,000 tenants and 10,000 leases",
        "meets_target": result["first_s"] < TARGET_S
        and result["unchanged"]
        and result["status"] == ["done", "done"],
        "rows": [
            {
                "month": result["month"],
                "tenants": result["tenants_with_leases"],
                "leases": result["leases"],
                "invoices": result["invoices"],
                "lines": result["lines"],
                "first_run_s": round(result["first_s"], 2),
                "rerun_s": round(result["second_s"], 2),
                "rerun_changed_nothing": result["unchanged"],
                "metered_before": result["metered"],
                "meter_s": round(result["meter_s"], 2),
            }
        ],
    }


def growth(result: dict[str, Any]) -> dict[str, tuple[float, str]]:
    """What `make bench BENCH_ARGS="--sizes …"` compares across fleet sizes."""
    return {"invoice run (s)": (result["rows"][0]["first_run_s"], "time")}
