"""Lease rules (docs/domain.md §Leases): how far ahead and how long a lease may run, the window
a request holds, the long-lease term discounts, list prices and quotes.

Every rule about what a lease is lives here; `marketplace` keeps inventory, free cards and
placement. The window functions raise `InvalidInput`: they are called where input is
validated (the serializers and the lease services), never from a selector.

The money and time rules that bulk SQL applies too (invoicing, revenue snapshots, metering) are
here twice, side by side: a Python function and a named SQL fragment that the set-based
statements interpolate (`*_sql` functions returning an expression over the caller's columns).
tests/leasing/test_terms_sql.py holds each pair equal on generated cases (Hypothesis, on
PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

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
    *,
    kind: LeaseKind,
    start: dt.datetime | dt.date | None,
    end: dt.datetime | None,
    term_months: int | None,
) -> tuple[dt.datetime, dt.datetime | None]:
    """The [start, end) a lease request would hold: long leases run from operator-local
    midnight (of a date, or of an instant's day) for whole months; short ones from the instant
    `start` (default now) to `end` (or open)."""
    if kind == LeaseKind.LONG:
        assert term_months is not None
        first_day = long_lease_first_day(start)
        return clock.day_start(first_day), clock.day_start(clock.add_months(first_day, term_months))
    assert start is None or isinstance(start, dt.datetime), "a short lease starts at an instant"
    return short_lease_window(start, end, clock.now())


# --- Prices and quotes (the long-lease term discounts are a price-book setting) ---

# The offered terms are the discount table's: the lease's check constraint is built from them.
LONG_TERMS: tuple[int, ...] = tuple(sorted(settings.LONG_LEASE_DISCOUNTS))
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
    kind: LeaseKind
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
    first, last = minute_floor(start), minute_ceil(end)
    hours = Decimal(int((last - first).total_seconds())) / SECONDS_PER_HOUR
    rate = card_model.hourly_rate
    return Quote(LeaseKind.SHORT, rate, round_money(rate * card_count * hours))


# --- Money and time rules, in Python and as SQL fragments ---
#
# Whole-minute widening: short leases hold and are billed in whole minutes, from the minute their
# hold starts in to the end of the minute it ends in. Minutes are binned from the epoch (the same
# as date_trunc('minute') for any zone with whole-minute offsets, without its time-zone work).


def minute_floor(instant: dt.datetime) -> dt.datetime:
    """The start of the minute `instant` falls in."""
    return instant.replace(second=0, microsecond=0)


def minute_ceil(instant: dt.datetime) -> dt.datetime:
    """`instant` if it is on a minute, else the start of the next minute."""
    floor = minute_floor(instant)
    return floor if floor == instant else floor + dt.timedelta(minutes=1)


def minute_floor_sql(expr: str) -> str:
    """SQL for `minute_floor` of the timestamptz expression `expr`."""
    return f"date_bin('1 minute', {expr}, 'epoch')"


def minute_ceil_sql(expr: str) -> str:
    """SQL for `minute_ceil` of the timestamptz expression `expr` (microsecond precision)."""
    return f"date_bin('1 minute', {expr} + interval '59.999999 seconds', 'epoch')"


# Long-lease proration: a long lease bills, per calendar month, its monthly fee per card × cards
# × the month's active days / the days in that month (the start day counts, the end day not).


def month_share(fee: Decimal, card_count: int, days: int, days_in_month: int) -> Fraction:
    """Exactly what `days` active days of a month of `days_in_month` days bill."""
    return Fraction(fee) * card_count * days / days_in_month


def month_share_sql(fee: str, card_count: str, days: str, days_in_month: str) -> str:
    """SQL for `month_share` over the caller's expressions (numeric, unrounded)."""
    return f"({fee} * {card_count} * ({days})::numeric / {days_in_month})"


def long_lease_value(fee: Decimal, card_count: int, start: dt.date, end: dt.date) -> Fraction:
    """Exactly what the long-lease fee rule bills over [start, end): the sum of each calendar
    month's `month_share`."""
    total = Fraction(0)
    day = start
    while day < end:
        stop = min(clock.next_month_first(day), end)
        total += month_share(fee, card_count, (stop - day).days, clock.days_in_month(day))
        day = stop
    return total
