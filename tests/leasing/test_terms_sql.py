"""The money and time rules that bulk SQL applies too: each named SQL fragment in leasing.terms
gives, on PostgreSQL, what its Python twin gives, on generated cases."""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from django.conf import settings as django_settings
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import clock
from leasing.models import Lease
from leasing.terms import (
    LONG_TERMS,
    minute_ceil,
    minute_ceil_sql,
    minute_floor,
    minute_floor_sql,
    month_share,
    month_share_sql,
)

pytestmark = pytest.mark.django_db

DB = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
instants = st.datetimes(
    min_value=dt.datetime(2000, 1, 1),
    max_value=dt.datetime(2100, 1, 1),
    timezones=st.sampled_from([dt.UTC, clock.operator_tz()]),
)
fees = st.decimals("0.0001", "99999", places=4)


def _one(sql: str, params: list[object]) -> object:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sql}", params)
        return cursor.fetchone()[0]


def _round(value: Fraction, places: int) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


@DB
@given(instants)
def test_minute_widening_is_the_same_in_sql_and_python(instant: dt.datetime) -> None:
    floor = _one(minute_floor_sql("%s::timestamptz"), [instant])
    ceil = _one(minute_ceil_sql("%s::timestamptz"), [instant])
    assert floor == minute_floor(instant)
    assert ceil == minute_ceil(instant)
    assert floor <= instant <= ceil and ceil - floor <= dt.timedelta(minutes=1)


@DB
@given(
    st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2040, 12, 31)),
    st.sampled_from(LONG_TERMS),
    st.integers(1, 64),
    fees,
)
def test_long_lease_proration_is_the_same_in_sql_and_python(
    start: dt.date, term: int, cards: int, fee: Decimal
) -> None:
    """Month by month over a lease's term, as invoicing (to cents) and revenue snapshots (to
    6 places) prorate it: the SQL fragment over the SQL month split equals the Python rule."""
    end = clock.add_months(start, term)
    share = month_share_sql("%(fee)s::numeric", "%(cards)s", "d.last - d.first", "d.dim")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT d.first, round({share}, 2), round({share}, 6)
            FROM generate_series(date_trunc('month', %(start)s::date), %(end)s::date,
                                 interval '1 month') AS g(month)
            CROSS JOIN LATERAL (
                SELECT GREATEST(%(start)s::date, g.month::date) AS first,
                       LEAST(%(end)s::date, (g.month + interval '1 month')::date) AS last,
                       extract(day FROM g.month + interval '1 month' - interval '1 day') AS dim
            ) d
            WHERE d.last > d.first
            ORDER BY d.first
            """,
            {"fee": fee, "cards": cards, "start": start, "end": end},
        )
        rows = cursor.fetchall()
    expected = []
    day = start
    while day < end:
        stop = min(clock.next_month_first(day), end)
        share_py = month_share(fee, cards, (stop - day).days, clock.days_in_month(day))
        expected.append((day, _round(share_py, 2), _round(share_py, 6)))
        day = stop
    assert rows == expected


def test_the_offered_terms_are_the_discount_tables_and_the_lease_check_uses_them() -> None:
    assert tuple(sorted(django_settings.LONG_LEASE_DISCOUNTS)) == LONG_TERMS
    check = next(c for c in Lease._meta.constraints if c.name == "leasing_lease_kind_terms")
    long_branch = dict(check.condition.children[0].children)
    assert long_branch["term_months__in"] == list(LONG_TERMS)
