"""Paginated list endpoints: ours vs a textbook DRF ListAPIView, interleaved.

Target: `GET /api/v1/leases/` and `GET /api/v1/usage-records/` (50 rows a page, token auth,
tenant scoping, throttling, filters) at 1.5× the requests per second, under gunicorn, of
a textbook DRF `ListAPIView` + `ModelSerializer` (all fields, page-number pagination of 50, no
auth, no permission, no throttling) over the same rows: the `/bench/textbook/…` endpoints of
bench/textbook.py, served by the same gunicorn (bench/run.py starts it with BENCH_ENDPOINTS=true).

The rows: the tenant with the most leases in the bench database and its most frequent lease
status (`?status=`), and the tenant with the most usage records and its most frequent metric
(`?metric=`); both filters keep at least 50 rows, so every answer is a full first page. A tenant
user is created for each (`manage.py create_user`); the textbook endpoints get the same tenant as
`?tenant=` and the same filter, and must answer the same count and the same ids in the same order.

Measured, each endpoint pair interleaved so that machine noise hits both alike:
- throughput: `CLIENTS` threads, each with its own keep-alive connection (which gunicorn's sync
  workers close after every answer: both variants pay the reconnect alike), send requests one
  after another for `ROUND_SECONDS`; rounds alternate textbook / ours (ABBA order) `ROUNDS` times;
  req/s is the median over the rounds, and the ratio ours / textbook is the median of the
  per-pair ratios. The client shares the two cores with gunicorn and PostgreSQL: its own CPU
  time per request is reported (`client_cpu_ms`), to show it is not what limits the rate.
- latency: one client, one request to each endpoint in turn, `--requests` times; medians.
"""

from __future__ import annotations

import secrets
import statistics
import threading
import time
from dataclasses import dataclass
from typing import Any

from bench import usage_ingest
from bench.harness import ApiClient, BenchError, Context, latency_summary

CLIENTS = 4
ROUNDS = 8  # per variant: 8 rounds × 1.5 s = 12 s of each endpoint
ROUND_SECONDS = 1.5
PAGE = 50
TARGET_RATIO = 1.5


@dataclass(frozen=True)
class Endpoint:
    name: str  # "leases" / "usage-records"
    ours: str  # path with query
    textbook: str
    token: str
    tenant_id: int
    tenant: str
    filter: str


# --- Setting up: the tenants, their users, the filters ---

# The tenant with the most leases, and its most frequent lease status.
_LEASES_SQL = """
WITH busiest AS (
    SELECT tenant_id FROM leasing_lease GROUP BY tenant_id ORDER BY count(*) DESC, tenant_id
    LIMIT 1
)
SELECT t.id, t.name, l.status, count(*)
FROM busiest b JOIN accounts_tenant t ON t.id = b.tenant_id
JOIN leasing_lease l ON l.tenant_id = b.tenant_id
GROUP BY t.id, t.name, l.status ORDER BY 4 DESC, 3 LIMIT 1
"""
# The tenant with the most usage records, and its most frequent metric.
_USAGE_SQL = """
WITH busiest AS (
    SELECT tenant_id FROM billing_usagerecord GROUP BY tenant_id
    ORDER BY count(*) DESC, tenant_id LIMIT 1
)
SELECT t.id, t.name, m.code, count(*)
FROM busiest b JOIN accounts_tenant t ON t.id = b.tenant_id
JOIN billing_usagerecord u ON u.tenant_id = b.tenant_id
JOIN billing_metric m ON m.id = u.metric_id
GROUP BY t.id, t.name, m.code ORDER BY 4 DESC, 3 LIMIT 1
"""


def _token(ctx: Context, tenant: str) -> str:
    username = f"bench-list-{secrets.token_hex(4)}"
    out = ctx.manage("create_user", "--username", username, "--role", "tenant", "--tenant", tenant)
    lines = out.strip().splitlines()
    if not lines:
        raise BenchError("create_user printed no token")
    return lines[-1].strip()


# A fresh bench database has no usage records: the ledger one `usage_ingest` run leaves there
# (three times its 60,000 records, as its bare statement inserts them).
SEEDED_RUNS = 3


def seed_usage(ctx: Context) -> int:
    """Usage records for the list to page through, unless the database has some already."""
    with ctx.connect() as conn:
        if conn.execute("SELECT EXISTS (SELECT FROM billing_usagerecord)").fetchone() == (True,):
            return 0
        (metric,) = conn.execute(
            "SELECT id FROM billing_metric WHERE code = 'storage_tb_hours'"
        ).fetchone() or (None,)
    if metric is None:
        raise BenchError("no storage_tb_hours metric")
    leases = usage_ingest.long_leases(ctx)
    for run in range(SEEDED_RUNS):
        usage_ingest.bare_insert(ctx, leases, f"list-seed-{run}", metric)
    with ctx.connect() as conn:
        conn.execute("ANALYZE billing_usagerecord")
    return SEEDED_RUNS * usage_ingest.BATCHES * usage_ingest.BATCH


# What the lists read: vacuumed and analysed first (autovacuum is off on the bench server, and
# other benchmarks insert and delete usage records: stale statistics and dead rows would make
# both variants read the wrong plans over bloated tables).
_TABLES = ("billing_usagerecord", "leasing_lease", "leasing_allocation", "knox_authtoken")


def endpoints(ctx: Context) -> list[Endpoint]:
    seeded = seed_usage(ctx)
    if seeded:
        print(f"[bench] seeded {seeded:,} usage records (the database had none)", flush=True)
    with ctx.connect() as conn:
        for table in _TABLES:
            conn.execute(f"VACUUM ANALYZE {table}")
    found = []
    for name, query, param in (
        ("leases", _LEASES_SQL, "status"),
        ("usage-records", _USAGE_SQL, "metric"),
    ):
        with ctx.connect() as conn:
            row = conn.execute(query).fetchone()
            if row is None:
                raise BenchError(f"no {name} in the bench database")
            tenant_id, tenant, value, rows = row
            same_name = conn.execute(
                "SELECT count(*) FROM accounts_tenant WHERE name = %s", [tenant]
            ).fetchone()
        if not same_name or same_name[0] != 1:
            raise BenchError(f"tenant name {tenant!r} is not unique (create_user finds by name)")
        if rows < PAGE:
            raise BenchError(f"tenant {tenant_id}: only {rows} {name} with {param}={value}")
        found.append(
            Endpoint(
                name=name,
                ours=f"/api/v1/{name}/?{param}={value}",
                textbook=f"/bench/textbook/{name}/?tenant={tenant_id}&{param}={value}",
                token=_token(ctx, tenant),
                tenant_id=tenant_id,
                tenant=tenant,
                filter=f"{param}={value} ({rows} rows)",
            )
        )
    return found


def check(ctx: Context, endpoint: Endpoint) -> dict[str, Any]:
    """Both answer 200 with the same count and the same 50 ids; ours is the tenant's."""
    ours = ctx.client(endpoint.token)
    textbook = ApiClient(ctx.host, ctx.port or 0, None)
    try:
        me = ours.get_json("/api/v1/me/")
        mine = ours.get_json(endpoint.ours)
        theirs = textbook.get_json(endpoint.textbook)
    finally:
        ours.close()
        textbook.close()
    if (me.get("tenant") or {}).get("id") != endpoint.tenant_id:
        raise BenchError(f"the bench user is not of tenant {endpoint.tenant_id}: {me}")
    ids = [row["id"] for row in mine["results"]]
    if len(ids) != PAGE:
        raise BenchError(f"{endpoint.ours} answered {len(ids)} rows, not {PAGE}")
    if mine["count"] != theirs["count"] or ids != [row["id"] for row in theirs["results"]]:
        raise BenchError(
            f"{endpoint.ours} and {endpoint.textbook} answered different rows "
            f"(count {mine['count']} vs {theirs['count']})"
        )
    if any(row.get("tenant") != endpoint.tenant_id for row in mine["results"]):
        raise BenchError(f"{endpoint.ours} answered another tenant's rows")
    return {"count": mine["count"], "fields": sorted(mine["results"][0])}


# --- Measuring ---


def throughput_round(ctx: Context, path: str, token: str | None) -> dict[str, float]:
    """`CLIENTS` threads send GET `path` back to back for `ROUND_SECONDS`: req/s, client CPU."""
    done = [0] * CLIENTS
    bad: list[str] = []
    barrier = threading.Barrier(CLIENTS + 1)
    stop = threading.Event()

    def client(index: int) -> None:
        api = ApiClient(ctx.host, ctx.port or 0, token)
        try:
            barrier.wait()
            while not stop.is_set():
                response = api.get(path)
                if response.status != 200:
                    bad.append(f"{response.status}: {response.body[:200]!r}")
                    return
                done[index] += 1
        except Exception as exc:  # a broken client must not hang the others: report it
            bad.append(f"{exc.__class__.__name__}: {exc}")
        finally:
            api.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started, cpu = time.perf_counter(), time.process_time()
    time.sleep(ROUND_SECONDS)
    stop.set()
    for thread in threads:
        thread.join()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    if bad:
        raise BenchError(f"GET {path}: {bad[0]}")
    requests = sum(done)
    return {
        "req_per_s": requests / wall,
        "client_cpu_ms": cpu / requests * 1000 if requests else 0.0,
        "client_cpu_share": cpu / wall,
    }


def measure(ctx: Context, endpoint: Endpoint) -> dict[str, Any]:
    variants = {"textbook": (endpoint.textbook, None), "ours": (endpoint.ours, endpoint.token)}
    clients = {name: ApiClient(ctx.host, ctx.port or 0, tok) for name, (_, tok) in variants.items()}
    samples: dict[str, list[float]] = {name: [] for name in variants}
    try:
        for _ in range(ctx.warmup):
            for name, (path, _) in variants.items():
                clients[name].get(path)
        # One client, one request to each in turn.
        for _ in range(ctx.requests):
            for name, (path, _) in variants.items():
                response = clients[name].get(path)
                if response.status != 200:
                    raise BenchError(f"GET {path}: {response.status} {response.body[:200]!r}")
                samples[name].append(response.elapsed)
    finally:
        for api in clients.values():
            api.close()
    latency = {name: latency_summary(values, sum(values)) for name, values in samples.items()}

    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    for index in range(ROUNDS):
        order = ["textbook", "ours"] if index % 2 == 0 else ["ours", "textbook"]
        for name in order:
            path, token = variants[name]
            rounds[name].append(throughput_round(ctx, path, token))
    rates = {name: [r["req_per_s"] for r in rs] for name, rs in rounds.items()}
    pair_ratios = [o / t for o, t in zip(rates["ours"], rates["textbook"], strict=True)]
    rows = []
    for name in ("textbook", "ours"):
        rows.append(
            {
                "variant": f"{endpoint.name} {name}",
                "req_per_s": round(statistics.median(rates[name]), 1),
                "min_req_per_s": round(min(rates[name]), 1),
                "max_req_per_s": round(max(rates[name]), 1),
                "client_cpu_ms": round(
                    statistics.median(r["client_cpu_ms"] for r in rounds[name]), 3
                ),
                "single_median_ms": latency[name]["median_ms"],
                "single_p95_ms": latency[name]["p95_ms"],
            }
        )
    ratio = statistics.median(pair_ratios)
    rows[-1]["ratio"] = round(ratio, 2)
    return {
        "rows": rows,
        "ratio": ratio,
        "detail": {
            "ours": endpoint.ours,
            "textbook": endpoint.textbook,
            "tenant": endpoint.tenant,
            "tenant_id": endpoint.tenant_id,
            "filter": endpoint.filter,
            "rounds_req_per_s": {name: [round(v, 1) for v in vs] for name, vs in rates.items()},
            "pair_ratios": [round(v, 3) for v in pair_ratios],
            "client_cpu_share": {
                name: round(statistics.median(r["client_cpu_share"] for r in rs), 2)
                for name, rs in rounds.items()
            },
            "single_client": latency,
        },
    }


def run(ctx: Context) -> dict[str, Any]:
    found = endpoints(ctx)
    checks = {endpoint.name: check(ctx, endpoint) for endpoint in found}
    results = {endpoint.name: measure(ctx, endpoint) for endpoint in found}
    ratios = {name: round(result["ratio"], 3) for name, result in results.items()}
    return {
        "target": f"ours / textbook req/s >= {TARGET_RATIO:g} for each list",
        "meets_target": all(ratio >= TARGET_RATIO for ratio in ratios.values()),
        "ratios": ratios,
        "clients": CLIENTS,
        "rounds": ROUNDS,
        "round_seconds": ROUND_SECONDS,
        "rows": [row for result in results.values() for row in result["rows"]],
        "endpoints": {
            name: {**result["detail"], **checks[name]} for name, result in results.items()
        },
    }


def growth(result: dict[str, Any]) -> dict[str, tuple[float, str]]:
    """What `make bench BENCH_ARGS="--sizes …"` compares across fleet sizes: our lists' req/s."""
    return {
        f"list {row['variant']} (req/s)": (row["req_per_s"], "rate")
        for row in result["rows"]
        if not str(row["variant"]).endswith("textbook")
    }
