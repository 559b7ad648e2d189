"""Lease rules (docs/domain.md §Leases): how far ahead and how long a lease may run, the window
a request holds, the long-lease term discounts, list prices and quotes.

Every rule about what a lease is lives here; `marketplace` keeps inventory, free cards and
placement. The window functions raise `InvalidInput`: they are called where input is
validated (the serializers and the lease services), never from a selector.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from core import clock
from core.exceptions import InvalidInput
from core.money import round_money, round_price
from leasing.choices import LeaseKind
from marketplace.models import CardModel

# --- Windows ---

LONG_MAX_ADVANCE_MONTHS = 12  # a long commitment is booked at most a year ahead
SHORT_MAX_ADVANCE = dt.timedelta(days=30)
SHORT_MAX_DURATION = dt.timedelta(days=90)


def short_lease_window(
    start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime
) -> tuple[dt.datetime, dt.datetime | None]:
    """The [start, end) of a short lease asked for at `now`: from now (a start up to a minute
    late is taken as now), reserved at most 30 days ahead, for at most 90 days."""
    lease_start = start or now
    if lease_start < now - clock.CLOCK_SKEW:
        raise InvalidInput("A short lease starts now or later.", fields={"start": ["In the past."]})
    lease_start = max(lease_start, now)
    if lease_start > now + SHORT_MAX_ADVANCE:
        raise InvalidInput(
            "A short lease can be reserved at most 30 days ahead.",
            fields={"start": ["More than 30 days ahead."]},
        )
    if end is not None:
        if end <= lease_start:
            raise InvalidInput("end must be after start.", fields={"end": ["Before start."]})
        if end - lease_start > SHORT_MAX_DURATION:
            raise InvalidInput(
                "A short lease lasts at most 90 days.", fields={"end": ["More than 90 days."]}
            )
    return lease_start, end


def long_lease_first_day(start: dt.datetime | dt.date | None) -> dt.date:
    """The operator-local first day of a long lease asked to start at `start` (default today):
    today or later, at most `LONG_MAX_ADVANCE_MONTHS` ahead."""
    today = clock.local_today()
    if start is None:
        first_day = today
    elif isinstance(start, dt.datetime):
        first_day = clock.local_date(start) if start.year < dt.MAXYEAR else dt.date.max
    else:
        first_day = start
    if first_day < today:
        raise InvalidInput(
            "A long lease starts today or later.", fields={"start": ["In the past."]}
        )
    if first_day > clock.add_months(today, LONG_MAX_ADVANCE_MONTHS):
        raise InvalidInput(
            f"A long lease starts at most {LONG_MAX_ADVANCE_MONTHS} months ahead.",
            fields={"start": ["Too far ahead."]},
        )
    return first_day


def lease_window(
    *, kind: str, start: dt.datetime | None, end: dt.datetime | None, term_months: int | None
) -> tuple[dt.datetime, dt.datetime | None]:
    """The [start, end) a lease request would hold: long leases run from operator-local
    midnight for whole months; short ones from `start` (default now) to `end` (or open)."""
    if kind == LeaseKind.LONG:
        assert term_months is not None
        first_day = long_lease_first_day(start)
        return clock.day_start(first_day), clock.day_start(clock.add_months(first_day, term_months))
    return short_lease_window(start, end, clock.now())


# --- Prices and quotes (the long-lease term discounts are a price-book setting) ---

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
