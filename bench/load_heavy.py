"""The mixed load (bench/load.py) plus one operator asking for a 90-day daily per-rack report.

What it answers: how much one slow request at a time (~31,000 report rows, seconds of work)
costs every other caller of the 2-worker gunicorn: compare the other kinds' p50/p99 with
`load`'s, and sync workers with gthread ones (`--threads N`). The heavy kind is reported as
`HEAVY report rack/day 90d`; everything else is as in `load`.
"""

from __future__ import annotations

from typing import Any

from bench.harness import Context
from bench.load import USERS, run_mix


def run(ctx: Context) -> dict[str, Any]:
    return run_mix(ctx, {**USERS, "heavy": 1})
