"""Reads over the snapshots, reused by reports, the business case and the console's Fleet pages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from django.db import connection
from django.db.models import Count, DecimalField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from analytics.models import BusinessCase, OccupancyDaily
from analytics.reports import occupancy_plan, occupancy_report
from core import clock
from core.money import round_rate
from marketplace.choices import CardStatus, RackStatus
from marketplace.models import Card, Rack, Site
from marketplace.selectors import capacity_by, site_racks


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


# --- The console's Fleet pages -----------------------------------------------------------------

TREND_DAYS = 90
RATE_BANDS = 5  # a rental rate's band: 0–20 %, 20–40 %, … 80–100 % (band 0 … band 4)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def rate_band(rate: Decimal | None) -> int | None:
    """The band of a rate (a ratio, 0…1): 0 for [0, 20 %), … 4 for [80 %, 100 %]; None for
    no figure."""
    if rate is None:
        return None
    return max(0, min(int(rate * RATE_BANDS), RATE_BANDS - 1))


@dataclass
class SiteFigures:
    """A site's (or the whole fleet's, `site` None) cards and PFLOPS installed now, and its
    rates on the day of the overview, from the snapshots."""

    site: Site | None
    cards: int = 0
    cards_in_maintenance: int = 0
    pflops: Decimal = Decimal("0.000")
    rental_rate: Decimal | None = None
    utilisation: Decimal | None = None
    racking_rate: Decimal | None = None


@dataclass
class Trend:
    """Rates per day over the overview's days, as the chart draws them: percentages (None
    where there is no snapshot), the fleet's first, then one series per site."""

    days: list[str]
    series: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FleetOverview:
    day: dt.date
    day_from: dt.date
    fleet: SiteFigures
    sites: list[SiteFigures]
    trend: Trend
    has_snapshots: bool
    as_of: dt.datetime  # when the figures were read (a replica lags: core.replica)


def _percent(rate: str | None) -> float | None:
    return None if rate is None else round(float(rate) * 100, 1)


def _series(key: str, rows: list[dict[str, Any]], days: list[str]) -> dict[str, Any]:
    by_day = {row["period"]: row for row in rows}
    return {
        "key": key,
        "rental_rate": [_percent(by_day[d]["rental_rate"]) if d in by_day else None for d in days],
        "utilisation": [_percent(by_day[d]["utilisation"]) if d in by_day else None for d in days],
    }


def _rates_into(figures: SiteFigures, row: dict[str, Any] | None) -> None:
    if row is not None:
        figures.rental_rate = _decimal(row["rental_rate"])
        figures.utilisation = _decimal(row["utilisation"])
        figures.racking_rate = _decimal(row["racking_rate"])


def fleet_overview(*, day: dt.date, days: int = TREND_DAYS) -> FleetOverview:
    """Per site and for the fleet: cards and PFLOPS installed (`capacity_by`, as the capacity
    report), the rates of `day` and their daily trend over the `days` days up to it (the
    occupancy report, by site and for the fleet, as the API's). A constant number of queries,
    however many sites, racks and cards."""
    day_from = day - dt.timedelta(days=days - 1)
    plan = occupancy_plan(day_from=day_from, day_to=day, group_by="site", granularity="day")
    by_site = plan.all()
    fleet_rows = occupancy_report(
        day_from=day_from, day_to=day, group_by="fleet", granularity="day"
    )
    capacity = {row["group"]: row for row in capacity_by("site")}
    day_text = day.isoformat()
    day_texts = [(day_from + dt.timedelta(days=n)).isoformat() for n in range(days)]
    site_rows: dict[int, list[dict[str, Any]]] = {}
    for row in by_site:
        site_rows.setdefault(row["group"], []).append(row)

    sites: list[SiteFigures] = []
    fleet = SiteFigures(site=None)
    trend = Trend(days=day_texts, series=[_series("fleet", fleet_rows, day_texts)])
    for site in Site.objects.order_by("name", "id"):
        figures = SiteFigures(site=site)
        held = capacity.get(site.pk)
        if held is not None:
            figures.cards = cast(int, held["cards"])
            figures.cards_in_maintenance = cast(int, held["cards_in_maintenance"])
            figures.pflops = cast(Decimal, held["pflops"])
            fleet.cards += figures.cards
            fleet.cards_in_maintenance += figures.cards_in_maintenance
            fleet.pflops += figures.pflops
        rows = site_rows.get(site.pk, [])
        _rates_into(figures, next((r for r in rows if r["period"] == day_text), None))
        sites.append(figures)
        if rows:
            trend.series.append({**_series(f"site-{site.pk}", rows, day_texts), "name": site.name})
    _rates_into(fleet, next((r for r in fleet_rows if r["period"] == day_text), None))
    return FleetOverview(
        day=day,
        day_from=day_from,
        fleet=fleet,
        sites=sites,
        trend=trend,
        has_snapshots=bool(fleet_rows),
        as_of=plan.as_of,
    )


@dataclass
class RackTile:
    """A rack on a site's heat map: its rental rate on the day and that rate's band (None
    without a figure: a planned rack, or no snapshot)."""

    rack: Rack
    rental_rate: Decimal | None
    band: int | None

    @property
    def planned(self) -> bool:
        return self.rack.status == RackStatus.PLANNED


def site_heatmap(*, site_id: int, day: dt.date) -> list[RackTile]:
    """One tile per rack of the site, by name, with its rental rate on `day` (the occupancy
    report by rack, as the API's). A constant number of queries, however many racks."""
    rows = occupancy_report(day_from=day, day_to=day, group_by="rack", granularity="day")
    rates = {row["group"]: _decimal(row["rental_rate"]) for row in rows}
    tiles = []
    for rack in site_racks(site_id=site_id):
        rate = rates.get(rack.pk)
        tiles.append(RackTile(rack=rack, rental_rate=rate, band=rate_band(rate)))
    return tiles
