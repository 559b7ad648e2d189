"""Occupancy and revenue reports over the snapshots: by day or month, grouped.

The rules: docs/domain.md §Occupancy and revenue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import Model

from accounts.models import Tenant
from core.downloads import csv_dict_text
from core.exceptions import InvalidInput
from core.money import round_rate
from core.replica import reports_alias, reports_as_of
from leasing.choices import LeaseKind
from marketplace.models import CardModel, Rack, Site

OCCUPANCY_GROUPS = {
    "rack": "o.rack_id",
    "site": "o.site_id",
    "card_model": "o.card_model_id",
    "fleet": "'fleet'",
}
REVENUE_GROUPS = {
    "site": "r.site_id",
    "card_model": "r.card_model_id",
    "lease_kind": "r.lease_kind",
    "tenant": "r.tenant_id",
}
GRANULARITIES = {"day": "day", "month": "month"}
STREAM_CHUNK = 2000  # rows fetched, named and written at a time when a report is streamed

OCCUPANCY_COLUMNS = [
    "period",
    "group",
    "group_name",
    "cards_installed",
    "cards_in_service",
    "card_hours_available",
    "card_hours_leased",
    "card_hours_busy",
    "rental_rate",
    "utilisation",
    "racking_rate",
]
REVENUE_COLUMNS = ["period", "group", "group_name", "amount"]

# The table whose `name` names a group's id (the other groups are labels, below).
_NAMED_GROUPS: dict[str, type[Model]] = {
    "rack": Rack,
    "site": Site,
    "card_model": CardModel,
    "tenant": Tenant,
}
_LABELS = {"fleet": "Fleet", **{str(kind): str(label) for kind, label in LeaseKind.choices}}


def _with_group_names(rows: list[dict[str, Any]], group_by: str) -> list[dict[str, Any]]:
    """Each row's `group_name` beside its `group`, from one query for the whole report."""
    model = _NAMED_GROUPS.get(group_by)
    names: dict[Any, str] = {}
    if model is not None:
        ids = {row["group"] for row in rows if row["group"] is not None}
        names = (
            dict(model._default_manager.filter(pk__in=ids).values_list("pk", "name")) if ids else {}
        )
    out = []
    for row in rows:
        period, group, *rest = row.items()
        name = names.get(group[1]) if model is not None else _LABELS.get(group[1], group[1])
        out.append(dict([period, group, ("group_name", name), *rest]))
    return out


def _period(granularity: str, column: str) -> str:
    if granularity == "month":
        return f"to_char({column}, 'YYYY-MM')"
    return f"to_char({column}, 'YYYY-MM-DD')"


def _rate(numerator: Any, denominator: Any) -> str | None:
    if not denominator:
        return None
    return str(round_rate(Decimal(numerator) / Decimal(denominator)))


def _rows_bound(
    alias: str, table: str, period: str, group: str, day_from: dt.date, day_to: dt.date
) -> int:
    """Refuse a report of more than REPORT_MAX_ROWS rows (400 `report_too_large`) before it is
    built: its rows are the (period, group) pairs of the snapshots in range, counted in SQL (a
    fraction of the report's own cost). A 3-year daily report per rack of the 10,000-card fleet
    is ~340,000 rows, ~90 MB of JSON built in a web worker's memory."""
    limit: int = settings.REPORT_MAX_ROWS
    with connections[alias].cursor() as cursor:
        cursor.execute(
            f"""
            SELECT count(*) FROM (
                SELECT {period}, {group} FROM {table} WHERE day BETWEEN %(d0)s AND %(d1)s
                GROUP BY 1, 2 LIMIT %(over)s
            ) AS pairs
            """,
            {"d0": day_from, "d1": day_to, "over": limit + 1},
        )
        (rows,) = cursor.fetchone()
    if rows > limit:
        raise InvalidInput(
            f"This report has more than {limit:,} rows, the most a report answers: ask for "
            "granularity=month, a narrower range of days, or a coarser group_by.",
            code="report_too_large",
            fields={"granularity": [f"More than {limit:,} rows; try month."]},
        )
    return int(rows)


@dataclass(frozen=True)
class ReportPlan:
    """A report's statement and how its rows read, with their count (at most REPORT_MAX_ROWS):
    all at once (`all`), or a chunk at a time from a server-side cursor (`stream`), so memory
    stays flat however many rows there are. Read from `alias` (the replica when there is one),
    whose data is as of `as_of`."""

    sql: str
    params: dict[str, Any]
    row: Callable[[tuple[Any, ...]], dict[str, Any]]
    group_by: str
    count: int
    alias: str
    as_of: dt.datetime

    def all(self) -> list[dict[str, Any]]:
        with connections[self.alias].cursor() as cursor:
            cursor.execute(self.sql, self.params)
            rows = cursor.fetchall()
        return _with_group_names([self.row(values) for values in rows], self.group_by)

    def stream(self) -> Iterator[dict[str, Any]]:
        """The rows, STREAM_CHUNK at a time (a query for the chunk's group names each)."""
        with connections[self.alias].chunked_cursor() as cursor:
            cursor.execute(self.sql, self.params)
            while chunk := cursor.fetchmany(STREAM_CHUNK):
                yield from _with_group_names([self.row(v) for v in chunk], self.group_by)


def occupancy_report(
    *, day_from: dt.date, day_to: dt.date, group_by: str, granularity: str
) -> list[dict[str, Any]]:
    return occupancy_plan(
        day_from=day_from, day_to=day_to, group_by=group_by, granularity=granularity
    ).all()


def occupancy_plan(
    *, day_from: dt.date, day_to: dt.date, group_by: str, granularity: str
) -> ReportPlan:
    """Sums of card-hours per period and group, with rates as ratios of the sums.

    Card counts are those of the period's last day. The racking rate of a rack or site group is
    its site's; of a card model or the fleet, the fleet's.
    """
    group = OCCUPANCY_GROUPS[group_by]
    period = _period(granularity, "o.day")
    alias = reports_alias()
    as_of = reports_as_of(alias)
    count = _rows_bound(alias, "analytics_occupancydaily o", period, group, day_from, day_to)
    site_period = _period(granularity, "s.day")
    racking_join = (
        "LEFT JOIN racking k ON k.period = x.period AND k.site_id = x.site_id"
        if group_by in {"rack", "site"}
        else "LEFT JOIN fleet_racking k ON k.period = x.period"
    )
    sql = f"""
    WITH occ AS (
        SELECT {period} AS period, {group} AS grp, min(o.site_id) AS site_id, o.day,
               sum(o.cards_installed) AS installed, sum(o.cards_in_service) AS in_service,
               sum(o.card_hours_available) AS available, sum(o.card_hours_leased) AS leased,
               sum(o.card_hours_busy) AS busy
        FROM analytics_occupancydaily o
        WHERE o.day BETWEEN %(d0)s AND %(d1)s
        GROUP BY 1, 2, o.day
    ),
    x AS (
        SELECT period, grp, min(site_id) AS site_id,
               (array_agg(installed ORDER BY day DESC))[1] AS installed,
               (array_agg(in_service ORDER BY day DESC))[1] AS in_service,
               sum(available) AS available, sum(leased) AS leased, sum(busy) AS busy
        FROM occ GROUP BY period, grp
    ),
    racking AS (
        SELECT {site_period} AS period, s.site_id,
               sum(s.racks_racked) AS racked, sum(s.racks_racked + s.racks_planned) AS racks
        FROM analytics_sitedaily s WHERE s.day BETWEEN %(d0)s AND %(d1)s
        GROUP BY 1, 2
    ),
    fleet_racking AS (
        SELECT period, sum(racked) AS racked, sum(racks) AS racks FROM racking GROUP BY period
    )
    SELECT x.period, x.grp, x.installed, x.in_service, x.available, x.leased, x.busy,
           k.racked, k.racks
    FROM x {racking_join}
    ORDER BY x.period, x.grp
    """

    def row(values: tuple[Any, ...]) -> dict[str, Any]:
        period_value, grp, installed, in_service, available, leased, busy, racked, racks = values
        return {
            "period": period_value,
            "group": grp if group_by == "fleet" else int(grp),
            "cards_installed": int(installed),
            "cards_in_service": int(in_service),
            "card_hours_available": f"{available:.4f}",
            "card_hours_leased": f"{leased:.4f}",
            "card_hours_busy": f"{busy:.4f}",
            "rental_rate": _rate(leased, available),
            "utilisation": _rate(busy, leased),
            "racking_rate": _rate(racked, racks),
        }

    return ReportPlan(sql, {"d0": day_from, "d1": day_to}, row, group_by, count, alias, as_of)


def revenue_report(
    *, day_from: dt.date, day_to: dt.date, group_by: str, granularity: str
) -> list[dict[str, Any]]:
    return revenue_plan(
        day_from=day_from, day_to=day_to, group_by=group_by, granularity=granularity
    ).all()


def revenue_plan(
    *, day_from: dt.date, day_to: dt.date, group_by: str, granularity: str
) -> ReportPlan:
    """Accrued revenue per period and group: the unrounded daily amounts summed, then rounded
    to the cent (so a lease's month equals its invoice line)."""
    group = REVENUE_GROUPS[group_by]
    period = _period(granularity, "r.day")
    alias = reports_alias()
    as_of = reports_as_of(alias)
    count = _rows_bound(alias, "analytics_revenuedaily r", period, group, day_from, day_to)
    sql = f"""
    SELECT {period} AS period, {group} AS grp, round(sum(r.amount), 2)
    FROM analytics_revenuedaily r
    WHERE r.day BETWEEN %(d0)s AND %(d1)s
    GROUP BY 1, 2
    ORDER BY 1, 2
    """

    def row(values: tuple[Any, ...]) -> dict[str, Any]:
        period_value, grp, amount = values
        return {
            "period": period_value,
            "group": grp if group_by == "lease_kind" or grp is None else int(grp),
            "amount": f"{amount:.2f}",
        }

    return ReportPlan(sql, {"d0": day_from, "d1": day_to}, row, group_by, count, alias, as_of)


def rows_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    return csv_dict_text(columns, rows)
