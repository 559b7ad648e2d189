"""Demo leases, with a history: long leases that began three months ago (every card model, so
the racks' rental rates spread from a quarter to most of the rack), short jobs that ran and
stopped since, and today's leases (a running short job, one reserved, one long lease starting
next week).

The past is played through the same services as the present, with the clock set to each past
instant (`clock.played_at`), so events, allocations and prices are what they would have been.
"""

from __future__ import annotations

import datetime as dt

from accounts.models import Tenant
from core import clock
from leasing.choices import LeaseKind
from leasing.models import Lease
from leasing.services import lease_create, lease_stop
from marketplace.models import CardModel

# Past: tenant index, card model, cards, long term in months.
HISTORY_LONG_LEASES = [
    (0, "Ascend-910B", 16, 36),
    (1, "H100-SXM-80G", 8, 12),
    (2, "Ascend-910B", 40, 24),
    (0, "H100-SXM-80G", 24, 12),
    (1, "A100-SXM-80G", 24, 12),
    (2, "DCU-K100-AI", 16, 36),
    (1, "MLU370-X8", 8, 12),
]
# Past short jobs: tenant index, card model, cards, days after the history start, hours run.
HISTORY_SHORT_JOBS = [
    (1, "Ascend-910B", 2, 5, 30),
    (2, "H100-SXM-80G", 8, 20, 50),
    (0, "A100-SXM-80G", 4, 30, 72),
    (2, "Ascend-910B", 4, 45, 10),
]
# Today: tenant index, card model, cards, long term in months (None: short), start offset in days.
DEMO_LEASES = [
    (2, "DCU-K100-AI", 8, 24, 7),
    (0, "A100-SXM-80G", 4, None, 0),
]
WORKDAY_START = dt.time(9, 0)


def history_start() -> dt.date:
    """The demo's first day: the 10th, three months back (so that month is prorated, and the
    occupancy trend has more than 90 days)."""
    return clock.add_months(clock.month_first(clock.local_today()), -3).replace(day=10)


def _at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, WORKDAY_START, tzinfo=clock.operator_tz())


def _seed_history(tenants: list[Tenant], models: dict[str, CardModel], first: dt.date) -> None:
    with clock.played_at(_at(first)):
        for tenant, model, cards, term in HISTORY_LONG_LEASES:
            lease_create(
                actor=None,
                tenant=tenants[tenant],
                kind=LeaseKind.LONG,
                card_model=models[model],
                card_count=cards,
                term_months=term,
                start=first,
            )
    for tenant, model, cards, days, hours in HISTORY_SHORT_JOBS:
        started = _at(first + dt.timedelta(days=days))
        with clock.played_at(started):
            job = lease_create(
                actor=None,
                tenant=tenants[tenant],
                kind=LeaseKind.SHORT,
                card_model=models[model],
                card_count=cards,
            )
        with clock.played_at(started + dt.timedelta(hours=hours, minutes=17)):
            lease_stop(actor=None, lease=job, reason="demo: the job finished")


def _seed_today(tenants: list[Tenant], models: dict[str, CardModel]) -> None:
    today, now = clock.local_today(), clock.now()
    for tenant, model, cards, term, offset in DEMO_LEASES:
        lease_create(
            actor=None,
            tenant=tenants[tenant],
            kind=LeaseKind.LONG if term else LeaseKind.SHORT,
            card_model=models[model],
            card_count=cards,
            term_months=term,
            start=today + dt.timedelta(days=offset) if term else None,
        )
    lease_create(
        actor=None,
        tenant=tenants[2],
        kind=LeaseKind.SHORT,
        card_model=models["H100-SXM-80G"],
        card_count=8,
        start=now + dt.timedelta(days=2),
        end=now + dt.timedelta(days=3),
    )


def seed() -> None:
    if Lease.objects.exists():
        return
    tenants = list(Tenant.objects.order_by("id")[:3])
    models = {m.name: m for m in CardModel.objects.all()}
    _seed_history(tenants, models, history_start())
    _seed_today(tenants, models)
