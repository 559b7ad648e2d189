"""The console's Fleet pages for operators: the fleet overview (per site: cards, PFLOPS and
yesterday's rates, with a 90-day trend), the site list, a site's rack heat map, a rack's servers
and cards, and putting a card into maintenance. The same selectors and services as the API's
views: the occupancy report (`reports/occupancy/`), the recompute (`reports/recompute/`), the
capacity report and the card swap (`cards/{pk}/maintenance/`)."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from analytics.selectors import RATE_BANDS, TREND_DAYS, fleet_overview, site_heatmap
from analytics.services import snapshots_recompute_start
from core import clock
from core.console import console_view, refusal_text
from core.exceptions import ApplicationError
from core.roles import Role
from leasing import services as leasing_services
from leasing.selectors import rack_servers_with_cards, swaps_described
from leasing.terms import minute_ceil
from marketplace.choices import CardStatus, RackStatus
from marketplace.models import Rack
from marketplace.selectors import card_get, rack_get, site_get

T = TypeVar("T")

OPERATORS = [Role.OPERATOR, Role.ADMIN]

CARD_STATUS_LABELS: dict[str, Promise] = {
    CardStatus.AVAILABLE: _("Available"),
    CardStatus.MAINTENANCE: _("Maintenance"),
    CardStatus.RETIRED: _("Retired"),
}
RACK_STATUS_LABELS: dict[str, Promise] = {
    RackStatus.PLANNED: _("Planned"),
    RackStatus.RACKED: _("Racked"),
    RackStatus.DECOMMISSIONED: _("Decommissioned"),
}


def _yesterday() -> dt.date:
    """The last whole day in operator time: the nightly job's latest snapshot."""
    return clock.local_today() - dt.timedelta(days=1)


def _bands() -> list[dict[str, Any]]:
    """The heat map's legend: band n covers [20·n, 20·(n+1)) % (the last one includes 100 %)."""
    step = 100 // RATE_BANDS
    return [{"band": n, "low": n * step, "high": (n + 1) * step} for n in range(RATE_BANDS)]


# --- Overview and sites ---------------------------------------------------------------------------


def _overview_context() -> dict[str, Any]:
    overview = fleet_overview(day=_yesterday())
    trend = overview.trend
    for series in trend.series:
        if series["key"] == "fleet":
            series["name"] = str(_("Whole fleet"))
    chart = {
        "days": trend.days,
        "series": trend.series,
        "labels": {
            "rental_rate": str(_("Rental rate")),
            "utilisation": str(_("Utilisation")),
        },
    }
    return {"overview": overview, "chart": chart}


@console_view(roles=OPERATORS)
@require_GET
def overview(request: HttpRequest, *, tenant: Any) -> HttpResponse:
    """Per site and for the fleet: yesterday's figures and the 90-day trend; without any
    snapshot, the empty state with a button running the recompute now."""
    return render(request, "analytics/console/fleet.html", _overview_context())


@console_view(roles=OPERATORS)
@require_POST
def recompute(request: HttpRequest, *, tenant: Any) -> HttpResponse:
    """Run the nightly recompute now for the trend's days (up to yesterday), on a worker
    (`snapshots_recompute_start`, as `reports/recompute/` does for a long range). The broker
    being down is said in words (503); nothing is recorded then."""
    day_to = _yesterday()
    day_from = day_to - dt.timedelta(days=TREND_DAYS - 1)
    try:
        run = snapshots_recompute_start(day_from=day_from, day_to=day_to, actor=request.user)
    except ApplicationError as error:
        context = _overview_context()
        context["recompute_error"] = refusal_text(error)
        return render(request, "analytics/console/fleet.html", context, status=error.status_code)
    messages.success(
        request,
        _(
            "The recompute of %(day_from)s to %(day_to)s is running (run %(run)s): reload this "
            "page in a minute or two to see the figures."
        )
        % {"day_from": day_from.isoformat(), "day_to": day_to.isoformat(), "run": run.pk},
    )
    return redirect("analytics-console:fleet")


@console_view(roles=OPERATORS)
@require_GET
def sites(request: HttpRequest, *, tenant: Any) -> HttpResponse:
    """Every site with its figures of yesterday, each linking to its heat map."""
    return render(request, "analytics/console/sites.html", _overview_context())


# --- A site's heat map, a rack's servers and cards ---------------------------------------------


@console_view(roles=OPERATORS)
@require_GET
def site(request: HttpRequest, pk: int, *, tenant: Any) -> HttpResponse:
    """One tile per rack of the site, coloured by yesterday's rental rate."""
    site = _found(site_get(pk=pk))
    day = _yesterday()
    tiles = [
        {"tile": tile, "status_label": RACK_STATUS_LABELS.get(tile.rack.status, tile.rack.status)}
        for tile in site_heatmap(site_id=site.pk, day=day)
    ]
    context = {"site": site, "day": day, "tiles": tiles, "bands": _bands()}
    return render(request, "analytics/console/site.html", context)


class MaintenanceForm(forms.Form):
    """Why the card goes into maintenance, and a confirmation (its leases move to other cards)."""

    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. ECC errors")}),
    )
    confirm = forms.BooleanField(
        label=_("Yes, put this card into maintenance and move its leases to other cards"),
        required=True,
        error_messages={"required": _("Tick the box to confirm.")},
    )


def _card_rows(servers: list[Any]) -> None:
    for server in servers:
        for card in server.card_list:
            card.status_label = CARD_STATUS_LABELS.get(card.status, card.status)
            card.held = card.held_now[0] if card.held_now else None
            card.can_maintain = card.status == CardStatus.AVAILABLE


def _rack_panel(
    request: HttpRequest, rack: Rack, status: int = 200, **context: Any
) -> HttpResponse:
    """The rack's servers and cards (the htmx partial, or a whole page when opened directly)."""
    # who holds a card from the next whole minute: a swap or a stop cuts there (as billed), so
    # a card just swapped out shows its replacement's lease, not the minute it has left
    servers = rack_servers_with_cards(rack_id=rack.pk, at=minute_ceil(clock.now()))
    _card_rows(servers)
    context.update(
        rack=rack,
        servers=servers,
        rack_status_label=RACK_STATUS_LABELS.get(rack.status, rack.status),
    )
    template = "_rack.html" if getattr(request, "htmx", False) else "rack.html"
    return render(request, f"analytics/console/{template}", context, status=status)


def _found(thing: T | None) -> T:
    """The object asked for, or the console's 404 page."""
    if thing is None:
        raise Http404
    return thing


def _rack_of(pk: int) -> Rack:
    return _found(rack_get(pk=pk))


@console_view(roles=OPERATORS)
@require_GET
def rack(request: HttpRequest, pk: int, *, tenant: Any) -> HttpResponse:
    """A rack's servers and cards: each card's status, model, current lease and tenant."""
    return _rack_panel(request, _rack_of(pk))


@console_view(roles=OPERATORS)
@require_http_methods(["GET", "POST"])
def maintenance(request: HttpRequest, pk: int, *, tenant: Any) -> HttpResponse:
    """GET: the rack's panel with this card's maintenance form open. POST: `card_swap` (as
    `cards/{pk}/maintenance/`): the card goes into maintenance and each lease holding it moves
    to a free card; the panel again, saying what happened or why nothing did."""
    card = _found(card_get(pk=pk))
    rack = card.server.rack
    if request.method == "GET":
        return _rack_panel(request, rack, form_card=card, form=MaintenanceForm())
    form = MaintenanceForm(request.POST)
    if not form.is_valid():
        return _rack_panel(request, rack, form_card=card, form=form)
    try:
        result = leasing_services.card_swap(
            actor=request.user, card=card, reason=form.cleaned_data["reason"]
        )
    except ApplicationError as error:
        return _rack_panel(request, rack, outcome_card=card, refusal=refusal_text(error))
    return _rack_panel(
        request, rack, outcome_card=card, swaps=swaps_described(result["swaps"]), done=True
    )
