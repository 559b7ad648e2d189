"""Demo compute-voucher programme and grants."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from accounts.models import Tenant
from billing.pricebook import ensure_builtin_metrics
from billing.services.vouchers import voucher_grant_create, voucher_program_create
from core import clock
from marketplace.models import CardModel


def seed() -> None:
    ensure_builtin_metrics()
    today = clock.local_today()
    domestic = list(CardModel.objects.filter(domestic=True))
    programme = voucher_program_create(
        actor=None,
        issuer="宜昌市 Yichang Municipal Bureau of Economy and IT",
        name=f"{today.year} 算力券 compute vouchers",
        budget=Decimal("5000000.00"),
        coverage_rate=Decimal("0.2000"),
        per_tenant_cap=Decimal("500000.00"),
        valid_from=dt.date(today.year, 1, 1),
        valid_to=dt.date(today.year + 1, 12, 31),
        lease_kinds=["long", "short"],
        max_term_months=36,
        model_rates=[{"card_model": m, "rate": Decimal("0.3000")} for m in domestic],
    )
    for tenant in Tenant.objects.order_by("id")[:2]:
        voucher_grant_create(
            actor=None, program=programme, tenant=tenant, amount=Decimal("200000.00")
        )
