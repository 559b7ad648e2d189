"""Spend limits: one pass over 2,000 tenants with budgets and running short leases.

In `manage.py shell` against the bench database, inside a transaction rolled back at the end
(the generated fleet is left as it was): every generated tenant ("Gen tenant …", 2,000) gets a
budget (notify, a limit no one reaches, so the pass records nothing) and, on a card free from
now on, a running short lease from an hour ago with its allocation, all by set-based SQL. Then
`spend_evaluate()` (the beat's pass: one statement for every tenant's spend, short leases read
from their allocations to the minute now) is timed, cold and warm.
"""

from __future__ import annotations

import json
from typing import Any

from bench.harness import BenchError, Context

NEEDS_SERVER = False
TARGET_S = 0.2  # one pass, 2,000 budgeted tenants with running short leases (beat: every 60 s)

_CODE = r"""
import datetime as dt, json, time
from django.db import connection, transaction
from billing.services.spend import spend_evaluate
from core import clock

now = clock.now()
with transaction.atomic():
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO billing_budget (tenant_id, monthly_limit, warn_at, action, created_at,"
            " updated_at)"
            " SELECT id, 999999999.00, ARRAY[0.5, 0.8]::numeric[], 'notify', %s, %s"
            " FROM accounts_tenant WHERE name LIKE 'Gen tenant %%'"
            " ON CONFLICT (tenant_id) DO NOTHING",
            [now, now],
        )
        budgets = cursor.rowcount
        cursor.execute(
            '''
            WITH free AS (
                SELECT c.id AS card_id, c.card_model_id, row_number() OVER (ORDER BY c.id) AS n
                FROM marketplace_card c
                WHERE c.status = 'available' AND NOT EXISTS (
                    SELECT 1 FROM leasing_allocation a
                    WHERE a.card_id = c.id
                      AND a.period && tstzrange(%(start)s, NULL, '[)'))
            ),
            tenants AS (
                SELECT t.id AS tenant_id, row_number() OVER (ORDER BY t.id) AS n
                FROM accounts_tenant t WHERE t.name LIKE 'Gen tenant %%'
            ),
            leases AS (
                INSERT INTO leasing_lease (tenant_id, kind, card_model_id, card_count, status,
                    start, unit_price, created_at, updated_at)
                SELECT t.tenant_id, 'short', f.card_model_id, 1, 'active', %(start)s,
                       cm.hourly_rate, %(now)s, %(now)s
                FROM tenants t JOIN free f ON f.n = t.n
                JOIN marketplace_cardmodel cm ON cm.id = f.card_model_id
                RETURNING id, tenant_id
            )
            INSERT INTO leasing_allocation (lease_id, card_id, period)
            SELECT l.id, f.card_id, tstzrange(%(start)s, NULL, '[)')
            FROM leases l JOIN tenants t ON t.tenant_id = l.tenant_id JOIN free f ON f.n = t.n
            ''',
            {"start": now - dt.timedelta(hours=1), "now": now},
        )
        running = cursor.rowcount
        cursor.execute("ANALYZE billing_budget")
    t = time.perf_counter(); first = spend_evaluate(); first_s = time.perf_counter() - t
    t = time.perf_counter(); second = spend_evaluate(); second_s = time.perf_counter() - t
    transaction.set_rollback(True)
print("BENCH-JSON", json.dumps({
    "budgets": budgets, "running_short_leases": running, "tenants": first.tenants,
    "first_s": first_s, "second_s": second_s, "notices": first.notices + second.notices,
    "stopped": len(first.stopped) + len(second.stopped),
}))
"""


def run(ctx: Context) -> dict[str, Any]:
    output = ctx.manage("shell", "-v", "0", "-c", _CODE)
    lines = [line for line in output.splitlines() if line.startswith("BENCH-JSON ")]
    if not lines:
        raise BenchError(f"no result from the shell: {output[-500:]}")
    result = json.loads(lines[-1].removeprefix("BENCH-JSON "))
    return {
        "target": f"< {TARGET_S:g} s for one pass over 2,000 budgeted tenants",
        "meets_target": result["first_s"] < TARGET_S and result["stopped"] == 0,
        "rows": [
            {
                "tenants": result["tenants"],
                "running_short_leases": result["running_short_leases"],
                "first_pass_ms": round(result["first_s"] * 1000, 1),
                "second_pass_ms": round(result["second_s"] * 1000, 1),
                "notices": result["notices"],
            }
        ],
    }
