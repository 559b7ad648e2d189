"""Demo occupancy and revenue: the nightly snapshots of every day since the demo's history began,
computed by the same recompute the nightly job runs, so the reports show something at once."""

from __future__ import annotations

import datetime as dt

from analytics.services import snapshots_recompute
from core import clock
from leasing.demo import history_start


def seed() -> None:
    yesterday = clock.local_today() - dt.timedelta(days=1)
    snapshots_recompute(day_from=history_start(), day_to=yesterday, trigger="backfill")
