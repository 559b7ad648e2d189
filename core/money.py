"""Money and quantities: Decimal only, quantized here and nowhere else.

The rules: docs/domain.md §Money and time.
"""

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

CENT = Decimal("0.01")
UNIT_PRICE_STEP = Decimal("0.0001")
RATE_STEP = Decimal("0.0001")

MONEY_DIGITS = 14  # max_digits of money fields: up to 999,999,999,999.99
PRICE_DIGITS = 14


def to_decimal(value: Decimal | int | str) -> Decimal:
    """Decimal from an int, str or Decimal; floats are refused: they are not money."""
    if isinstance(value, float):
        raise TypeError("floats are not accepted in money paths")
    return value if isinstance(value, Decimal) else Decimal(value)


def round_money(value: Decimal) -> Decimal:
    """Round to cents, ROUND_HALF_UP."""
    return to_decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def round_price(value: Decimal) -> Decimal:
    """Round a unit price to 4 places, ROUND_HALF_UP."""
    return to_decimal(value).quantize(UNIT_PRICE_STEP, rounding=ROUND_HALF_UP)


def round_rate(value: Decimal) -> Decimal:
    """Round a ratio (occupancy rates, break-even) to 4 places, ROUND_HALF_UP."""
    return to_decimal(value).quantize(RATE_STEP, rounding=ROUND_HALF_UP)


def fraction_to_money(value: Fraction) -> Decimal:
    """Round an exact rational amount to cents, ROUND_HALF_UP (one rounding, no drift)."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    # 28 significant digits: a true half-cent is represented exactly, so it rounds up.
    return exact.quantize(CENT, rounding=ROUND_HALF_UP)
