"""Business case (商业测算) per site (docs/domain.md §Business case).

The arithmetic is pure and Decimal-only (no float anywhere), so it can be checked by hand:

- capacity per card model: cards in service (installed, not in maintenance); H = 8760 × cards;
- yearly revenue at utilisation u = Σ cards × 8760 × u × [(1 − s) × hourly_rate
  + s × monthly_rate × (1 − discount₃₆) × 12 / 8760], computed as
  Σ cards × u × [(1 − s) × hourly_rate × 8760 + s × monthly_rate × (1 − discount₃₆) × 12]
  (the same product with the 8760s cancelled, so no division rounds) and rounded once to cents;
- CF₀ = −Σ capex + subsidy; CFₜ = revenue − Σ opex for t = 1..horizon;
- NPV = Σ CFₜ / (1 + r)ᵗ over t = 0..horizon (year 0 undiscounted), from the cash flows as shown
  in the yearly table; IRR by bisection on Decimal; payback linear within the year;
  break-even utilisation in closed form (revenue is linear in u).

`business_case_create` is the service: it reads the site's capacity and measured rates, computes
and stores the inputs (defaults filled in) and the results as JSON strings of fixed places.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from itertools import pairwise
from typing import Any, TypedDict, Unpack

from django.conf import settings
from django.db import transaction
from django.db.models import Count

from accounts.actors import acting_user
from analytics.models import BusinessCase
from analytics.selectors import site_measured_rates
from core.actors import Actor
from core.audit import audit_record, snapshot
from core.exceptions import InvalidInput
from core.money import round_money, round_rate, to_decimal
from leasing.terms import long_lease_discount
from marketplace.choices import CardStatus
from marketplace.models import Card, Site

CAPEX_CATEGORIES = ("build", "hardware", "software", "models", "other")
OPEX_CATEGORIES = ("operations", "repairs", "power_water", "staff", "other")
HORIZON_MIN, HORIZON_MAX = 1, 15
DEFAULT_HORIZON = 5
DEFAULT_UTILISATIONS = (Decimal("0.70"), Decimal("0.80"), Decimal("0.90"))
DEFAULT_LONG_SHARE = Decimal("0.7")
DEFAULT_DISCOUNT_RATE = Decimal("0.08")
DEFAULT_DEPRECIATION_YEARS = 5
MEASURED_DAYS = 90
LONG_TERM_MONTHS = 36  # the long-lease term whose discount prices the long share
HOURS_PER_YEAR = 8760
MONTHS_PER_YEAR = 12
MAX_ITEMS = 100
MAX_SCENARIOS = 20
ACTUAL = "actual"

PRECISION = 50  # working precision: no intermediate product is ever rounded
PAYBACK_STEP = Decimal("0.0001")
_IRR_TOLERANCE = Decimal("1e-12")
_IRR_MAX_STEPS = 400
ZERO = Decimal(0)
ONE = Decimal(1)


# --- Inputs and results -------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """A capex item (one-off, year 0) or an opex item (per year)."""

    category: str
    amount: Decimal
    note: str = ""


@dataclass(frozen=True)
class ModelCapacity:
    """One card model's rentable capacity at a site and its list prices."""

    card_model_id: int
    name: str
    cards_in_service: int
    hourly_rate: Decimal
    monthly_rate: Decimal

    @property
    def capacity_hours(self) -> int:
        return HOURS_PER_YEAR * self.cards_in_service

    def long_monthly_fee(self, long_discount: Decimal) -> Decimal:
        """monthly_rate × (1 − discount₃₆), unrounded (the rule uses it as is)."""
        return self.monthly_rate * (ONE - long_discount)

    def revenue_at_full(self, *, long_share: Decimal, long_discount: Decimal) -> Decimal:
        """A year's revenue at utilisation 1, unrounded."""
        per_card = (ONE - long_share) * self.hourly_rate * HOURS_PER_YEAR + (
            long_share * self.long_monthly_fee(long_discount) * MONTHS_PER_YEAR
        )
        return self.cards_in_service * per_card


@dataclass(frozen=True)
class Scenario:
    label: str
    utilisation: Decimal


@dataclass(frozen=True)
class YearRow:
    year: int
    revenue: Decimal
    opex: Decimal
    capex: Decimal
    subsidy: Decimal
    cash_flow: Decimal
    cumulative: Decimal


@dataclass(frozen=True)
class ScenarioResult:
    label: str
    utilisation: Decimal
    years: list[YearRow]
    spread: Decimal
    npv: Decimal
    irr: Decimal | None
    payback_years: Decimal | None
    break_even_utilisation: Decimal | None


@dataclass(frozen=True)
class DepreciationRow:
    year: int
    amount: Decimal
    book_value: Decimal


# --- Pure arithmetic ----------------------------------------------------------------------------


def scenario_label(utilisation: Decimal) -> str:
    """0.70 → "70%", 0.725 → "72.5%"."""
    percent = (utilisation * 100).normalize()
    return f"{percent:f}%"


def revenue_at_full(
    capacity: Iterable[ModelCapacity], *, long_share: Decimal, long_discount: Decimal
) -> Decimal:
    """Σ over card models of a year's revenue at utilisation 1, unrounded."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return sum(
            (
                m.revenue_at_full(long_share=long_share, long_discount=long_discount)
                for m in capacity
            ),
            ZERO,
        )


def yearly_revenue(
    capacity: Iterable[ModelCapacity],
    *,
    utilisation: Decimal,
    long_share: Decimal,
    long_discount: Decimal,
) -> Decimal:
    """A year's revenue at utilisation `u`, rounded once to cents (docs/domain.md)."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        full = revenue_at_full(capacity, long_share=long_share, long_discount=long_discount)
        return round_money(full * utilisation)


def npv(cash_flows: Sequence[Decimal], rate: Decimal) -> Decimal:
    """Σ CFₜ / (1 + rate)ᵗ, t = 0..n (the first flow is undiscounted), unrounded."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        factor = ONE / (ONE + rate)
        total = ZERO
        for cash_flow in reversed(cash_flows):  # Horner: CF₀ + x(CF₁ + x(CF₂ + …))
            total = total * factor + cash_flow
        return total


def _sign_changes(cash_flows: Sequence[Decimal]) -> list[bool]:
    """The signs (True = positive) of the non-zero flows, when they change at least once."""
    signs = [cash_flow > 0 for cash_flow in cash_flows if cash_flow != 0]
    return signs if any(a != b for a, b in pairwise(signs)) else []


def irr(cash_flows: Sequence[Decimal]) -> Decimal | None:
    """The rate at which the NPV is zero, to 4 places; None when the flows never change sign.

    Bisection on Decimal. As the rate falls towards −1 the NPV takes the sign of the last
    non-zero flow; as it grows it takes the sign of the first. With one sign change (a business
    case's flows: CF₀ then equal yearly flows) there is exactly one root above −1 (Descartes).
    """
    signs = _sign_changes(cash_flows)
    if not signs:
        return None
    near, far = signs[-1], signs[0]
    with localcontext() as ctx:
        ctx.prec = PRECISION

        def positive(rate: Decimal) -> bool | None:
            value = npv(cash_flows, rate)
            return None if value == 0 else value > 0

        low, high = ZERO, ONE
        for _ in range(_IRR_MAX_STEPS):
            side = positive(low)
            if side is None:
                return round_rate(low)
            if side == near:
                break
            low = (low - ONE) / 2  # −0.5, −0.75, … towards −1
        else:
            return None
        for _ in range(_IRR_MAX_STEPS):
            side = positive(high)
            if side is None:
                return round_rate(high)
            if side == far:
                break
            high *= 2
        else:
            return None
        for _ in range(_IRR_MAX_STEPS):
            if high - low <= _IRR_TOLERANCE:
                break
            middle = (low + high) / 2
            side = positive(middle)
            if side is None:
                return round_rate(middle)
            if side == near:
                low = middle
            else:
                high = middle
        return round_rate((low + high) / 2)


def payback_years(cash_flows: Sequence[Decimal]) -> Decimal | None:
    """Years until the cumulative cash flow turns non-negative for good, linear within the
    year, to 4 places; 0 when year 0 is already non-negative; None if never within the horizon.
    """
    cumulative: list[Decimal] = []
    running = ZERO
    for cash_flow in cash_flows:
        running += cash_flow
        cumulative.append(running)
    negative = [year for year, value in enumerate(cumulative) if value < 0]
    if not negative:
        return ZERO.quantize(PAYBACK_STEP)
    last = negative[-1]
    if last == len(cash_flows) - 1:
        return None
    with localcontext() as ctx:
        ctx.prec = PRECISION
        years = last + (-cumulative[last]) / cash_flows[last + 1]
        return round_rate(years)


def annuity_factor(rate: Decimal, years: int) -> Decimal:
    """Σ 1 / (1 + rate)ᵗ for t = 1..years."""
    return npv([ZERO] + [ONE] * years, rate)


def break_even_utilisation(
    *,
    revenue_at_full: Decimal,
    opex_per_year: Decimal,
    cash_flow_0: Decimal,
    horizon_years: int,
    discount_rate: Decimal,
) -> Decimal | None:
    """The utilisation at which the NPV is zero, to 4 places; None above 1.

    NPV(u) = CF₀ + (R·u − O)·A, with R the yearly revenue at u = 1, O the yearly opex and A the
    annuity factor, so u* = (O·A − CF₀) / (R·A). When the NPV is positive even at u = 0 the
    answer is 0 (any utilisation breaks even).
    """
    with localcontext() as ctx:
        ctx.prec = PRECISION
        factor = annuity_factor(discount_rate, horizon_years)
        needed = opex_per_year * factor - cash_flow_0  # discounted revenue needed at NPV = 0
        if needed <= 0:
            return ZERO.quantize(PAYBACK_STEP)
        if revenue_at_full <= 0:
            return None
        utilisation = needed / (revenue_at_full * factor)
        if utilisation > 1:
            return None
        return round_rate(utilisation)


def depreciation_schedule(
    hardware: Decimal, *, years: int, horizon_years: int
) -> list[DepreciationRow]:
    """Straight-line depreciation of hardware capex over `years`, for years 1..horizon.

    Each year's amount is rounded to cents; the last depreciation year takes the remainder, so
    the amounts add up to the hardware capex exactly.
    """
    annual = round_money(hardware / years)
    rows: list[DepreciationRow] = []
    booked = ZERO
    for year in range(1, horizon_years + 1):
        if year < years:
            amount = annual
        elif year == years:
            amount = hardware - booked
        else:
            amount = ZERO
        booked += amount
        rows.append(DepreciationRow(year, round_money(amount), round_money(hardware - booked)))
    return rows


def scenario_result(
    scenario: Scenario,
    *,
    capacity: Sequence[ModelCapacity],
    capex_total: Decimal,
    opex_per_year: Decimal,
    subsidy: Decimal,
    horizon_years: int,
    long_share: Decimal,
    long_discount: Decimal,
    discount_rate: Decimal,
) -> ScenarioResult:
    revenue = yearly_revenue(
        capacity,
        utilisation=scenario.utilisation,
        long_share=long_share,
        long_discount=long_discount,
    )
    cash_flow_0 = subsidy - capex_total
    rows = [YearRow(0, ZERO, ZERO, capex_total, subsidy, cash_flow_0, cash_flow_0)]
    cumulative = cash_flow_0
    for year in range(1, horizon_years + 1):
        cash_flow = revenue - opex_per_year
        cumulative += cash_flow
        rows.append(YearRow(year, revenue, opex_per_year, ZERO, ZERO, cash_flow, cumulative))
    flows = [row.cash_flow for row in rows]
    return ScenarioResult(
        label=scenario.label,
        utilisation=scenario.utilisation,
        years=rows,
        spread=cumulative,
        npv=round_money(npv(flows, discount_rate)),
        irr=irr(flows),
        payback_years=payback_years(flows),
        break_even_utilisation=break_even_utilisation(
            revenue_at_full=revenue_at_full(
                capacity, long_share=long_share, long_discount=long_discount
            ),
            opex_per_year=opex_per_year,
            cash_flow_0=cash_flow_0,
            horizon_years=horizon_years,
            discount_rate=discount_rate,
        ),
    )


# --- JSON (what is stored and served: decimals as strings of fixed places) ----------------------


def _money(value: Decimal) -> str:
    rounded = round_money(value)
    return str(rounded if rounded != 0 else abs(rounded))  # never "-0.00"


def _rate(value: Decimal | None) -> str | None:
    return None if value is None else str(round_rate(value))


def _items_json(items: Sequence[Item]) -> list[dict[str, str]]:
    return [
        {"category": item.category, "amount": _money(item.amount), "note": item.note}
        for item in items
    ]


def _scenario_json(result: ScenarioResult) -> dict[str, Any]:
    return {
        "label": result.label,
        "utilisation": _rate(result.utilisation),
        "years": [
            {
                "year": row.year,
                "revenue": _money(row.revenue),
                "opex": _money(row.opex),
                "capex": _money(row.capex),
                "subsidy": _money(row.subsidy),
                "cash_flow": _money(row.cash_flow),
                "cumulative": _money(row.cumulative),
            }
            for row in result.years
        ],
        "spread": _money(result.spread),
        "npv": _money(result.npv),
        "irr": _rate(result.irr),
        "payback_years": _rate(result.payback_years),
        "break_even_utilisation": _rate(result.break_even_utilisation),
    }


def _capacity_json(
    capacity: Sequence[ModelCapacity], *, long_share: Decimal, long_discount: Decimal
) -> list[dict[str, Any]]:
    return [
        {
            "card_model": m.card_model_id,
            "card_model_name": m.name,
            "cards_in_service": m.cards_in_service,
            "capacity_hours": m.capacity_hours,
            "hourly_rate": str(round_rate(m.hourly_rate)),
            "monthly_rate": str(round_rate(m.monthly_rate)),
            "long_monthly_fee": str(round_rate(m.long_monthly_fee(long_discount))),
            "revenue_at_full_utilisation": _money(
                m.revenue_at_full(long_share=long_share, long_discount=long_discount)
            ),
        }
        for m in capacity
    ]


# --- Reads --------------------------------------------------------------------------------------


def site_capacity(site: Site) -> list[ModelCapacity]:
    """Cards in service per card model at `site`: installed (not retired, in a racked rack) and
    not in maintenance."""
    rows = (
        Card.objects.installed()
        .filter(server__rack__site=site)
        .exclude(status=CardStatus.MAINTENANCE)
        .values(
            "card_model_id",
            "card_model__vendor",
            "card_model__name",
            "card_model__hourly_rate",
            "card_model__monthly_rate",
        )
        .annotate(cards=Count("id"))
        .order_by("card_model_id")
    )
    return [
        ModelCapacity(
            card_model_id=row["card_model_id"],
            name=f"{row['card_model__vendor']} {row['card_model__name']}",
            cards_in_service=row["cards"],
            hourly_rate=row["card_model__hourly_rate"],
            monthly_rate=row["card_model__monthly_rate"],
        )
        for row in rows
    ]


def depreciation_years() -> int:
    years = int(getattr(settings, "DEPRECIATION_YEARS", DEFAULT_DEPRECIATION_YEARS))
    if years < 1:
        raise ValueError("DEPRECIATION_YEARS must be at least 1")
    return years


# --- Input checks: the one place (the API's serializer parses types only) -----------------------


def _decimal(value: Any, field: str) -> Decimal:
    try:
        return to_decimal(value)
    except (TypeError, ValueError, InvalidOperation):
        raise InvalidInput(f"{field}: not a decimal.", fields={field: ["Not a decimal."]}) from None


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", fields={field: [message]})


ItemLike = Item | Mapping[str, Any]


def _items(raw: Iterable[ItemLike], field: str, categories: tuple[str, ...]) -> list[Item]:
    items: list[Item] = []
    for entry in raw:
        if isinstance(entry, Item):
            item = entry
        else:
            item = Item(
                category=str(entry.get("category", "")),
                amount=_decimal(entry.get("amount"), field),
                note=str(entry.get("note", "")),
            )
        if item.category not in categories:
            raise _invalid(
                field, f"Unknown category {item.category!r}: one of {', '.join(categories)}."
            )
        if item.amount < 0 or not item.amount.is_finite():
            raise _invalid(field, "Amounts must not be negative.")
        items.append(item)
    if len(items) > MAX_ITEMS:
        raise _invalid(field, f"At most {MAX_ITEMS} items.")
    return items


def _utilisations(raw: Sequence[Any] | None) -> list[Decimal]:
    if raw is None:
        return list(DEFAULT_UTILISATIONS)
    values = [_decimal(value, "scenarios") for value in raw]
    if not values:
        raise _invalid("scenarios", "Give at least one utilisation.")
    if len(values) > MAX_SCENARIOS:
        raise _invalid("scenarios", f"At most {MAX_SCENARIOS} scenarios.")
    if any(not (0 < value <= 1) for value in values):
        raise _invalid("scenarios", "Each utilisation must be above 0 and at most 1.")
    if len(set(values)) != len(values):
        raise _invalid("scenarios", "Each utilisation at most once.")
    return values


def _between(value: Any, field: str, low: Decimal, high: Decimal | None) -> Decimal:
    number = _decimal(value, field)
    if number < low or (high is not None and number > high):
        raise _invalid(
            field, f"Between {low} and {high}." if high is not None else "Must not be negative."
        )
    return number


@dataclass(frozen=True)
class BusinessCaseInputs:
    """A business case's inputs, checked: what `business_case_create` computes from."""

    capex: list[Item]
    opex: list[Item]
    horizon_years: int
    utilisations: list[Decimal]
    long_share: Decimal | None  # None: measured, else the default
    subsidy: Decimal
    discount_rate: Decimal


def business_case_inputs(
    *,
    capex: Iterable[ItemLike] = (),
    opex: Iterable[ItemLike] = (),
    horizon_years: int = DEFAULT_HORIZON,
    scenarios: Sequence[Any] | None = None,
    long_share: Any = None,
    subsidy: Any = ZERO,
    discount_rate: Any = DEFAULT_DISCOUNT_RATE,
) -> BusinessCaseInputs:
    """Check the inputs once, for every caller (the API, scripts, tests): a 400 `invalid`
    naming the field on the first that breaks a rule."""
    if isinstance(horizon_years, bool) or not isinstance(horizon_years, int):
        raise _invalid("horizon_years", "A whole number of years.")
    if not HORIZON_MIN <= horizon_years <= HORIZON_MAX:
        raise _invalid("horizon_years", f"Between {HORIZON_MIN} and {HORIZON_MAX} years.")
    return BusinessCaseInputs(
        capex=_items(capex, "capex", CAPEX_CATEGORIES),
        opex=_items(opex, "opex", OPEX_CATEGORIES),
        horizon_years=horizon_years,
        utilisations=_utilisations(scenarios),
        long_share=None
        if long_share is None
        else _between(long_share, "long_share", ZERO, Decimal(1)),
        subsidy=_between(subsidy, "subsidy", ZERO, None),
        discount_rate=_between(discount_rate, "discount_rate", ZERO, Decimal(1)),
    )


# --- The service --------------------------------------------------------------------------------


def _long_share(inputs: BusinessCaseInputs, measured_share: Decimal | None) -> tuple[Decimal, str]:
    """The long-lease share of leased hours and where it came from."""
    if inputs.long_share is not None:
        return inputs.long_share, "input"
    if measured_share is not None:
        return measured_share, "measured"
    return DEFAULT_LONG_SHARE, "default"


def _scenarios(
    inputs: BusinessCaseInputs, measured_rate: Decimal | None
) -> tuple[list[Scenario], list[str]]:
    """The scenarios to run (the asked utilisations, then `actual` when measured) and notes."""
    runs = [Scenario(scenario_label(u), u) for u in inputs.utilisations]
    if measured_rate is not None:
        return [*runs, Scenario(ACTUAL, measured_rate)], []
    note = (
        f"No occupancy measured at this site in the last {MEASURED_DAYS} days: "
        "no `actual` scenario."
    )
    return runs, [note]


def _inputs_json(site: Site, inputs: BusinessCaseInputs, share: Decimal) -> dict[str, Any]:
    """The inputs as stored, defaults filled in."""
    return {
        "site": site.pk,
        "capex": _items_json(inputs.capex),
        "opex": _items_json(inputs.opex),
        "horizon_years": inputs.horizon_years,
        "scenarios": [_rate(u) for u in inputs.utilisations],
        "long_share": _rate(share),
        "subsidy": _money(inputs.subsidy),
        "discount_rate": _rate(inputs.discount_rate),
    }


class BusinessCaseRaw(TypedDict, total=False):
    """`business_case_create`'s inputs as given (`business_case_inputs` checks them and fills
    the defaults)."""

    capex: Iterable[ItemLike]
    opex: Iterable[ItemLike]
    horizon_years: int
    scenarios: Sequence[Any] | None
    long_share: Any
    subsidy: Any
    discount_rate: Any


@transaction.atomic
def business_case_create(
    *, actor: Actor, site: Site, **raw: Unpack[BusinessCaseRaw]
) -> BusinessCase:
    """Compute a site's business case and store its inputs (defaults filled in) and results.

    `scenarios` are utilisations in (0, 1] (default 0.70, 0.80, 0.90); an `actual` scenario at
    the site's measured rental rate over the last 90 days is always added when one was measured.
    `long_share` defaults to the measured long-lease share of leased hours, else 0.7.
    """
    inputs = business_case_inputs(**raw)
    measured_rate, measured_share = site_measured_rates(site_id=site.pk, days=MEASURED_DAYS)
    share, share_source = _long_share(inputs, measured_share)
    runs, notes = _scenarios(inputs, measured_rate)
    long_discount = long_lease_discount(LONG_TERM_MONTHS)
    capacity = site_capacity(site)
    capex_total = sum((item.amount for item in inputs.capex), ZERO)
    hardware = sum((item.amount for item in inputs.capex if item.category == "hardware"), ZERO)
    opex_per_year = sum((item.amount for item in inputs.opex), ZERO)
    years = depreciation_years()
    results = [
        scenario_result(
            run,
            capacity=capacity,
            capex_total=capex_total,
            opex_per_year=opex_per_year,
            subsidy=inputs.subsidy,
            horizon_years=inputs.horizon_years,
            long_share=share,
            long_discount=long_discount,
            discount_rate=inputs.discount_rate,
        )
        for run in runs
    ]
    output = {
        "scenarios": [_scenario_json(result) for result in results],
        "capacity": _capacity_json(capacity, long_share=share, long_discount=long_discount),
        "totals": {
            "capex": _money(capex_total),
            "hardware_capex": _money(hardware),
            "subsidy": _money(inputs.subsidy),
            "opex_per_year": _money(opex_per_year),
            "cards_in_service": sum(m.cards_in_service for m in capacity),
            "capacity_hours": sum(m.capacity_hours for m in capacity),
        },
        "long_share_source": share_source,
        "long_lease_discount": _rate(long_discount),
        "measured": {
            "days": MEASURED_DAYS,
            "rental_rate": _rate(measured_rate),
            "long_share": _rate(measured_share),
        },
        "depreciation_years": years,
        "depreciation": [
            {"year": row.year, "amount": _money(row.amount), "book_value": _money(row.book_value)}
            for row in depreciation_schedule(
                hardware, years=years, horizon_years=inputs.horizon_years
            )
        ],
        "notes": notes,
    }
    case = BusinessCase.objects.create(
        site=site,
        inputs=_inputs_json(site, inputs, share),
        results=output,
        created_by=acting_user(actor),
    )
    audit_record(actor=actor, action="business_case.create", instance=case, after=snapshot(case))
    return case
