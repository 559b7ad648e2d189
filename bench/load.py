"""Mixed read/write load under locust for 60 s: throughput, p50/p99 per kind, workers' peak RSS.

What it answers: what the 2-worker gunicorn sustains, and at what latency, when every kind of
caller is on it at once over the 10,000-card fleet. Locust (headless, a subprocess:
bench/locustfile.py) runs 16 users, each one after another with 0-100 ms between requests:

- 8 tenant readers, users of the fleet's 8 busiest tenants: their leases (3), usage records (2),
  invoices (1), `me/` (2), availability of 1/8/32 cards of a random model for 1/7/30 days in the
  next four weeks (2);
- 4 tenant writers, each of its own bench tenant: a short lease of 1-4 cards from now, then its
  stop (a 409 for want of capacity is expected, and counted);
- 1 meter (operator): usage batches of 100 records over running long leases;
- 2 operators: last month's occupancy report by site and month;
- 1 finance user: every tenant's invoices.

Any other answer than 2xx (and the writers' 409) is a failure and fails the benchmark (the
`failures` column). Measured: requests, req/s, p50/p99/max overall and per kind (from every
request's own time, recorded by the locustfile), and the peak VmRSS of each gunicorn worker
(/proc/<pid>/status, sampled every 0.2 s). `--seconds` shortens (or lengthens) the run; the
gunicorn is sync by default, gthread with `--threads N`. Afterwards the writers' leases and the
meter's usage records are deleted again, so the fleet stays as generated.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.harness import ROOT, BenchError, Context, latency_summary
from bench.lease_create import clean_up
from bench.usage_ingest import long_leases as running_long_leases

SECONDS = 60.0
USERS = {"reader": 8, "writer": 4, "meter": 1, "reports": 2, "finance": 1}
READERS = USERS["reader"]
WRITERS = USERS["writer"]
HEAVY_DAYS = 90  # bench/load_heavy.py's report: the last 90 days per rack by day
SAMPLE_EVERY = 0.2  # s between RSS samples
# The statuses each kind of request may answer (200 for the others); anything else is a failure.
# A lease may find no capacity left (409).
EXPECTED = {"lease create": [201, 409], "usage batch (100)": [201]}

_BUSIEST_TENANTS_SQL = """
SELECT tenant_id FROM leasing_lease GROUP BY tenant_id ORDER BY count(*) DESC, tenant_id LIMIT %s
"""


def _gunicorn_workers(port: int) -> list[int]:
    """Pids of the gunicorn bound to `port`'s workers (children of its master)."""
    bind = f"127.0.0.1:{port}".encode()
    procs: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if b"gunicorn" in cmdline and bind in cmdline:
            procs[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])  # ppid
    return sorted(pid for pid, ppid in procs.items() if ppid in procs)


def _rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class RssSampler:
    """Peak VmRSS per gunicorn worker, sampled in a thread (workers restarted midway count too)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.peak_kb: dict[int, int] = {}
        self.first_kb: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in _gunicorn_workers(self.port):
                rss = _rss_kb(pid)
                if rss is not None:
                    self.first_kb.setdefault(pid, rss)
                    self.peak_kb[pid] = max(rss, self.peak_kb.get(pid, 0))
            self._stop.wait(SAMPLE_EVERY)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _ensure_snapshots(ctx: Context, day_from: dt.date, day_to: dt.date) -> None:
    """The reports read snapshots: recompute the range when it has none (a fresh fleet)."""
    with ctx.connect() as conn:
        row = conn.execute(
            "SELECT count(DISTINCT day) FROM analytics_occupancydaily WHERE day BETWEEN %s AND %s",
            [day_from, day_to],
        ).fetchone()
    if not row or row[0] < (day_to - day_from).days + 1:
        ctx.manage("recompute_occupancy", "--from", str(day_from), "--to", str(day_to))


def _config(ctx: Context, run_id: str, users: dict[str, int]) -> tuple[dict[str, Any], list[int]]:
    """Tokens, ids and ranges for the locustfile; the writers' tenant ids (to clean up)."""
    with ctx.connect() as conn:
        busiest = [row[0] for row in conn.execute(_BUSIEST_TENANTS_SQL, [READERS]).fetchall()]
        models = [row[0] for row in conn.execute("SELECT id FROM marketplace_cardmodel")]
    if len(busiest) < READERS or not models:
        raise BenchError("the bench fleet has too few tenants with leases, or no card models")
    readers = [(f"bench-load-reader-{n:02d}", "tenant", tid) for n, tid in enumerate(busiest)]
    staff: list[tuple[str, str, int | None]] = [
        ("bench-load-operator", "operator", None),
        ("bench-load-finance", "finance", None),
    ]
    tokens = ctx.users([*readers, *staff])
    writers = ctx.tenant_users(WRITERS, "load")
    today = dt.date.today()
    last_month_end = today.replace(day=1) - dt.timedelta(days=1)
    heavy_from = today - dt.timedelta(days=HEAVY_DAYS)
    _ensure_snapshots(ctx, min(heavy_from, last_month_end.replace(day=1)), today)
    config = {
        "users": users,
        "expected": EXPECTED,
        "tokens": {
            "reader": [tokens[name] for name, _, _ in readers],
            "writer": [user.token for user in writers],
            "operator": [tokens["bench-load-operator"]],
            "finance": [tokens["bench-load-finance"]],
        },
        "card_models": models,
        "usage_leases": [row[0] for row in running_long_leases(ctx)],
        "usage_source": f"bench-load-{run_id}",
        "report_range": {
            "from": last_month_end.replace(day=1).isoformat(),
            "to": last_month_end.isoformat(),
        },
        "heavy_range": {
            "from": heavy_from.isoformat(),
            "to": (today - dt.timedelta(days=1)).isoformat(),
        },
    }
    return config, [user.tenant_id for user in writers]


def _locust(
    ctx: Context, config_path: Path, out_path: Path, seconds: float, users: int
) -> dict[str, Any]:
    argv = [
        sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"),
        "--headless", "--users", str(users), "--spawn-rate", str(users),
        "--run-time", f"{seconds:g}s", "--stop-timeout", "10",
        "--host", f"http://{ctx.host}:{ctx.port}", "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip
    env = {**os.environ, "LOAD_CONFIG": str(config_path), "LOAD_OUT": str(out_path)}
    started = time.monotonic()
    cpu_before = os.times()
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True)
    wall = time.monotonic() - started
    cpu_after = os.times()
    if not out_path.exists():
        raise BenchError(
            f"locust wrote no samples (exit {done.returncode}):\n{done.stderr[-2000:]}"
        )
    samples: dict[str, list[list[float]]] = json.loads(out_path.read_text())
    client_cpu = (cpu_after.children_user - cpu_before.children_user) + (
        cpu_after.children_system - cpu_before.children_system
    )
    return {"samples": samples, "wall": wall, "client_cpu_s": round(client_cpu, 1), "log": done}


def _row(request_kind: str, samples: list[list[float]], seconds: float) -> dict[str, Any]:
    statuses: dict[str, int] = {}
    for status, _ in samples:
        statuses[str(int(status))] = statuses.get(str(int(status)), 0) + 1
    expected = EXPECTED.get(request_kind, [200])
    failures = sum(n for status, n in statuses.items() if int(status) not in expected)
    times = [ms / 1000 for _, ms in samples]
    summary = latency_summary(times, seconds) if len(times) >= 2 else {}
    return {
        "variant": request_kind,
        "requests": len(samples),
        "req_per_s": round(len(samples) / seconds, 1),
        "p50_ms": summary.get("median_ms"),
        "p99_ms": summary.get("p99_ms"),
        "max_ms": summary.get("max_ms"),
        "failures": failures,
        "statuses": " ".join(f"{s}×{n}" for s, n in sorted(statuses.items())),
    }


def _clean_up(ctx: Context, writer_tenants: list[int], source: str) -> dict[str, Any]:
    leases = clean_up(ctx, writer_tenants)
    with ctx.connect() as conn:
        usage = conn.execute("DELETE FROM billing_usagerecord WHERE source = %s", [source]).rowcount
        conn.execute("DELETE FROM billing_usagekey WHERE source = %s", [source])
    return {**leases, "usage_records_deleted": usage}


def run(ctx: Context) -> dict[str, Any]:
    return run_mix(ctx, USERS)


def run_mix(ctx: Context, users: dict[str, int]) -> dict[str, Any]:
    """The load with `users` (USERS, or USERS and a heavy report reader: bench/load_heavy.py)."""
    if ctx.port is None:
        raise BenchError("the web server is not running")
    seconds = ctx.seconds or SECONDS
    if not 5 <= seconds <= 600:
        raise BenchError(f"--seconds {seconds:g}: the load runs 5-600 s")
    run_id = secrets.token_hex(4)
    config, writer_tenants = _config(ctx, run_id, users)
    clean_up(ctx, writer_tenants)  # leftovers of an interrupted run
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        config_path, out_path = Path(tmp) / "config.json", Path(tmp) / "samples.json"
        config_path.write_text(json.dumps(config))
        workers_before = _gunicorn_workers(ctx.port)
        try:
            with RssSampler(ctx.port) as rss:
                outcome = _locust(ctx, config_path, out_path, seconds, sum(users.values()))
        finally:
            cleaned = _clean_up(ctx, writer_tenants, config["usage_source"])
    samples = outcome["samples"]
    rows = [_row(kind, samples[kind], seconds) for kind in sorted(samples)]
    every = [sample for kind in samples.values() for sample in kind]
    overall = _row("all", every, seconds)
    failures = sum(row["failures"] for row in rows)
    del overall["failures"], overall["statuses"]  # the kinds' rows count them
    total = len(every)
    peak = {str(pid): round(kb / 1024, 1) for pid, kb in sorted(rss.peak_kb.items())}
    first = {str(pid): round(kb / 1024, 1) for pid, kb in sorted(rss.first_kb.items())}
    if total == 0:
        raise BenchError("locust sent no requests")
    return {
        "seconds": seconds,
        "users": users,
        "requests": total,
        "req_per_s": overall["req_per_s"],
        "p50_ms": overall["p50_ms"],
        "p99_ms": overall["p99_ms"],
        "failures": 0,  # counted per row (bench/run.py sums them)
        "error_rate": round(failures / total, 4),
        "workers": workers_before,
        "worker_peak_rss_mb": peak,
        "worker_first_rss_mb": first,
        "worker_peak_rss_mb_max": max(peak.values()) if peak else None,
        "locust_cpu_s": outcome["client_cpu_s"],
        "locust_exit": outcome["log"].returncode,
        "locust_output": outcome["log"].stderr[-6000:].splitlines(),
        "locust_wall_s": round(outcome["wall"], 1),
        "cleaned_up": cleaned,
        "rows": [overall, *rows],
    }
