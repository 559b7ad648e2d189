"""The console's Business cases pages for operators (and admin): the sites with their newest
business case, a site's inputs form (computed and stored by `business_case_create`, as POST
/api/v1/business-cases/ does) and a stored case's results: cumulative cash flow per scenario,
payback and break-even marked, the yearly table, NPV and IRR."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods
from django_stubs_ext import StrOrPromise

from analytics import business_case as bc
from analytics.models import BusinessCase
from analytics.selectors import (
    business_cases,
    site_hardware_capex,
    site_measured_rates,
    sites_with_latest_business_case,
)
from core.console import console_view
from core.exceptions import ApplicationError
from core.roles import Role
from marketplace.models import Site
from marketplace.selectors import site_get

ROLES = [Role.OPERATOR, Role.ADMIN]
HUNDRED = Decimal(100)
MONEY_MAX = Decimal("999999999999.99")

CAPEX_LABELS: dict[str, StrOrPromise] = {
    "build": _("Build-out (construction, power, cooling)"),
    "hardware": _("Hardware (servers and cards)"),
    "software": _("Software"),
    "models": _("Models and licences"),
    "other": _("Other one-off costs"),
}
OPEX_LABELS: dict[str, StrOrPromise] = {
    "operations": _("Operations"),
    "repairs": _("Repairs and spare parts"),
    "power_water": _("Power and water"),
    "staff": _("Staff"),
    "other": _("Other running costs"),
}
SHARE_SOURCES: dict[str, Promise] = {
    "input": _("as entered"),
    "measured": _("measured"),
    "default": _("default"),
}


def _money_field(label: StrOrPromise, help_text: StrOrPromise = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        help_text=help_text,
        min_value=Decimal(0),
        max_value=MONEY_MAX,
        max_digits=14,
        decimal_places=2,
        initial=Decimal("0.00"),
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0"}),
    )


def _percent_field(
    label: StrOrPromise, help_text: StrOrPromise, **kwargs: Any
) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        help_text=help_text,
        min_value=Decimal(0),
        max_value=HUNDRED,
        max_digits=5,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "max": "100"}),
        **kwargs,
    )


def _percent(value: Decimal) -> str:
    """0.7000 → "70", 0.725 → "72.5"."""
    return f"{(value * HUNDRED).normalize():f}"


class BusinessCaseForm(forms.Form):
    """Exactly what `business_case_create` takes: capex items (one per category), yearly opex
    items (one per category), the horizon, the utilisation scenarios, the long-lease share, the
    one-off subsidy and the discount rate. Rates are entered as percentages."""

    horizon_years = forms.IntegerField(
        label=_("Horizon (years)"),
        min_value=bc.HORIZON_MIN,
        max_value=bc.HORIZON_MAX,
        initial=bc.DEFAULT_HORIZON,
    )
    scenarios = forms.CharField(
        label=_("Utilisation scenarios (%)"),
        help_text=_(
            "Comma-separated percentages, e.g. 70, 75, 80. The measured rate is added as "
            "the “actual” scenario when there is one."
        ),
        initial=", ".join(_percent(u) for u in bc.DEFAULT_UTILISATIONS),
        max_length=200,
    )
    long_share = _percent_field(
        _("Long-lease share of leased hours (%)"),
        _("Empty: the measured share, else 70 %."),
        required=False,
    )
    discount_rate = _percent_field(
        _("Discount rate (%)"), _("For the NPV."), initial=_percent(bc.DEFAULT_DISCOUNT_RATE)
    )
    subsidy = _money_field(_("Fixed-investment subsidy (one-off, year 0)"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for category in bc.CAPEX_CATEGORIES:
            self.fields[f"capex_{category}"] = _money_field(CAPEX_LABELS[category])
        for category in bc.OPEX_CATEGORIES:
            self.fields[f"opex_{category}"] = _money_field(OPEX_LABELS[category], _("per year"))

    def capex_fields(self) -> list[forms.BoundField]:
        return [self[f"capex_{category}"] for category in bc.CAPEX_CATEGORIES]

    def opex_fields(self) -> list[forms.BoundField]:
        return [self[f"opex_{category}"] for category in bc.OPEX_CATEGORIES]

    def other_fields(self) -> list[forms.BoundField]:
        names = ["horizon_years", "scenarios", "long_share", "discount_rate", "subsidy"]
        return [self[name] for name in names]

    def clean_scenarios(self) -> list[Decimal]:
        values: list[Decimal] = []
        for part in self.cleaned_data["scenarios"].replace("%", "").replace("，", ",").split(","):
            text = part.strip()
            if not text:
                continue
            try:
                percent = Decimal(text)
            except ArithmeticError:
                raise forms.ValidationError(
                    _("“%(value)s” is not a number."), params={"value": text}
                ) from None
            if not percent.is_finite() or percent != percent.quantize(Decimal("0.01")):
                raise forms.ValidationError(_("At most two decimal places."))
            values.append(percent / HUNDRED)
        if not values:
            raise forms.ValidationError(_("Give at least one utilisation."))
        return values

    def service_inputs(self) -> dict[str, Any]:
        """The cleaned form as `business_case_create`'s keyword arguments (items of zero are
        left out)."""
        data = self.cleaned_data
        share = data["long_share"]
        return {
            "capex": [
                {"category": c, "amount": data[f"capex_{c}"]}
                for c in bc.CAPEX_CATEGORIES
                if data[f"capex_{c}"]
            ],
            "opex": [
                {"category": c, "amount": data[f"opex_{c}"]}
                for c in bc.OPEX_CATEGORIES
                if data[f"opex_{c}"]
            ],
            "horizon_years": data["horizon_years"],
            "scenarios": data["scenarios"],
            "long_share": None if share is None else share / HUNDRED,
            "subsidy": data["subsidy"],
            "discount_rate": data["discount_rate"] / HUNDRED,
        }

    def add_service_error(self, error: ApplicationError) -> None:
        """The service's refusal beside the field it names (an item list: beside the form)."""
        fields = error.fields or {}
        placed = False
        for name, texts in fields.items():
            target = name if name in self.fields else None
            for text in texts:
                self.add_error(target, str(text))
                placed = True
        if not placed:
            self.add_error(None, error.message)


def _initial(site: Site) -> tuple[dict[str, Any], dict[str, Any]]:
    """The form's defaults for a site and what they were measured from: the hardware capex is
    what was paid for its installed cards; the long-lease share the measured one (else empty:
    the service's default)."""
    cards, paid = site_hardware_capex(site_id=site.pk)
    rental_rate, long_share = site_measured_rates(site_id=site.pk, days=bc.MEASURED_DAYS)
    initial: dict[str, Any] = {"capex_hardware": paid}
    if long_share is not None:
        initial["long_share"] = _percent(long_share)
    measured = {
        "cards": cards,
        "hardware_paid": paid,
        "rental_rate": None if rental_rate is None else _percent(rental_rate),
        "long_share": None if long_share is None else _percent(long_share),
        "days": bc.MEASURED_DAYS,
    }
    return initial, measured


def _site(pk: int) -> Site:
    site = site_get(pk=pk)
    if site is None:
        raise Http404
    return site


@console_view(roles=ROLES)
@require_GET
def sites(request: HttpRequest, *, tenant: None) -> HttpResponse:
    """Every site with its newest business case, if any, and a link to model a new one."""
    return render(
        request,
        "analytics/console/business_case_sites.html",
        {"sites": list(sites_with_latest_business_case())},
    )


@console_view(roles=ROLES)
@require_http_methods(["GET", "POST"])
def site_case(request: HttpRequest, pk: int, *, tenant: None) -> HttpResponse:
    """A site's inputs form; a POST computes and stores the case (`business_case_create`) and
    leads to its results. Errors stand beside their fields and nothing is stored."""
    site = _site(pk)
    initial, measured = _initial(site)
    form = BusinessCaseForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            case = bc.business_case_create(actor=request.user, site=site, **form.service_inputs())
        except ApplicationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("The business case is computed and stored."))
            return redirect("analytics-console:business-case", pk=case.pk)
    recent = list(business_cases().filter(site=site)[:10])
    return render(
        request,
        "analytics/console/business_case_form.html",
        {"site": site, "form": form, "measured": measured, "recent": recent},
    )


def scenario_name(label: str) -> str:
    return str(_("Measured (actual)")) if label == bc.ACTUAL else label


def chart_data(case: BusinessCase) -> dict[str, Any]:
    """What the page's chart draws: per scenario its cumulative cash flow by year and its
    payback year (None: never within the horizon), and the break-even utilisation."""
    results = case.results
    scenarios = results["scenarios"]
    return {
        "horizon": case.inputs["horizon_years"],
        "scenarios": [
            {
                "name": scenario_name(s["label"]),
                "utilisation": s["utilisation"],
                "points": [[row["year"], row["cumulative"]] for row in s["years"]],
                "payback": s["payback_years"],
            }
            for s in scenarios
        ],
        "break_even": scenarios[0]["break_even_utilisation"] if scenarios else None,
        "labels": {
            "year": str(_("Year")),
            "cumulative": str(_("Cumulative cash flow (¥)")),
            "payback": str(_("Payback")),
            "break_even": str(_("Break-even utilisation")),
            "utilisation": str(_("Utilisation")),
            "zero": str(_("Break-even (cumulative ¥0)")),
        },
    }


MONEY_KEYS = ("revenue", "opex", "capex", "subsidy", "cash_flow", "cumulative")


def _scenario_rows(case: BusinessCase) -> list[dict[str, Any]]:
    """The stored scenarios with their amounts as Decimals (the page formats them) and rates
    as percentages."""
    return [
        {
            "label": s["label"],
            "name": scenario_name(s["label"]),
            "utilisation_percent": _percent(Decimal(s["utilisation"])),
            "payback_years": s["payback_years"],
            "npv": Decimal(s["npv"]),
            "spread": Decimal(s["spread"]),
            "irr_percent": None if s["irr"] is None else f"{Decimal(s['irr']) * HUNDRED:.2f}",
            "years": [
                {"year": row["year"], **{key: Decimal(row[key]) for key in MONEY_KEYS}}
                for row in s["years"]
            ],
        }
        for s in case.results["scenarios"]
    ]


@console_view(roles=ROLES)
@require_GET
def case_detail(request: HttpRequest, pk: int, *, tenant: None) -> HttpResponse:
    """A stored business case: chart, payback and break-even, yearly table per scenario."""
    case = business_cases().filter(pk=pk).first()
    if case is None:
        raise Http404
    scenarios = _scenario_rows(case)
    break_even = case.results["scenarios"][0]["break_even_utilisation"] if scenarios else None
    inputs = case.inputs
    context = {
        "case": case,
        "scenarios": scenarios,
        "break_even": break_even,
        "break_even_percent": None if break_even is None else _percent(Decimal(break_even)),
        "chart": chart_data(case),
        "capex": [
            {"label": CAPEX_LABELS.get(i["category"], i["category"]), "amount": i["amount"]}
            for i in inputs["capex"]
        ],
        "opex": [
            {"label": OPEX_LABELS.get(i["category"], i["category"]), "amount": i["amount"]}
            for i in inputs["opex"]
        ],
        "long_share_percent": _percent(Decimal(inputs["long_share"])),
        "long_share_source": SHARE_SOURCES.get(case.results["long_share_source"], ""),
        "discount_rate_percent": _percent(Decimal(inputs["discount_rate"])),
        "actual_measured": any(s["label"] == bc.ACTUAL for s in case.results["scenarios"]),
    }
    return render(request, "analytics/console/business_case.html", context)
