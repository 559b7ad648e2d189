"""Availability queries through the HTTP API over the generated fleet (p95 < 25 ms).

One client, one keep-alive connection, requests one after another: GET /api/v1/availability/
for 30-day windows starting on various days (and hours) of the coming four weeks (short leases are
reserved at most 30 days ahead, the rule availability shares with lease creation), cycling through
every card model. Variant `count=8` is the one with a target; `count=64 site` asks for 64 cards at
one generated site. Every answer must be 200 and self-consistent: `available` exactly when
`free_cards >= count`, placed cards adding up to `count`, the same answer for a repeated query.
A single failed request fails the benchmark (BenchError): its figures would time refusals.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.harness import ApiClient, BenchError, Context, Response, latency_summary

PATH = "/api/v1/availability/"
TARGET_P95_MS = 25.0  # at 10,000 cards
TARGET_P95_MS_LARGE = 50.0  # at 100,000 (the contract names these two; larger fleets: this one)
WINDOW = dt.timedelta(days=30)
# Starts from tomorrow 00:00 UTC plus up to 27 days and 23 hours: always inside the 30-day
# reservation horizon.
HORIZON_DAYS = 28
FLEET_PREFIX = "GF"
MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Variant:
    name: str
    count: int
    by_site: bool


VARIANTS = (
    Variant("count=8", count=8, by_site=False),
    Variant("count=64 site", count=64, by_site=True),
)


@dataclass
class Tally:
    failures: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    answers: dict[tuple[tuple[str, str], ...], bool] = field(default_factory=dict)
    available: int = 0

    def fail(self, reason: str, detail: str) -> None:
        self.failures[reason] += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(f"{reason}: {detail}")


def iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_queries(
    variant: Variant, models: list[int], sites: list[int], total: int, seed: int
) -> list[dict[str, str]]:
    """`total` deterministic queries: models in turn, random start day and hour, 30 days long."""
    rng = random.Random(f"{seed}-{variant.name}")
    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first = today + dt.timedelta(days=1)
    queries = []
    for index in range(total):
        start = first + dt.timedelta(days=rng.randrange(HORIZON_DAYS), hours=rng.randrange(24))
        params = {
            "card_model": str(models[index % len(models)]),
            "count": str(variant.count),
            "start": iso(start),
            "end": iso(start + WINDOW),
        }
        if variant.by_site:
            params["site"] = str(rng.choice(sites))
        queries.append(params)
    return queries


def check(response: Response, params: dict[str, str], tally: Tally) -> None:
    """Count a failure unless the answer is 200 and consistent with itself and earlier ones."""
    where = f"{PATH}?{'&'.join(f'{k}={v}' for k, v in params.items())}"
    if response.status != 200:
        tally.fail(f"http {response.status}", f"{where} -> {response.body[:200]!r}")
        return
    try:
        body: Any = response.json()
        available = body["available"]
        free = body["free_cards"]
        placed = [card for server in body["servers"] for card in server["cards"]]
    except (ValueError, KeyError, TypeError) as exc:
        tally.fail("malformed body", f"{where}: {exc!r}")
        return
    count = int(params["count"])
    if not isinstance(available, bool) or not isinstance(free, int):
        tally.fail("malformed body", f"{where}: available={available!r} free_cards={free!r}")
        return
    if body.get("card_count") != count:
        tally.fail("card_count mismatch", f"{where}: card_count={body.get('card_count')!r}")
    if available != (free >= count):
        tally.fail("available vs free_cards", f"{where}: available={available} free={free}")
    if available and (len(placed) != count or len(set(placed)) != count):
        tally.fail("placement size", f"{where}: {len(placed)} cards placed for {count}")
    if not available and placed:
        tally.fail("placement when unavailable", f"{where}: {len(placed)} cards placed")
    key = tuple(sorted(params.items()))
    earlier = tally.answers.setdefault(key, available)
    if earlier != available:
        tally.fail("inconsistent repeat", f"{where}: was {earlier}, now {available}")
    tally.available += available


def measure(
    ctx: Context, client: ApiClient, variant: Variant, models: list[int], sites: list[int]
) -> dict[str, Any]:
    queries = make_queries(variant, models, sites, ctx.warmup + ctx.requests, ctx.seed)
    warmup_tally = Tally()
    for params in queries[: ctx.warmup]:
        check(client.get(PATH, params), params, warmup_tally)
    tally = Tally()
    samples: list[float] = []
    opened = client.connections_opened
    started = time.perf_counter()
    for params in queries[ctx.warmup :]:
        response = client.get(PATH, params)
        samples.append(response.elapsed)
        check(response, params, tally)
    wall = time.perf_counter() - started
    stats = latency_summary(samples, wall)
    failures = sum(tally.failures.values())
    return {
        "row": {
            "variant": variant.name,
            "requests": len(samples),
            "failures": failures,
            "available": tally.available,
            **stats,
        },
        "detail": {
            "count": variant.count,
            "by_site": variant.by_site,
            "warmup": ctx.warmup,
            "warmup_failures": sum(warmup_tally.failures.values()),
            "failures_by_reason": dict(tally.failures),
            "failure_examples": tally.examples + warmup_tally.examples,
            "connections_opened": client.connections_opened - opened,
            "distinct_queries": len(tally.answers),
            **stats,
        },
    }


def run(ctx: Context) -> dict[str, Any]:
    client = ctx.client()
    try:
        models = [row["id"] for row in client.list_all("/api/v1/card-models/")]
        sites = [
            row["id"]
            for row in client.list_all("/api/v1/sites/", {"search": FLEET_PREFIX})
            if str(row.get("code", "")).startswith(FLEET_PREFIX)
        ]
        if not models or not sites:
            raise BenchError(f"no card models ({len(models)}) or generated sites ({len(sites)})")
        results = {v.name: measure(ctx, client, v, models, sites) for v in VARIANTS}
    finally:
        client.close()
    failed = {
        name: result["detail"]["failures_by_reason"]
        for name, result in results.items()
        if result["row"]["failures"] or result["detail"]["warmup_failures"]
    }
    if failed:
        examples = [ex for r in results.values() for ex in r["detail"]["failure_examples"]]
        raise BenchError(f"failed requests {failed}; e.g. {examples[:3]}")
    target = results[VARIANTS[0].name]["row"]
    with ctx.connect() as conn:
        (cards,) = conn.execute("SELECT count(*) FROM marketplace_card").fetchone() or (0,)
    bound = TARGET_P95_MS if cards <= 10_000 else TARGET_P95_MS_LARGE
    return {
        "target": f"{VARIANTS[0].name}: p95 < {bound:g} ms ({cards:,} cards)",
        "meets_target": target["p95_ms"] < bound and target["failures"] == 0,
        "card_models": len(models),
        "sites": len(sites),
        "window_days": WINDOW.days,
        "rows": [result["row"] for result in results.values()],
        "variants": {name: result["detail"] for name, result in results.items()},
    }


def growth(result: dict[str, Any]) -> dict[str, tuple[float, str]]:
    """What `make bench BENCH_ARGS="--sizes …"` compares across fleet sizes."""
    return {"availability p95 (ms)": (result["rows"][0]["p95_ms"], "time")}
