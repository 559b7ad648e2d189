"""Demo leases: long leases keeping a base loaded, and short ones on demand."""

from __future__ import annotations

import datetime as dt

from accounts.models import Tenant
from core import clock
from leasing.services import lease_create, lease_stop
from marketplace.models import CardModel

# tenant index, card model, cards, long term in months (None: short), start offset in days
DEMO_LEASES = [
    (0, "Ascend-910B", 16, 36, 0),
    (1, "H100-SXM-80G", 8, 12, 0),
    (2, "DCU-K100-AI", 8, 24, 7),
    (0, "A100-SXM-80G", 4, None, 0),
]


def seed() -> None:
    tenants = list(Tenant.objects.order_by("id")[:3])
    models = {m.name: m for m in CardModel.objects.all()}
    today, now = clock.local_today(), clock.now()
    for tenant, model, cards, term, offset in DEMO_LEASES:
        lease_create(
            actor=None,
            tenant=tenants[tenant],
            kind="long" if term else "short",
            card_model=models[model],
            card_count=cards,
            term_months=term,
            start=today + dt.timedelta(days=offset) if term else None,
        )
    finished = lease_create(
        actor=None, tenant=tenants[1], kind="short", card_model=models["Ascend-910B"], card_count=2
    )
    lease_stop(actor=None, lease=finished, reason="demo: a finished job")
    lease_create(
        actor=None,
        tenant=tenants[2],
        kind="short",
        card_model=models["H100-SXM-80G"],
        card_count=8,
        start=now + dt.timedelta(days=2),
        end=now + dt.timedelta(days=3),
    )
