"""`{% load fleet %}`: the Fleet pages' rates as percentages."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django import template

register = template.Library()


@register.filter
def percent(rate: Decimal | None) -> str:
    """A rate (a ratio, 0…1) as a percentage with one place, half up: 0.4567 → "45.7 %";
    "—" for none."""
    if rate is None:
        return "—"
    return f"{(Decimal(rate) * 100).quantize(Decimal('0.1'), ROUND_HALF_UP)} %"
