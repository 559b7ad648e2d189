"""Rules with an algebra: splitting a period never changes a total."""

import datetime as dt
from fractions import Fraction

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.models import UsageRecord
from billing.services.metering import month_meter, short_leases_meter
from core import clock
from leasing.models import Lease
from leasing.services import lease_create, lease_stop
from leasing.terms import long_lease_value
from tests.timing import at

days = st.dates(min_value=dt.date(2027, 1, 1), max_value=dt.date(2029, 12, 31))


@given(days, days, days, st.integers(1, 16), st.decimals("0.0001", "99999", places=4))
def test_splitting_a_long_lease_period_never_changes_its_value(a, b, c, cards, fee) -> None:
    start, middle, end = sorted((a, b, c))
    whole = long_lease_value(fee, cards, start, end)
    assert whole == long_lease_value(fee, cards, start, middle) + long_lease_value(
        fee, cards, middle, end
    )


@given(st.integers(1, 16), st.decimals("0.0001", "99999", places=4), days)
def test_a_full_month_is_fee_times_cards(cards, fee, day) -> None:
    first = clock.month_first(day)
    assert (
        long_lease_value(fee, cards, first, clock.next_month_first(first)) == Fraction(fee) * cards
    )


@pytest.mark.django_db
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    start=st.integers(0, 3 * 24 * 3600 - 1),
    length=st.integers(1, 3 * 24 * 3600),
)
def test_metered_minutes_split_across_days_and_months_add_up(domestic, tenant, start, length):
    """However a short lease falls across midnights and a month end, its metered
    records add up to its widened minutes, and metering again adds nothing."""
    UsageRecord.objects.all().delete()  # the database outlives hypothesis's examples
    Lease.objects.all().delete()
    origin = dt.datetime(2027, 3, 30, tzinfo=clock.operator_tz())
    begin = origin + dt.timedelta(seconds=start, microseconds=start % 7 * 1000)
    finish = begin + dt.timedelta(seconds=length)
    with time_machine.travel(begin, tick=False):
        lease = lease_create(actor=None, tenant=tenant, kind="short", card_model=domestic,
                             card_count=1)  # fmt: skip
    with time_machine.travel(finish, tick=False):
        lease_stop(actor=None, lease=lease)
    with at("2027-04-10 00:00"):
        first = short_leases_meter(since=origin, until=origin + dt.timedelta(days=7))
        again = short_leases_meter(since=origin)
    floor = begin.replace(second=0, microsecond=0)
    ceil = finish if finish == finish.replace(second=0, microsecond=0) else (
        finish.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    )  # fmt: skip
    minutes = int((ceil - floor).total_seconds() // 60)
    records = UsageRecord.objects.filter(lease=lease)
    assert first == records.count()
    assert again == 0
    assert sum(r.quantity for r in records) == minutes
    for r in records:  # every record lies inside one operator-local day (and month)
        local_start, local_end = (
            r.start.astimezone(clock.operator_tz()),
            r.end.astimezone(clock.operator_tz()),
        )
        midnight = local_start.replace(hour=0, minute=0)
        assert midnight <= local_end <= midnight + dt.timedelta(days=1)
        assert r.month == clock.month_first(local_start.date())


@pytest.mark.django_db
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    start=st.integers(0, 3 * 24 * 3600 - 1),
    length=st.integers(1, 3 * 24 * 3600),
)
def test_the_month_meter_writes_what_the_meter_does_and_then_only_what_is_missing(
    domestic, tenant, start, length
):
    """The invoice run's meter (a month's leases whose records are not all there) ends with the
    records the whole meter writes, however a short lease falls across midnights and a month
    end; a record gone missing is written again, and nothing else."""
    UsageRecord.objects.all().delete()  # the database outlives hypothesis's examples
    Lease.objects.all().delete()
    origin = dt.datetime(2027, 3, 30, tzinfo=clock.operator_tz())
    begin = origin + dt.timedelta(seconds=start, microseconds=start % 7 * 1000)
    with time_machine.travel(begin, tick=False):
        lease = lease_create(actor=None, tenant=tenant, kind="short", card_model=domestic,
                             card_count=1)  # fmt: skip
    with time_machine.travel(begin + dt.timedelta(seconds=length), tick=False):
        lease_stop(actor=None, lease=lease)

    def records() -> set[tuple]:
        return set(UsageRecord.objects.values_list("external_id", "quantity", "month", "start"))

    march, april = dt.date(2027, 3, 1), dt.date(2027, 4, 1)
    with at("2027-04-10 00:00"):
        short_leases_meter(since=origin)
        whole = records()
        UsageRecord.objects.all().delete()
        month_meter(march)
        month_meter(april)
        assert records() == whole
        assert (month_meter(march), month_meter(april)) == (0, 0)
        first = UsageRecord.objects.order_by("start").first()
        assert first is not None
        first.delete()
        assert month_meter(first.month) == 1
        assert records() == whole
