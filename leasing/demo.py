"""Demo leases: long leases keeping a base loaded, and short ones on demand."""

from __future__ import annotations

import datetime as dt

from accounts.models import Tenant
from core import clock
from leasing.services import lease_create, lease_stop
from marketplace.models import CardModel


def seed() -> None:
    tenants = list(Tenant.objects.order_by("id")[:3])
    models = {m.name: m for m in CardModel.objects.all()}
    today = clock.local_today()
    lease_create(
        actor=None,
        tenant=tenants[0],
        kind="long",
        card_model=models["Ascend-910B"],
        card_count=16,
        start=today,
        term_months=36,
    )
    lease_create(
        actor=None,
        tenant=tenants[1],
        kind="long",
        card_model=models["H100-SXM-80G"],
        card_count=8,
        start=today,
        term_months=12,
    )
    lease_create(
        actor=None,
        tenant=tenants[2],
        kind="long",
        card_model=models["DCU-K100-AI"],
        card_count=8,
        start=today + dt.timedelta(days=7),
        term_months=24,
    )
    lease_create(
        actor=None, tenant=tenants[0], kind="short", card_model=models["A100-SXM-80G"], card_count=4
    )
    stopped = lease_create(
        actor=None, tenant=tenants[1], kind="short", card_model=models["Ascend-910B"], card_count=2
    )
    lease_stop(actor=None, lease=stopped, reason="demo: a finished job")
    now = clock.now()
    lease_create(
        actor=None,
        tenant=tenants[2],
        kind="short",
        card_model=models["H100-SXM-80G"],
        card_count=8,
        start=now + dt.timedelta(days=2),
        end=now + dt.timedelta(days=3),
    )
