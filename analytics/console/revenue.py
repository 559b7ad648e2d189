"""The console's Revenue page for finance (and admin): accrued revenue by month, per lease kind
or card model, as stacked bars and a table, from `revenue_plan` (what GET
/api/v1/reports/revenue/ answers), with a link to the API's CSV of the same report. With no
revenue yet, a button recomputes the period as POST /api/v1/reports/recompute/ does."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from analytics.reports import revenue_plan
from analytics.services import (
    range_validate,
    recompute_is_long,
    snapshots_recompute,
    snapshots_recompute_start,
)
from core import clock
from core.console import console_view
from core.exceptions import ApplicationError
from core.roles import Role

ROLES = [Role.FINANCE, Role.ADMIN]
GROUPINGS: dict[str, Promise] = {
    "lease_kind": _("By lease kind"),
    "card_model": _("By card model"),
}
KIND_LABELS: dict[str, Promise] = {"long": _("Long lease"), "short": _("Short lease")}
MONTHS_SHOWN = 12


def default_period() -> tuple[dt.date, dt.date]:
    """The last 12 months in operator time, this month included (first days of the months)."""
    this_month = clock.month_first(clock.local_today())
    return clock.add_months(this_month, -(MONTHS_SHOWN - 1)), this_month


class PeriodForm(forms.Form):
    """From one month to another (inclusive), as the API's `from` and `to` days."""

    start = forms.CharField(
        label=_("From month"), widget=forms.DateInput(attrs={"type": "month"}), max_length=7
    )
    end = forms.CharField(
        label=_("To month"), widget=forms.DateInput(attrs={"type": "month"}), max_length=7
    )
    by = forms.ChoiceField(
        label=_("Group"), choices=list(GROUPINGS.items()), required=False, widget=forms.HiddenInput
    )

    def _month(self, name: str) -> dt.date:
        try:
            return clock.parse_month(self.cleaned_data[name])
        except ValueError:
            raise forms.ValidationError(_("A month as YYYY-MM.")) from None

    def clean_start(self) -> dt.date:
        return self._month("start")

    def clean_end(self) -> dt.date:
        return self._month("end")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "start" in data and "end" in data:
            try:
                range_validate(data["start"], self.last_day(data["end"]))
            except ApplicationError as error:
                self.add_error(None, error.message)
        data["by"] = data.get("by") or "lease_kind"
        return data

    @staticmethod
    def last_day(month: dt.date) -> dt.date:
        return clock.next_month_first(month) - dt.timedelta(days=1)


def _group_label(by: str, row: dict[str, Any]) -> str:
    if by == "lease_kind":
        return str(KIND_LABELS.get(row["group"], row["group"]))
    return str(row["group_name"] or _("(unknown)"))


def pivot(rows: list[dict[str, Any]], by: str, months: list[str]) -> dict[str, Any]:
    """The report's rows as a months × groups table with totals per month and group."""
    order: dict[str, str] = {}  # label → what it sorts by: the lease kind, or the name
    cells: dict[tuple[str, str], Decimal] = {}
    for row in rows:
        label = _group_label(by, row)
        order.setdefault(label, str(row["group"]) if by == "lease_kind" else label)
        key = (row["period"], label)
        cells[key] = cells.get(key, Decimal(0)) + Decimal(row["amount"])
    groups = sorted(order, key=order.__getitem__)
    table = [
        {
            "month": month,
            "amounts": [cells.get((month, g), Decimal(0)) for g in groups],
            "total": sum((cells.get((month, g), Decimal(0)) for g in groups), Decimal(0)),
        }
        for month in months
    ]
    totals = [sum((cells.get((m, g), Decimal(0)) for m in months), Decimal(0)) for g in groups]
    return {
        "groups": groups,
        "rows": table,
        "totals": totals,
        "grand_total": sum(totals, Decimal(0)),
        "chart": {
            "months": months,
            "series": [
                {"name": g, "data": [str(cells.get((m, g), Decimal(0))) for m in months]}
                for g in groups
            ],
        },
    }


def _ym(month: dt.date) -> str:
    return month.strftime("%Y-%m")


def _months(start: dt.date, end: dt.date) -> list[str]:
    months, month = [], start
    while month <= end:
        months.append(_ym(month))
        month = clock.next_month_first(month)
    return months


@console_view(roles=ROLES)
@require_GET
def revenue(request: HttpRequest, *, tenant: None) -> HttpResponse:
    """Revenue by month and lease kind or card model; the period defaults to the last 12
    months."""
    start, end = default_period()
    defaults = {"start": _ym(start), "end": _ym(end), "by": ""}
    form = PeriodForm({**defaults, **request.GET.dict()} if request.GET else defaults)
    context: dict[str, Any] = {"form": form}
    if form.is_valid():
        data = form.cleaned_data
        start, end, by = data["start"], data["end"], data["by"]
        day_from, day_to = start, form.last_day(end)
        plan = revenue_plan(day_from=day_from, day_to=day_to, group_by=by, granularity="month")
        rows = plan.all()
        report = pivot(rows, by, _months(start, end))
        api = {"from": day_from, "to": day_to, "group_by": by, "granularity": "month"}
        context.update(
            by=by,
            report=report,
            has_rows=bool(rows),
            csv_url=reverse("report-revenue") + "?" + urlencode({**api, "format": "csv"}),
            day_from=day_from,
            day_to=day_to,
            as_of=plan.as_of,
            switch=[
                {
                    "key": key,
                    "label": label,
                    "url": "?" + urlencode({"start": _ym(start), "end": _ym(end), "by": key}),
                }
                for key, label in GROUPINGS.items()
            ],
            chart={**report["chart"], "labels": {"amount": str(_("Revenue (¥)"))}},
        )
    return render(request, "analytics/console/revenue.html", context)


class RecomputeForm(forms.Form):
    start = forms.DateField(label=_("From"))
    end = forms.DateField(label=_("To"))


@console_view(roles=ROLES)
@require_POST
def recompute(request: HttpRequest, *, tenant: None) -> HttpResponse:
    """Run the nightly job now for a range of days, as POST /api/v1/reports/recompute/: a short
    range at once, a long one on a worker. Back to the page with what happened."""
    form = RecomputeForm(request.POST)
    back = reverse("analytics-console:revenue")
    if not form.is_valid():
        messages.error(request, _("Give the days to recompute."))
        return redirect(back)
    day_from, day_to = form.cleaned_data["start"], form.cleaned_data["end"]
    today = clock.local_today()
    day_to = min(day_to, today - dt.timedelta(days=1))  # only days that are over
    try:
        range_validate(day_from, day_to)
        if recompute_is_long(day_from, day_to):
            snapshots_recompute_start(day_from=day_from, day_to=day_to, actor=request.user)
            messages.success(
                request,
                _("The recompute runs on a worker: reload this page in a few minutes."),
            )
        else:
            snapshots_recompute(day_from=day_from, day_to=day_to, trigger="api", actor=request.user)
            messages.success(request, _("Revenue is recomputed."))
    except ApplicationError as error:
        messages.error(request, error.message)
    query = urlencode({"start": _ym(day_from), "end": _ym(form.cleaned_data["end"])})
    return redirect(f"{back}?{query}")
