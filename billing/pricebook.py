"""The price book: metric changes (audited), and the built-in metrics. The migration seeds them;
`builtin_metric_id` re-creates one that is missing (a flushed test database, a hand-edited
table) rather than failing a run."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from billing.choices import CARD_MINUTES
from billing.models import Metric
from core.actors import Actor
from core.audit import audited_update
from core.exceptions import InvalidInput

BUILTIN_METRICS = {
    # code: (name, unit, unit price, billable, external)
    CARD_MINUTES: ("Short-lease card time", "card-minute", None, True, False),
    "storage_tb_hours": ("Storage", "TB-hour", Decimal("0.1400"), True, True),
    "egress_tb": ("Internet egress", "TB", Decimal("500.0000"), True, True),
    "card_busy_hours": ("Card busy time (utilisation, not billed)", "card-hour", None, False, True),
}


def ensure_builtin_metrics() -> None:
    for code, (name, unit, price, billable, external) in BUILTIN_METRICS.items():
        Metric.objects.get_or_create(
            code=code,
            defaults={"name": name, "unit": unit, "unit_price": price, "billable": billable,
                      "external": external},
        )  # fmt: skip


def builtin_metric_id(code: str) -> int:
    metric_id = Metric.objects.filter(code=code).values_list("pk", flat=True).first()
    if metric_id is None:
        ensure_builtin_metrics()
        metric_id = Metric.objects.values_list("pk", flat=True).get(code=code)
    return metric_id


def metric_update(*, actor: Actor, metric: Metric, **changes: Any) -> Metric:
    """Change a metric (its name, unit or price). A billable metric posted from outside keeps a
    price."""
    unpriced = "unit_price" in changes and changes["unit_price"] is None
    if metric.billable and metric.external and unpriced:
        raise InvalidInput(
            "A billable metric has a price.",
            fields={"unit_price": ["A billable metric has a price."]},
        )
    return audited_update(actor=actor, instance=metric, action="metric.update", changes=changes)
