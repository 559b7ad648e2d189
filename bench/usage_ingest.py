"""Usage ingestion through the HTTP API: batches of 1,000 records under gunicorn.

Targets: ≥ 40,000 records/s, and ≥ 1/3 of a binary `COPY` of the same number of rows into the
same table (the contract's reference), measured in the same run. The bare statement of the
service (keys `ON CONFLICT DO NOTHING`, then the records whose keys were new, over `unnest(…)`)
is measured on the same rows too, for comparison. Then the
first batches are posted again: a retry must add nothing and report every record as duplicate.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
import time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bench.harness import ApiClient, BenchError, Context

PATH = "/api/v1/usage-records/"
BATCH = 1000
BATCHES = 60
CLIENTS = 3
RETRIED = 5
TARGET_RPS = 40_000
TARGET_RATIO = 1 / 3

_BARE_SQL = """
WITH r AS MATERIALIZED (
    SELECT nextval('billing_usagerecord_id_seq') AS id, l.tenant_id, r.lease_id, r.quantity,
           r.start, r."end",
           date_trunc('month', r.start AT TIME ZONE 'Asia/Shanghai')::date AS month, r.source,
           r.external_id
    FROM unnest(%(lease)s::bigint[], %(quantity)s::numeric[], %(start)s::timestamptz[],
                %(end)s::timestamptz[], %(source)s::text[], %(external_id)s::text[])
         AS r(lease_id, quantity, start, "end", source, external_id)
    JOIN leasing_lease l ON l.id = r.lease_id
),
k AS (
    INSERT INTO billing_usagekey (tenant_id, poster, source, external_id, record_id, month)
    SELECT tenant_id, 'operator', source, external_id, id, month FROM r
    ON CONFLICT DO NOTHING
    RETURNING record_id
)
INSERT INTO billing_usagerecord
    (id, tenant_id, lease_id, card_id, metric_id, quantity, start, "end", month, source,
     external_id, poster, corrects_id, created_at)
SELECT r.id, r.tenant_id, r.lease_id, NULL, %(metric)s, r.quantity, r.start, r."end", r.month,
       r.source, r.external_id, 'operator', NULL, now()
FROM r JOIN k ON k.record_id = r.id
"""


def long_leases(ctx: Context) -> list[tuple[int, dt.datetime, dt.datetime, int]]:
    """Long leases running through the last 30 days: windows inside their term are valid."""
    with ctx.connect() as conn:
        rows = conn.execute(
            """
            SELECT id, start, "end", tenant_id FROM leasing_lease
            WHERE kind = 'long' AND status IN ('active', 'ended')
              AND start < now() - interval '30 days' AND "end" > now()
            ORDER BY id LIMIT 200
            """
        ).fetchall()
    if not rows:
        raise BenchError("no long leases in the bench fleet (generate_fleet adds them)")
    return rows


def _records(leases: list[Any], run: str, batch: int) -> list[dict[str, Any]]:
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    out = []
    for i in range(BATCH):
        lease_id = leases[(batch * BATCH + i) % len(leases)][0]
        start = now - dt.timedelta(hours=1 + (batch * BATCH + i) % 600)
        out.append(
            {
                "source": f"bench-{run}",
                "external_id": f"{batch}-{i}",
                "lease": lease_id,
                "metric": "storage_tb_hours",
                "quantity": "1.25",
                "start": start.isoformat(),
                "end": (start + dt.timedelta(hours=1)).isoformat(),
            }
        )
    return out


def _http(ctx: Context, token: str, bodies: list[bytes]) -> dict[str, Any]:
    accepted = duplicates = failures = 0
    lock = threading.Lock()
    queue = list(enumerate(bodies))

    def worker() -> None:
        nonlocal accepted, duplicates, failures
        client = ApiClient(ctx.host, ctx.port or 0, token)
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    _, body = queue.pop(0)
                response = client.request(
                    "POST", PATH, body=body, headers={"Content-Type": "application/json"}
                )
                result = response.json() if response.status in (200, 201, 400) else {}
                with lock:
                    if response.status != 201:
                        failures += 1
                    accepted += result.get("accepted", 0)
                    duplicates += result.get("duplicates", 0)
        finally:
            client.close()

    threads = [threading.Thread(target=worker) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {"accepted": accepted, "duplicates": duplicates, "failures": failures, "seconds": wall}


def bare_insert(ctx: Context, leases: list[Any], run: str, metric: int) -> float:
    """Rows/s of the bare statement over the same number of rows, in batches of 1,000."""
    batches = [_records(leases, f"{run}-bare", b) for b in range(BATCHES)]
    with ctx.connect() as conn:
        started = time.perf_counter()
        for records in batches:
            conn.execute(
                _BARE_SQL,
                {
                    "metric": metric,
                    "lease": [r["lease"] for r in records],
                    "quantity": [r["quantity"] for r in records],
                    "start": [r["start"] for r in records],
                    "end": [r["end"] for r in records],
                    "source": [r["source"] for r in records],
                    "external_id": [r["external_id"] for r in records],
                },
            )
        wall = time.perf_counter() - started
    return BATCHES * BATCH / wall


_COPY_SQL = """
COPY billing_usagerecord (tenant_id, lease_id, metric_id, quantity, start, "end", month, source,
                          external_id, poster, created_at)
FROM STDIN (FORMAT BINARY)
"""
_COPY_TYPES = [
    "int8", "int8", "int8", "numeric", "timestamptz", "timestamptz", "date", "text", "text",
    "text", "timestamptz",
]  # fmt: skip


def _copy(ctx: Context, leases: list[Any], run: str, metric: int) -> float:
    """Rows/s of a binary COPY of the same number of rows, a COPY per batch of 1,000 (the
    contract's reference: the fastest way rows go into the table, no validation, no dedupe)."""
    tz = ZoneInfo("Asia/Shanghai")
    tenants = {lease_id: tenant_id for lease_id, _, _, tenant_id in leases}
    batches = [_records(leases, f"{run}-copy", b) for b in range(BATCHES)]
    now = dt.datetime.now(dt.UTC)
    with ctx.connect() as conn:
        started = time.perf_counter()
        for records in batches:
            with conn.cursor().copy(_COPY_SQL) as copy:
                copy.set_types(_COPY_TYPES)
                for r in records:
                    start = dt.datetime.fromisoformat(r["start"])
                    copy.write_row(
                        (
                            tenants[r["lease"]], r["lease"], metric, Decimal(r["quantity"]),
                            start, dt.datetime.fromisoformat(r["end"]),
                            start.astimezone(tz).date().replace(day=1), r["source"],
                            r["external_id"], "operator", now,
                        )
                    )  # fmt: skip
        wall = time.perf_counter() - started
    return BATCHES * BATCH / wall


def run(ctx: Context) -> dict[str, Any]:
    token = (
        ctx.manage(
            "create_user", "--username", f"bench-meter-{secrets.token_hex(4)}", "--role", "operator"
        )
        .strip()
        .splitlines()[-1]
    )
    leases = long_leases(ctx)
    with ctx.connect() as conn:
        (metric,) = conn.execute(
            "SELECT id FROM billing_metric WHERE code = 'storage_tb_hours'"
        ).fetchone() or (None,)
    if metric is None:
        raise BenchError("no storage_tb_hours metric")
    run_id = secrets.token_hex(4)
    bodies = [json.dumps({"records": _records(leases, run_id, b)}).encode() for b in range(BATCHES)]
    _http(ctx, token, [json.dumps({"records": _records(leases, f"{run_id}-w", 0)}).encode()])
    http = _http(ctx, token, bodies)
    retry = _http(ctx, token, bodies[:RETRIED])
    bare_rps = bare_insert(ctx, leases, run_id, metric)
    copy_rps = _copy(ctx, leases, run_id, metric)
    http_rps = http["accepted"] / http["seconds"]
    ratio = http_rps / copy_rps
    return {
        "target": (f">= {TARGET_RPS} records/s and >= 1/3 of a binary COPY of the same rows"),
        "meets_target": http_rps >= TARGET_RPS
        and ratio >= TARGET_RATIO
        and http["failures"] == 0
        and retry["accepted"] == 0,
        "rows": [
            {
                "batches": BATCHES,
                "batch_size": BATCH,
                "clients": CLIENTS,
                "http_records_per_s": round(http_rps),
                "copy_rows_per_s": round(copy_rps),
                "bare_rows_per_s": round(bare_rps),
                "ratio": round(ratio, 3),
                "accepted": http["accepted"],
                "failures": http["failures"],
                "retry_accepted": retry["accepted"],
                "retry_duplicates": retry["duplicates"],
            }
        ],
    }


def growth(result: dict[str, Any]) -> dict[str, tuple[float, str]]:
    """What `make bench BENCH_ARGS="--sizes …"` compares across fleet sizes."""
    return {"usage ingestion (records/s)": (result["rows"][0]["http_records_per_s"], "rate")}
