"""The one clock every time-dependent rule reads, and operator-local calendar helpers.

With the `TEST_CLOCK` setting on (never in production), an admin can freeze "now" at any instant
through `/api/v1/test-clock/`; the value lives in Redis, so the web workers and the Celery
workers read the same one. Without it set, `now()` is `django.utils.timezone.now()` (which
time-machine freezes in tests).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache as django_cache
from django.utils import timezone

from core.exceptions import InvalidInput

TEST_CLOCK_KEY = "test-clock:now"

# "Now" for this thread of code only, while `played_at` is active (the demo plays its history).
_played: ContextVar[dt.datetime | None] = ContextVar("clock_played_at", default=None)


def now() -> dt.datetime:
    """The current instant (aware, UTC)."""
    played = _played.get()
    if played is not None:
        return played
    if settings.TEST_CLOCK:
        stored = django_cache.get(TEST_CLOCK_KEY)
        if stored:
            return dt.datetime.fromisoformat(stored).astimezone(dt.UTC)
    return timezone.now()


def test_clock_bounds() -> tuple[dt.datetime, dt.datetime]:
    """The instants the test clock may be set to, in operator time: from `TEST_CLOCK_EARLIEST`
    (midnight) to `TEST_CLOCK_MAX_YEARS_AHEAD` calendar years past the real now. A clock further
    ahead would let the periodic tasks end every long lease for good."""
    zone = operator_tz()
    earliest = dt.datetime.combine(settings.TEST_CLOCK_EARLIEST, dt.time.min, tzinfo=zone)
    real_now = timezone.now().astimezone(zone)
    ahead = add_months(real_now.date(), 12 * settings.TEST_CLOCK_MAX_YEARS_AHEAD)
    return earliest, dt.datetime.combine(ahead, real_now.timetz())


def set_test_clock(instant: dt.datetime | None) -> None:
    """Freeze the test clock at `instant`, or give it back to real time with None."""
    if not settings.TEST_CLOCK:
        raise RuntimeError("the test clock is off (TEST_CLOCK setting)")
    if instant is None:
        django_cache.delete(TEST_CLOCK_KEY)
        return
    if timezone.is_naive(instant):
        raise ValueError("the test clock needs an aware datetime")
    earliest, latest = test_clock_bounds()
    if not earliest <= instant <= latest:
        message = (
            f"The test clock may be set between {earliest.isoformat()} and "
            f"{latest.replace(microsecond=0).isoformat()}."
        )
        raise InvalidInput(message, code="out_of_range", fields={"now": [message]})
    django_cache.set(TEST_CLOCK_KEY, instant.astimezone(dt.UTC).isoformat(), timeout=None)


@contextmanager
def played_at(instant: dt.datetime) -> Iterator[None]:
    """Run a block as if it were `instant`, in this process only (no setting, no Redis).

    For code that replays a past story through the services (`seed_demo`'s history); request
    handlers and tasks never use it.
    """
    if timezone.is_naive(instant):
        raise ValueError("played_at needs an aware datetime")
    token = _played.set(instant.astimezone(dt.UTC))
    try:
        yield
    finally:
        _played.reset(token)


def test_clock_is_set() -> bool:
    return bool(settings.TEST_CLOCK and django_cache.get(TEST_CLOCK_KEY))


# --- Operator-local calendar -------------------------------------------------------------------


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def operator_tz() -> ZoneInfo:
    return _zone(settings.OPERATOR_TIME_ZONE)


# How far a caller's clock may be off ours: a start "now" that arrives a little late, a meter
# that runs a little ahead.
CLOCK_SKEW = dt.timedelta(minutes=1)


def local_today() -> dt.date:
    """Today's date in the operator's time zone."""
    return now().astimezone(operator_tz()).date()


def local_date(instant: dt.datetime) -> dt.date:
    return instant.astimezone(operator_tz()).date()


def day_start(day: dt.date) -> dt.datetime:
    """Operator-local midnight at the start of `day`, as an aware datetime."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=operator_tz())


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The half-open instant range [start, end) of an operator-local day."""
    return day_start(day), day_start(day + dt.timedelta(days=1))


def month_first(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month_first(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by whole months, clamped to the last day of the target month."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    first = dt.date(year, month + 1, 1)
    last = (next_month_first(first) - dt.timedelta(days=1)).day
    return first.replace(day=min(day.day, last))


def days_in_month(day: dt.date) -> int:
    return (next_month_first(day) - month_first(day)).days


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The half-open instant range of the operator-local calendar month holding `month`."""
    first = month_first(month)
    return day_start(first), day_start(next_month_first(first))


MONTH_PATTERN = r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$"
"""A month as `YYYY-MM` from the year 1000, ASCII digits only (a Python regex's digit class, or
`int()`, takes any script's digits): the schema's pattern and this parser agree on what a month
is."""


def parse_month(value: str) -> dt.date:
    """'YYYY-MM' → the first day of that month; ValueError when malformed."""
    if not isinstance(value, str) or not re.fullmatch(MONTH_PATTERN, value):
        raise ValueError("expected a month as YYYY-MM")
    return dt.date(int(value[:4]), int(value[5:]), 1)
