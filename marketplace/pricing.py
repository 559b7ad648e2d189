"""List prices and quotes (docs/domain.md §Leases).

The long-lease term discounts are a price-book setting.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from core.money import round_money, round_price
from marketplace.choices import LeaseKind
from marketplace.models import CardModel

LONG_TERMS = (12, 24, 36, 48, 60)
SECONDS_PER_HOUR = Decimal(3600)


def long_lease_discount(term_months: int) -> Decimal:
    try:
        return Decimal(settings.LONG_LEASE_DISCOUNTS[term_months])
    except KeyError:
        raise ValueError(f"no long-lease term of {term_months} months") from None


def long_lease_monthly_fee(card_model: CardModel, term_months: int) -> Decimal:
    """Monthly fee per card = monthly_rate × (1 − discount for the term), to 4 places."""
    return round_price(card_model.monthly_rate * (1 - long_lease_discount(term_months)))


@dataclass(frozen=True)
class Quote:
    kind: str
    unit_price: Decimal
    amount: Decimal


def quote_long(card_model: CardModel, card_count: int, term_months: int) -> Quote:
    """The committed value: fee per card-month × cards × term."""
    fee = long_lease_monthly_fee(card_model, term_months)
    return Quote(LeaseKind.LONG, fee, round_money(fee * card_count * term_months))


def quote_short(
    card_model: CardModel, card_count: int, start: dt.datetime, end: dt.datetime
) -> Quote:
    """Hourly rate × cards × hours of [start, end) widened to whole minutes, as billed."""
    first = start.replace(second=0, microsecond=0)
    last = end.replace(second=0, microsecond=0)
    if last < end:
        last += dt.timedelta(minutes=1)
    hours = Decimal(int((last - first).total_seconds())) / SECONDS_PER_HOUR
    rate = card_model.hourly_rate
    return Quote(LeaseKind.SHORT, rate, round_money(rate * card_count * hours))
