"""Lease creation, 16 concurrent clients, over the generated fleet: leases/s and latency.

What it answers: how many leases per second, at what p95, 16 concurrent clients create against
10,000 cards. Sixteen client threads, each a tenant user of its own tenant with its own token and
keep-alive connection, POST /api/v1/leases/ (with an `Idempotency-Key`, as a careful client
does) one after another, all released together:

- `short`: short leases of 1–8 cards, starting at a random instant of the next 30 days, 1–6 hours
  long, card models at random; for 20 s or `--requests` per client, whichever comes first;
- `short, no key`: the same without `Idempotency-Key` (what the key's bookkeeping costs);
- `long 12m`: long leases of 1–4 cards for 12 months from a day of the next 30, card models at
  random; 10 per client.

The fleet (generated, ~100,000 allocations) leaves enough room that most requests succeed; a 409
(no capacity) is counted, never retried. Windows come from a seed taken from the time, so reruns
do not collide with one another. After each variant the database is checked: no two overlapping
allocations on any card (self-join over the whole table), the bench tenants' leases are exactly
the ones answered 201 (a rejected request created nothing), each with `card_count` allocations
of its card model. Then those leases are deleted again (with their allocations, events and
idempotency keys), so the fleet stays as generated for the other benchmarks.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from bench.harness import BenchError, Context, Response, TenantUser, latency_summary

PATH = "/api/v1/leases/"
CLIENTS = 16
TARGET_LEASES_PER_S = 150.0
TARGET_P95_MS = 250.0
SHORT_SECONDS = 20.0
LONG_PER_CLIENT = 10
MAX_EXAMPLES = 5
USER_LABEL = "lease"


@dataclass(frozen=True)
class Variant:
    name: str
    seconds: float | None  # time limit (None: only the per-client count)
    per_client: Callable[[Context], int]
    body: Callable[[random.Random, list[int], dt.datetime, dt.date], dict[str, Any]]
    idempotency_key: bool = True


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def short_body(
    rng: random.Random, models: list[int], now: dt.datetime, today: dt.date
) -> dict[str, Any]:
    start = now + dt.timedelta(seconds=rng.randrange(600, 29 * 86400))
    return {
        "kind": "short",
        "card_model": rng.choice(models),
        "card_count": rng.randint(1, 8),
        "start": iso(start),
        "end": iso(start + dt.timedelta(seconds=rng.randrange(3600, 6 * 3600 + 1))),
    }


def long_body(
    rng: random.Random, models: list[int], now: dt.datetime, today: dt.date
) -> dict[str, Any]:
    return {
        "kind": "long",
        "card_model": rng.choice(models),
        "card_count": rng.randint(1, 4),
        "term_months": 12,
        "start": (today + dt.timedelta(days=rng.randrange(1, 30))).isoformat(),
    }


VARIANTS = (
    Variant("short", SHORT_SECONDS, lambda ctx: ctx.requests, short_body),
    Variant(
        "short, no key", SHORT_SECONDS, lambda ctx: ctx.requests, short_body, idempotency_key=False
    ),
    Variant("long 12m", None, lambda ctx: LONG_PER_CLIENT, long_body),
)


@dataclass
class Outcome:
    """What the clients saw, merged from all threads (each thread keeps its own until done)."""

    samples: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    created: list[int] = field(default_factory=list)
    created_cards: int = 0
    examples: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, response: Response, body: dict[str, Any]) -> None:
        self.samples.append(response.elapsed)
        self.statuses[response.status] += 1
        if response.status == 201:
            lease = response.json()
            self.created.append(int(lease["id"]))
            self.created_cards += int(lease["card_count"])
        elif response.status != 409 and len(self.examples) < MAX_EXAMPLES:
            self.examples.append(f"{response.status} for {body}: {response.body[:200]!r}")

    def merge(self, other: Outcome) -> None:
        self.samples += other.samples
        self.statuses += other.statuses
        self.created += other.created
        self.created_cards += other.created_cards
        self.examples += other.examples[: MAX_EXAMPLES - len(self.examples)]
        self.errors += other.errors


def operator_today() -> dt.date:
    zone = ZoneInfo(os.environ.get("OPERATOR_TIME_ZONE", "Asia/Shanghai"))
    return dt.datetime.now(zone).date()


def drive(
    ctx: Context,
    users: list[TenantUser],
    variant: Variant,
    models: list[int],
    seed: int,
    per_client: int,
    seconds: float | None,
) -> tuple[Outcome, float]:
    """Every client sends up to `per_client` requests (or until `seconds` have passed), all
    starting together; returns the merged outcome and the wall time from start to last answer."""
    outcomes = [Outcome() for _ in users]
    barrier = threading.Barrier(len(users) + 1)

    def client(index: int) -> None:
        rng = random.Random(f"{seed}-{variant.name}-{index}")
        outcome = outcomes[index]
        api = ctx.client(users[index].token)
        try:
            barrier.wait()
            stop_at = time.perf_counter() + (seconds if seconds is not None else float("inf"))
            for _ in range(per_client):
                if time.perf_counter() >= stop_at:
                    break
                body = variant.body(rng, models, dt.datetime.now(dt.UTC), operator_today())
                headers = {"Content-Type": "application/json"}
                if variant.idempotency_key:
                    headers["Idempotency-Key"] = str(uuid.uuid4())
                payload = json.dumps(body).encode()
                response = api.request("POST", PATH, body=payload, headers=headers)
                outcome.add(response, body)
        except Exception as exc:  # a broken client must not hang the others: report it
            outcome.errors.append(f"client {index}: {exc.__class__.__name__}: {exc}")
        finally:
            api.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(len(users))]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    merged = Outcome()
    for outcome in outcomes:
        merged.merge(outcome)
    return merged, wall


# --- Checks and clean-up in the database ---

OVERLAPS_SQL = """
SELECT count(*) FROM leasing_allocation a
JOIN leasing_allocation b ON b.card_id = a.card_id AND b.id > a.id AND b.period && a.period
"""

# Leases of the bench tenants whose allocations do not match them: wrong count, wrong card model,
# or not over the lease's [start, end).
MISMATCHED_SQL = """
SELECT count(*) FROM leasing_lease l
WHERE l.id = ANY(%(ids)s) AND (
    l.card_count <> (SELECT count(*) FROM leasing_allocation a WHERE a.lease_id = l.id)
    OR EXISTS (
        SELECT 1 FROM leasing_allocation a JOIN marketplace_card c ON c.id = a.card_id
        WHERE a.lease_id = l.id
          AND (c.card_model_id <> l.card_model_id OR a.period <> tstzrange(l.start, l."end", '[)'))
    )
)
"""


def bench_lease_ids(conn: psycopg.Connection[tuple[Any, ...]], tenants: list[int]) -> set[int]:
    rows = conn.execute("SELECT id FROM leasing_lease WHERE tenant_id = ANY(%s)", [tenants])
    return {row[0] for row in rows.fetchall()}


def verify(ctx: Context, tenants: list[int], created: list[int]) -> dict[str, Any]:
    with ctx.connect() as conn:
        started = time.perf_counter()
        overlaps = conn.execute(OVERLAPS_SQL).fetchone()
        check_ms = (time.perf_counter() - started) * 1000
        in_db = bench_lease_ids(conn, tenants)
        mismatched = conn.execute(MISMATCHED_SQL, {"ids": sorted(in_db)}).fetchone()
        allocations = conn.execute("SELECT count(*) FROM leasing_allocation").fetchone()
    return {
        "overlapping_allocations": overlaps[0] if overlaps else None,
        "overlap_check_ms": round(check_ms, 1),
        "leases_answered_201": len(created),
        "duplicate_201_ids": len(created) - len(set(created)),
        "leases_in_db": len(in_db),
        "leases_in_db_not_answered_201": len(in_db - set(created)),
        "leases_answered_201_not_in_db": len(set(created) - in_db),
        "leases_with_mismatched_allocations": mismatched[0] if mismatched else None,
        "allocations_in_db": allocations[0] if allocations else None,
    }


def clean_up(ctx: Context, tenants: list[int]) -> dict[str, Any]:
    """Delete the bench tenants' leases (allocations, events, idempotency keys with them). If
    something else refers to them by now (an invoice line, a usage record), cancel them instead:
    their allocations go, so the fleet is back to its generated occupancy either way."""
    scopes = [f"tenant:{tenant}" for tenant in tenants]
    with ctx.connect() as conn:
        ids = sorted(bench_lease_ids(conn, tenants))
        if not ids:
            return {"deleted": 0, "cancelled": 0}
        try:
            with conn.transaction():
                conn.execute("DELETE FROM leasing_allocation WHERE lease_id = ANY(%s)", [ids])
                conn.execute("DELETE FROM leasing_leaseevent WHERE lease_id = ANY(%s)", [ids])
                conn.execute("DELETE FROM core_idempotencykey WHERE scope = ANY(%s)", [scopes])
                conn.execute("DELETE FROM leasing_lease WHERE id = ANY(%s)", [ids])
            return {"deleted": len(ids), "cancelled": 0}
        except psycopg.errors.IntegrityError:
            with conn.transaction():
                conn.execute("DELETE FROM leasing_allocation WHERE lease_id = ANY(%s)", [ids])
                cancelled = conn.execute(
                    "UPDATE leasing_lease SET status = 'cancelled', updated_at = now() "
                    "WHERE id = ANY(%s) AND status <> 'cancelled'",
                    [ids],
                ).rowcount
            return {"deleted": 0, "cancelled": cancelled}


# --- The benchmark ---


def measure(
    ctx: Context, users: list[TenantUser], variant: Variant, models: list[int], seed: int
) -> dict[str, Any]:
    tenants = [user.tenant_id for user in users]
    per_client = variant.per_client(ctx)
    warmup_per_client = -(-ctx.warmup // len(users)) if ctx.warmup else 0
    warmup, _ = drive(ctx, users, variant, models, seed + 1, warmup_per_client, None)
    clean_up(ctx, tenants)
    outcome, wall = drive(ctx, users, variant, models, seed, per_client, variant.seconds)
    if outcome.errors:
        raise BenchError(f"{variant.name}: client errors: {outcome.errors[:3]}")
    checks = verify(ctx, tenants, outcome.created)
    cleaned = clean_up(ctx, tenants)
    created = outcome.statuses[201]
    conflicts = outcome.statuses[409]
    other = sum(outcome.statuses.values()) - created - conflicts
    stats = latency_summary(outcome.samples, wall)
    consistent = (
        checks["overlapping_allocations"] == 0
        and checks["duplicate_201_ids"] == 0
        and checks["leases_in_db_not_answered_201"] == 0
        and checks["leases_answered_201_not_in_db"] == 0
        and checks["leases_with_mismatched_allocations"] == 0
    )
    return {
        "row": {
            "variant": variant.name,
            "clients": len(users),
            "requests": len(outcome.samples),
            "201": created,
            "409": conflicts,
            "other": other,
            "leases_per_s": round(created / wall, 1),
            "cards_per_s": round(outcome.created_cards / wall, 1),
            "median_ms": stats["median_ms"],
            "p95_ms": stats["p95_ms"],
            "p99_ms": stats["p99_ms"],
            "max_ms": stats["max_ms"],
            "overlaps": checks["overlapping_allocations"],
            "consistent": consistent,
        },
        "detail": {
            "wall_s": round(wall, 2),
            "per_client_limit": per_client,
            "time_limit_s": variant.seconds,
            "statuses": {str(code): count for code, count in sorted(outcome.statuses.items())},
            "cards_allocated": outcome.created_cards,
            "warmup_requests": len(warmup.samples),
            "warmup_statuses": {str(k): v for k, v in sorted(warmup.statuses.items())},
            "other_examples": outcome.examples + warmup.examples,
            "checks": checks,
            "clean_up": cleaned,
            **stats,
        },
    }


def run(ctx: Context) -> dict[str, Any]:
    users = ctx.tenant_users(CLIENTS, USER_LABEL)
    tenants = [user.tenant_id for user in users]
    seed = ctx.seed * 1_000_003 + time.time_ns() // 1000 % 1_000_000_007
    clean_up(ctx, tenants)  # leftovers of an interrupted run
    api = ctx.client(users[0].token)
    try:
        models = [row["id"] for row in api.list_all("/api/v1/card-models/")]
    finally:
        api.close()
    if not models:
        raise BenchError("no card models")
    results = {v.name: measure(ctx, users, v, models, seed) for v in VARIANTS}
    rows = [result["row"] for result in results.values()]
    short = results[VARIANTS[0].name]["row"]
    return {
        "target": (
            f"{VARIANTS[0].name}: >= {TARGET_LEASES_PER_S:g} leases/s and "
            f"p95 < {TARGET_P95_MS:g} ms with {CLIENTS} clients, no overlap"
        ),
        "meets_target": short["leases_per_s"] >= TARGET_LEASES_PER_S
        and short["p95_ms"] < TARGET_P95_MS
        and all(row["consistent"] for row in rows),
        # the database checks must pass in every variant
        "checks_passed": all(row["consistent"] for row in rows),
        "clients": CLIENTS,
        "card_models": len(models),
        "window_seed": seed,
        "rows": rows,
        "variants": {name: result["detail"] for name, result in results.items()},
    }


def growth(result: dict[str, Any]) -> dict[str, tuple[float, str]]:
    """What `make bench BENCH_ARGS="--sizes …"` compares across fleet sizes."""
    short = result["rows"][0]
    return {
        "lease creation (leases/s)": (short["leases_per_s"], "rate"),
        "lease creation p95 (ms)": (short["p95_ms"], "time"),
    }
