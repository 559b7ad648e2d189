"""Measure the benchmarks on a base revision and on the working tree, in one run, side by side.

    make bench-compare BASE=main~3                      # every benchmark, 2 rounds
    make bench-compare BASE=41d8a65 BENCH_ARGS="availability nightly" ROUNDS=3
    make bench-compare BASE=main~1 BENCH_ARGS="--threads 4 lease_create" ROUNDS=2  # as served

A refactor must not be slower: this runs `bench/run.py` from a detached worktree of BASE
(var/bench-base, replaced on each run) and from this tree, alternating A B / B A per round so
that neither side always runs on a warmer cache or a bigger table, against the same bench
database (the schema must be the same on both sides: compare revisions without migrations
between them). It then prints, per benchmark and figure, the median of each side and
current / base. Each side's own results also go to its bench/results/<date>.jsonl.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BASE_TREE = ROOT / "var" / "bench-base"


def log(message: str) -> None:
    print(f"[compare] {message}", flush=True)


def prepare_base(rev: str) -> str:
    commit = subprocess.run(
        ["git", "rev-parse", "--verify", f"{rev}^{{commit}}"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    if BASE_TREE.exists():
        subprocess.run(["git", "worktree", "remove", "--force", str(BASE_TREE)], cwd=ROOT)
    subprocess.run(["git", "worktree", "prune"], cwd=ROOT, check=True)
    BASE_TREE.parent.mkdir(exist_ok=True)
    subprocess.run(
        ["git", "worktree", "add", "--detach", "--force", str(BASE_TREE), commit],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    return commit


def base_python() -> str:
    """The base tree's own virtualenv (var/bench-base/.venv), installed from its own
    pyproject: with this tree's editable install, a module the base lacks would silently be
    imported from this tree instead."""
    venv = BASE_TREE / ".venv"
    python = venv / "bin" / "python"
    if not python.exists():
        log(f"creating {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    log("installing the base tree's dependencies into it")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-c", "constraints.txt", "-e", ".[dev]"],
        cwd=BASE_TREE, check=True,
    )  # fmt: skip
    return str(python)


def run_side(tree: Path, python: str, names: list[str], options: list[str]) -> list[dict[str, Any]]:
    """Run the benchmarks from `tree` with `python` (and `bench/run.py` options); return the
    records it appended."""
    before = {path: path.stat().st_size for path in (tree / "bench" / "results").glob("*.jsonl")}
    log(f"running {' '.join(names) or 'all'} from {tree}")
    code = subprocess.run([python, "bench/run.py", *options, *names], cwd=tree).returncode
    if code != 0:
        raise SystemExit(f"[compare] bench/run.py failed in {tree} (exit {code})")
    records: list[dict[str, Any]] = []
    for path in (tree / "bench" / "results").glob("*.jsonl"):
        with path.open() as handle:
            handle.seek(before.get(path, 0))
            records.extend(json.loads(line) for line in handle if line.strip())
    return records


def figures(record: dict[str, Any]) -> dict[str, float]:
    """The numeric cells of a benchmark's rows, keyed `row label / column`."""
    out: dict[str, float] = {}
    for row in record.get("result", {}).get("rows", []):
        label = str(next(iter(row.values()), ""))
        for column, value in row.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                out[f"{label} / {column}"] = float(value)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("base", help="the revision to compare against (e.g. main~3)")
    parser.add_argument("names", nargs="*", help="benchmarks (default: all)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, help="gunicorn threads a worker, both sides")
    args = parser.parse_intermixed_args(argv)  # options may come between the names
    options = [] if args.threads is None else ["--threads", str(args.threads)]
    commit = prepare_base(args.base)
    log(f"base {args.base} = {commit[:12]} in {BASE_TREE}")
    pythons = {"base": base_python(), "current": sys.executable}
    sides: dict[str, list[list[dict[str, Any]]]] = {"base": [], "current": []}
    for round_ in range(args.rounds):
        order = [("base", BASE_TREE), ("current", ROOT)]
        for side, tree in order if round_ % 2 == 0 else reversed(order):
            sides[side].append(run_side(tree, pythons[side], args.names, options))
    print(f"\n== base {commit[:12]} vs current, median of {args.rounds} rounds ==")
    print(f"{'benchmark / figure':70} {'base':>12} {'current':>12} {'cur/base':>9}")
    benchmarks = [r["benchmark"] for r in sides["current"][0]]
    for name in benchmarks:
        per_side: dict[str, dict[str, list[float]]] = {"base": {}, "current": {}}
        for side, runs in sides.items():
            for run in runs:
                for record in run:
                    if record["benchmark"] == name:
                        for key, value in figures(record).items():
                            per_side[side].setdefault(key, []).append(value)
        for key, values in per_side["current"].items():
            base_values = per_side["base"].get(key)
            current = statistics.median(values)
            if not base_values:
                print(f"{name + ' / ' + key:70} {'-':>12} {current:12.2f}")
                continue
            base = statistics.median(base_values)
            ratio = f"{current / base:9.2f}" if base else f"{'-':>9}"
            print(f"{name + ' / ' + key:70} {base:12.2f} {current:12.2f} {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
