"""Run the benchmarks against their own database and a gunicorn of the app.

    make bench                              # every registered benchmark
    make bench BENCH_ARGS="availability"    # some of them, by name
    make bench BENCH_ARGS="--fresh"         # drop and rebuild the bench database first
    make bench BENCH_ARGS="--list"
    make bench BENCH_ARGS="load --seconds 15"            # a time-bound benchmark, shorter
    make bench BENCH_ARGS="load --threads 4"             # gunicorn gthread workers, 4 threads

Needs DATABASE_URL and REDIS_URL (`make bench` runs this under `scripts/stack.py exec`). The
benchmarks use the database `aidc_bench` on the same PostgreSQL server (created when missing;
`--fresh` drops only that one) and Redis db 14 (15 if the app already uses 14), its keys
(Celery's queues included) under the prefix `aidc-bench`. The generated fleet
(`generate_fleet --cards 10000 --days 365`) is built once and kept across runs. Results: a table
on stdout and one JSON line per benchmark appended to bench/results/<date>.jsonl.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import importlib
import json
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

# `python bench/run.py` puts bench/ first on sys.path, where a module named like a standard one
# (bench/profile.py, …) would shadow it: put the project root there instead.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import psycopg
from psycopg import sql

from bench.harness import ROOT, BenchError, Context, manage

# The registry: bench/<name>.py modules with `run(ctx) -> dict`, in the order a plain
# `make bench` runs them. Read-only benchmarks first, then those that write (leases, usage).
BENCHMARKS: tuple[str, ...] = (
    "availability",
    "lease_create",
    "usage_ingest",
    "nightly",
    "invoice_run",
    "spend",
    "list_endpoints",
    "console",
    "load",
    "load_heavy",
    "webhooks",
)

# the 10,000-card fleet; other sizes: <BENCH_DB>_<cards>. Two checkouts whose schemas differ
# (a branch with a migration) each name their own, e.g. BENCH_DB=aidc_bench_mybranch.
BENCH_DB = os.environ.get("BENCH_DB", "aidc_bench")
BASE_CARDS = 10000
GROWTH_LIMIT = 1.2  # time may grow at most this many times as fast as the fleet
BENCH_REDIS_DB = 14
BENCH_KEY_PREFIX = "aidc-bench"
FLEET_PREFIX = "GF"
RESULTS = ROOT / "bench" / "results"
HOST = "127.0.0.1"
GUNICORN_WORKERS = 2


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


# --- Registry ---


@dataclass(frozen=True)
class Benchmark:
    name: str
    run: Callable[[Context], dict[str, Any]]
    needs_server: bool
    summary: str


def load(name: str) -> Benchmark:
    module = importlib.import_module(f"bench.{name}")
    run = getattr(module, "run", None)
    if not callable(run):
        raise SystemExit(f"[bench] bench/{name}.py has no run(ctx) function")
    summary = (module.__doc__ or "").strip().splitlines()
    return Benchmark(
        name=name,
        run=run,
        needs_server=bool(getattr(module, "NEEDS_SERVER", True)),
        summary=summary[0] if summary else "",
    )


# --- Database and Redis ---


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def bench_redis_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise SystemExit(f"[bench] REDIS_URL must be redis:// or rediss://, not {parts.scheme}://")
    app_db = int(parts.path.strip("/") or 0)
    db = BENCH_REDIS_DB if app_db != BENCH_REDIS_DB else BENCH_REDIS_DB + 1
    return urlunsplit(parts._replace(path=f"/{db}"))


def bench_db(cards: int) -> str:
    return BENCH_DB if cards == BASE_CARDS else f"{BENCH_DB}_{cards}"


def prepare_database(server_url: str, database: str, *, fresh: bool) -> None:
    """Create the bench database when missing (drop it first with `fresh`). No other database
    is touched."""
    with psycopg.connect(
        with_database(server_url, "postgres"), autocommit=True, connect_timeout=5
    ) as conn:
        name = sql.Identifier(database)
        if fresh:
            log(f"dropping database {database}")
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
        if exists.fetchone() is None:
            log(f"creating database {database}")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


def fleet_facts(database_url: str) -> dict[str, Any]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        sites, cards = conn.execute(
            """
            SELECT count(DISTINCT s.id), count(c.id)
            FROM marketplace_site s
            LEFT JOIN marketplace_rack r ON r.site_id = s.id
            LEFT JOIN marketplace_server v ON v.rack_id = r.id
            LEFT JOIN marketplace_card c ON c.server_id = v.id
            WHERE s.code LIKE %s
            """,
            [f"{FLEET_PREFIX}%"],
        ).fetchone() or (0, 0)
        facts: dict[str, Any] = {"sites": sites, "cards": cards}
        row = conn.execute("SELECT to_regclass('leasing_allocation') IS NOT NULL").fetchone()
        if row and row[0]:
            allocations = conn.execute("SELECT count(*) FROM leasing_allocation").fetchone()
            facts["allocations"] = allocations[0] if allocations else 0
        return facts


def ensure_fleet(env: dict[str, str], database_url: str, *, cards: int, days: int) -> bool:
    """Build the fleet when missing; whether it was built."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        present = conn.execute(
            "SELECT 1 FROM marketplace_site WHERE code LIKE %s LIMIT 1", [f"{FLEET_PREFIX}%"]
        ).fetchone()
    if present:
        log(f"generated fleet present: {fleet_facts(database_url)} (--fresh rebuilds it)")
        return False
    log(f"building the fleet: generate_fleet --cards {cards} --days {days} (takes a while)")
    started = time.monotonic()
    manage(env, "generate_fleet", "--cards", str(cards), "--days", str(days), capture=False)
    log(f"fleet built in {time.monotonic() - started:.0f}s: {fleet_facts(database_url)}")
    return True


def settle(database_url: str) -> None:
    """`VACUUM (ANALYZE)` the bench database, as autovacuum would have by the time a real one is
    queried. Bulk-loaded tables have no planner statistics until then (row estimates of 1 made
    plans several times slower), and a migration that rewrites a table's rows (filling a new
    column) leaves a dead copy of each in every index (the allocations' GiST index twice its size,
    and the queries probing it twice as slow). This server runs with autovacuum off."""
    started = time.monotonic()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    log(f"vacuumed and analyzed the bench database in {time.monotonic() - started:.0f}s")


def create_tenant(env: dict[str, str]) -> str:
    username = f"bench-tenant-{secrets.token_hex(4)}"
    out = manage(
        env, "create_user", "--username", username, "--role", "tenant", "--tenant", "Bench tenant"
    )
    lines = out.strip().splitlines()
    if not lines:
        raise SystemExit("[bench] create_user printed no token")
    log(f"tenant user {username}")
    return lines[-1].strip()


# --- gunicorn ---


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def gunicorn_worker_args(threads: int) -> list[str]:
    """Sync workers (threads 0), or gthread workers of `threads` threads each."""
    if threads <= 0:
        return []
    return ["--worker-class", "gthread", "--threads", str(threads)]


def start_gunicorn(
    env: dict[str, str], port: int, logfile: Path, *, threads: int = 0
) -> subprocess.Popen[bytes]:
    gunicorn = Path(sys.executable).parent / "gunicorn"
    argv = [
        str(gunicorn), "config.wsgi:application",
        "-w", str(GUNICORN_WORKERS),
        *gunicorn_worker_args(threads),
        "--bind", f"{HOST}:{port}",
        # gunicorn 27's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl):
        # keep clear of a `make run` gunicorn's.
        "--no-control-socket",
    ]  # fmt: skip
    # BENCH_ENDPOINTS: the unauthenticated baselines under /bench/ (bench/textbook.py).
    env = {**env, "BENCH_ENDPOINTS": "true"}
    log(f"starting {' '.join(argv[1:-1])} (log: {logfile})")
    with logfile.open("wb") as out:
        return subprocess.Popen(
            argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def wait_healthy(proc: subprocess.Popen[bytes], port: int, logfile: Path) -> None:
    deadline = time.monotonic() + 60
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"[bench] gunicorn exited with {proc.returncode}:\n{tail(logfile)}")
        conn = http.client.HTTPConnection(HOST, port, timeout=5)
        try:
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            body = response.read()
            if response.status == 200:
                return
            last = f"{response.status} {body[:200]!r}"
        except OSError as exc:
            last = str(exc)
        finally:
            conn.close()
        time.sleep(0.3)
    raise SystemExit(f"[bench] /healthz not 200 within 60s ({last}):\n{tail(logfile)}")


def stop_gunicorn(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)  # its own session: the master and its workers
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    log("gunicorn stopped")


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --- Facts and results ---


def machine_facts(database_url: str) -> dict[str, Any]:
    cpu_model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb: float | None = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model,
        "memory_gb": memory_gb,
        "postgresql": row[0] if row else None,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "gunicorn_workers": GUNICORN_WORKERS,
    }


def git_facts() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}


def format_cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def print_table(name: str, result: dict[str, Any]) -> None:
    rows: list[dict[str, Any]] = result.get("rows") or []
    print(f"\n== {name} ==")
    if result.get("target"):
        meets = result.get("meets_target")
        verdict = "" if meets is None else "met" if meets else "NOT met"
        print(f"target: {result['target']}  {verdict}".rstrip())
    if not rows:
        for key, value in result.items():
            if not isinstance(value, dict | list):
                print(f"{key}: {format_cell(value)}")
        return
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    cells = [[format_cell(row.get(col, "")) for col in columns] for row in rows]
    widths = [max(len(col), *(len(line[i]) for line in cells)) for i, col in enumerate(columns)]
    print("  ".join(col.ljust(w) for col, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for line in cells:
        print(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(line, widths, strict=True))
            )
        )


def append_results(records: list[dict[str, Any]]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{dt.date.today().isoformat()}.jsonl"
    with path.open("a") as out:
        for record in records:
            out.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
    return path


# --- Main ---


def request_failures(result: dict[str, Any]) -> int:
    """Failed requests a benchmark counted in its rows (a `failures` column) or at its top level.

    A benchmark whose requests failed measured refusals, not the work: it fails the run (exit 1)
    even when it did not raise itself."""
    rows: list[dict[str, Any]] = result.get("rows") or []
    counted = [row.get("failures") for row in rows] + [result.get("failures")]
    return sum(n for n in counted if isinstance(n, int) and not isinstance(n, bool))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "names", nargs="*", help=f"benchmarks to run (default: all of {BENCHMARKS})"
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument(
        "--fresh", action="store_true", help="drop and recreate the bench database first"
    )
    parser.add_argument("--warmup", type=int, default=50, help="warm-up requests (default 50)")
    parser.add_argument("--requests", type=int, default=500, help="measured requests (500)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--cards",
        type=int,
        default=BASE_CARDS,
        help=f"fleet size ({BENCH_DB} at {BASE_CARDS:,} cards, else {BENCH_DB}_<cards>)",
    )
    parser.add_argument(
        "--sizes",
        help="comma-separated fleet sizes: the benchmarks at each, then how their times grow "
        f"against the fleet (at most {GROWTH_LIMIT}x as fast), e.g. 10000,30000,100000",
    )
    parser.add_argument("--days", type=int, default=365, help="days of leases when built")
    parser.add_argument(
        "--seconds", type=float, help="duration of a time-bound benchmark (load: 60 s)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="gunicorn gthread workers of this many threads (default 0: sync workers)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for name in BENCHMARKS:
            print(f"{name:24} {load(name).summary}")
        return 0
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        raise SystemExit(f"[bench] unknown benchmark(s) {unknown}; known: {', '.join(BENCHMARKS)}")
    selected = [load(name) for name in (args.names or BENCHMARKS)]
    if args.requests < 2 or args.warmup < 0:
        raise SystemExit("[bench] --requests must be at least 2 and --warmup not negative")

    server_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    if not server_url or not redis_url:
        raise SystemExit("[bench] DATABASE_URL and REDIS_URL must be set (use `make bench`)")
    sizes = [int(size) for size in args.sizes.split(",")] if args.sizes else [args.cards]
    failed = False
    by_size: dict[int, list[dict[str, Any]]] = {}
    for cards in sizes:
        records, size_failed = run_at(args, selected, server_url, redis_url, cards)
        by_size[cards] = records
        failed = failed or size_failed
    if len(sizes) > 1:
        print_growth(by_size)
    return 1 if failed else 0


def run_at(
    args: argparse.Namespace,
    selected: list[Benchmark],
    server_url: str,
    redis_url: str,
    cards: int,
) -> tuple[list[dict[str, Any]], bool]:
    """The selected benchmarks on the fleet of `cards` cards (built when missing)."""
    database = bench_db(cards)
    database_url = with_database(server_url, database)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": bench_redis_url(redis_url),
        "REDIS_KEY_PREFIX": BENCH_KEY_PREFIX,
        "DEBUG": "false",
        "TEST_CLOCK": "false",
        "THROTTLE_RATE": "1000000/min",
    }
    log(f"database {database}, Redis {env['REDIS_URL']}, key prefix {BENCH_KEY_PREFIX}")

    prepare_database(server_url, database, fresh=args.fresh)
    migrated = "Applying " in manage(env, "migrate", "--noinput", "-v", "1")
    if ensure_fleet(env, database_url, cards=cards, days=args.days) or migrated:
        settle(database_url)
    token = create_tenant(env)
    machine = {**machine_facts(database_url), "gunicorn_threads": args.threads}
    fleet = fleet_facts(database_url)
    git = git_facts()
    log(f"machine: {machine}")

    RESULTS.mkdir(parents=True, exist_ok=True)
    logfile = RESULTS / "gunicorn.log"
    proc: subprocess.Popen[bytes] | None = None
    port: int | None = None
    records: list[dict[str, Any]] = []
    failed = False
    try:
        if any(bench.needs_server for bench in selected):
            port = free_port()
            proc = start_gunicorn(env, port, logfile, threads=args.threads)
            wait_healthy(proc, port, logfile)
        ctx = Context(
            env=env,
            database_url=database_url,
            host=HOST,
            port=port,
            token=token,
            warmup=args.warmup,
            requests=args.requests,
            seed=args.seed,
            seconds=args.seconds,
        )
        for bench in selected:
            log(f"running {bench.name}: {bench.summary}")
            started_at = dt.datetime.now(dt.UTC)
            started = time.monotonic()
            record: dict[str, Any] = {
                "benchmark": bench.name,
                "started_at": started_at.isoformat(timespec="seconds"),
                "argv": sys.argv[1:],
                "machine": machine,
                "fleet": fleet,
                "git": git,
            }
            try:
                record["result"] = bench.run(ctx)
                failures = request_failures(record["result"])
                if failures:
                    raise BenchError(f"{failures} failed request(s): its figures would mislead")
            except (BenchError, OSError, ValueError, KeyError) as exc:
                failed = True
                traceback.print_exc()
                record["error"] = f"{exc.__class__.__name__}: {exc}"
            record["duration_s"] = round(time.monotonic() - started, 1)
            records.append(record)
    finally:
        if proc is not None:
            stop_gunicorn(proc)

    for record in records:
        if "error" in record:
            print(f"\n== {record['benchmark']} ==\nFAILED: {record['error']}")
        else:
            print_table(record["benchmark"], record["result"])
    print(
        f"\nmachine: {machine['nproc']} CPUs ({machine['cpu_model']}), "
        f"PostgreSQL {machine['postgresql']}; fleet: {fleet}"
    )
    path = append_results(records)
    log(f"results appended to {path.relative_to(ROOT)}")
    return records, failed


def print_growth(by_size: dict[int, list[dict[str, Any]]]) -> None:
    """Each benchmark's growth figures (its module's `growth(result)`: name -> (value, kind),
    kind "time" or "rate") at each size, against the smallest: the time ratio over the size
    ratio must stay at most GROWTH_LIMIT (a rate's time is its inverse)."""
    sizes = sorted(by_size)
    base = sizes[0]
    figures: dict[str, dict[int, tuple[float, str]]] = {}
    for cards in sizes:
        for record in by_size[cards]:
            growth = getattr(
                importlib.import_module(f"bench.{record['benchmark']}"), "growth", None
            )
            if growth is None or "error" in record:
                continue
            for name, value in growth(record["result"]).items():
                figures.setdefault(name, {})[cards] = value
    print(f"\n== growth against {base:,} cards (time ratio / size ratio <= {GROWTH_LIMIT}) ==")
    header = [
        "figure",
        *[f"{cards:,} cards" for cards in sizes],
        *[f"x{cards / base:g} growth" for cards in sizes[1:]],
    ]
    rows = [header]
    for name, values in figures.items():
        if base not in values:
            continue
        base_value, kind = values[base]
        row = [name, *[f"{values[c][0]:,.1f}" if c in values else "-" for c in sizes]]
        for cards in sizes[1:]:
            if cards not in values or not base_value or not values[cards][0]:
                row.append("-")
                continue
            value = values[cards][0]
            time_ratio = value / base_value if kind == "time" else base_value / value
            growth_ratio = time_ratio / (cards / base)
            verdict = "met" if growth_ratio <= GROWTH_LIMIT else "NOT met"
            row.append(f"{growth_ratio:.2f} {verdict}")
        rows.append(row)
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    sys.exit(main())
