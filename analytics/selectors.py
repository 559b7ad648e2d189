"""Reads over the snapshots, reused by reports and the business case."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection
from django.db.models import Count, DecimalField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from analytics.models import BusinessCase, OccupancyDaily
from core import clock
from core.money import round_rate
from marketplace.choices import CardStatus
from marketplace.models import Card, Site


def site_measured_rates(
    *, site_id: int, days: int = 90, until: dt.date | None = None
) -> tuple[Decimal | None, Decimal | None]:
    """A site's measured rental rate (leased / available card-hours, from the nightly
    snapshots) over the `days` days before `until` (default: today), and long leases' share of
    its leased card-hours. None where nothing was measured."""
    until = until or clock.local_today()
    since = until - dt.timedelta(days=days)
    totals = OccupancyDaily.objects.filter(
        site_id=site_id, day__gte=since, day__lt=until
    ).aggregate(available=Sum("card_hours_available"), leased=Sum("card_hours_leased"))
    rental = None
    if totals["available"]:
        rental = round_rate(totals["leased"] / totals["available"])
    long_share = _long_share_of_leased_hours(site_id=site_id, since=since, until=until)
    return rental, long_share


def _long_share_of_leased_hours(*, site_id: int, since: dt.date, until: dt.date) -> Decimal | None:
    start, end = clock.day_start(since), clock.day_start(until)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT sum(extract(epoch FROM upper(p) - lower(p))) FILTER (WHERE l.kind = 'long'),
                   sum(extract(epoch FROM upper(p) - lower(p)))
            FROM leasing_allocation a
            JOIN leasing_lease l ON l.id = a.lease_id
            JOIN marketplace_card c ON c.id = a.card_id
            JOIN marketplace_server s ON s.id = c.server_id
            JOIN marketplace_rack r ON r.id = s.rack_id
            CROSS JOIN LATERAL (SELECT a.period * tstzrange(%s, %s) AS p) x
            WHERE r.site_id = %s AND a.period && tstzrange(%s, %s) AND NOT isempty(p)
            """,
            [start, end, site_id, start, end],
        )
        long_seconds, all_seconds = cursor.fetchone()
    if not all_seconds:
        return None
    return round_rate(Decimal(long_seconds or 0) / Decimal(all_seconds))


# --- Business cases (the console's pages) -----------------------------------------------------


def business_cases() -> QuerySet[BusinessCase]:
    """Stored business cases, newest first, with their site and author (one query)."""
    return BusinessCase.objects.select_related("site", "created_by").order_by("-id")


def business_case_site(*, site_id: int) -> Site | None:
    """The site a business case is modelled for (any site: business cases are staff's)."""
    return Site.objects.filter(pk=site_id).first()


def sites_with_latest_business_case() -> QuerySet[Site]:
    """Every site with its newest business case's id and time (`latest_case_id`,
    `latest_case_at`, None without one) and how many it has (`case_count`), in one query."""
    newest = BusinessCase.objects.filter(site_id=OuterRef("pk")).order_by("-id")
    return Site.objects.annotate(
        latest_case_id=Subquery(newest.values("id")[:1]),
        latest_case_at=Subquery(newest.values("created_at")[:1]),
        case_count=Count("business_cases", distinct=True),
    ).order_by("name", "id")


def site_hardware_capex(*, site_id: int) -> tuple[int, Decimal]:
    """A site's installed cards (not retired, in a racked rack), in service or in maintenance,
    and what was paid for them (Σ capex_cost): the hardware capex a business case starts from."""
    totals = (
        Card.objects.installed()
        .filter(server__rack__site_id=site_id)
        .exclude(status=CardStatus.RETIRED)
        .aggregate(
            cards=Count("id"),
            paid=Coalesce(
                Sum("capex_cost"),
                Value(Decimal(0)),
                output_field=DecimalField(max_digits=20, decimal_places=2),
            ),
        )
    )
    return int(totals["cards"]), Decimal(totals["paid"])
