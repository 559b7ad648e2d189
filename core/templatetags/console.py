"""Template helpers of the console: `{% load console %}`."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.conf import settings

from core.money import round_money, to_decimal

register = template.Library()

CURRENCY_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€"}


@register.filter
def money(value: Decimal | int | str | None) -> str:
    """`Decimal("1234.5")` → `¥1,234.50`: rounded to cents as everywhere (ROUND_HALF_UP), the
    sign before the symbol (`-¥3.00`), thousands separated by commas. Empty for None."""
    if value is None or value == "":
        return ""
    amount = round_money(to_decimal(value))
    symbol = CURRENCY_SYMBOLS.get(settings.CURRENCY, f"{settings.CURRENCY} ")
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol}{abs(amount):,.2f}"
