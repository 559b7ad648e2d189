"""Business case per site (docs/domain.md): a worked example by hand, the edge cases, the API."""

import datetime as dt
from decimal import Decimal

import numpy_financial as npf
import pytest
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange

from analytics import business_case as bc
from analytics.models import BusinessCase, OccupancyDaily
from core import clock
from core.models import AuditLog
from leasing.models import Allocation
from tests.factories import (
    CardModelFactory,
    LeaseFactory,
    RackFactory,
    SiteFactory,
    make_server_with_cards,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/business-cases/"
D = Decimal


@pytest.fixture
def site():
    """10 cards of one model in service: 10.0000 per card-hour, 5000.0000 per card-month."""
    site = SiteFactory()
    model = CardModelFactory(hourly_rate=D("10.0000"), monthly_rate=D("5000.0000"))
    rack = RackFactory(site=site)
    make_server_with_cards(rack, model, cards=8)
    make_server_with_cards(rack, model, cards=2)
    return site


# The worked example. Capex: hardware 1,000,000 + build 200,000 = 1,200,000; subsidy 200,000, so
# CF₀ = −1,000,000. Opex: power_water 100,000 + staff 42,400 = 142,400 a year. s = 0.5, 5 years.
WORKED = {
    "capex": [
        {"category": "hardware", "amount": "1000000.00", "note": "10 cards and servers"},
        {"category": "build", "amount": "200000.00"},
    ],
    "opex": [
        {"category": "power_water", "amount": "100000.00"},
        {"category": "staff", "amount": "42400.00"},
    ],
    "horizon_years": 5,
    "scenarios": ["0.80"],
    "long_share": "0.5",
    "subsidy": "200000.00",
    "discount_rate": "0.08",
}


def post(client, site, **body):
    return client.post(URL, {"site": site.pk, **body}, format="json")


def created(client, site, **body):
    response = post(client, site, **body)
    assert response.status_code == 201, response.json()
    return response.json()


def scenario(body, label):
    [found] = [s for s in body["scenarios"] if s["label"] == label]
    return found


# --- The worked example -------------------------------------------------------------------------


def test_the_worked_example_by_hand(operator_client, site):
    body = created(operator_client, site, **WORKED)
    # Per card-year at u = 1, s = 0.5, discount₃₆ = 20 % (long fee 5000 × 0.8 = 4000 a month):
    #   (1 − 0.5) × 10 × 8760 + 0.5 × 4000 × 12 = 43,800 + 24,000 = 67,800
    # 10 cards → 678,000 a year at u = 1; at u = 0.80 → 542,400.
    # CFₜ = 542,400 − 142,400 = 400,000 for t = 1..5.
    # Cumulative: −1,000,000, −600,000, −200,000, 200,000, 600,000, 1,000,000.
    eighty = scenario(body, "80%")
    assert eighty["utilisation"] == "0.8000"
    assert eighty["years"] == [
        {"year": 0, "revenue": "0.00", "opex": "0.00", "capex": "1200000.00",
         "subsidy": "200000.00", "cash_flow": "-1000000.00", "cumulative": "-1000000.00"},
    ] + [
        {"year": year, "revenue": "542400.00", "opex": "142400.00", "capex": "0.00",
         "subsidy": "0.00", "cash_flow": "400000.00", "cumulative": cumulative}
        for year, cumulative in [(1, "-600000.00"), (2, "-200000.00"), (3, "200000.00"),
                                 (4, "600000.00"), (5, "1000000.00")]
    ]  # fmt: skip
    # Spread: −1,000,000 + 5 × 400,000 = 1,000,000.
    assert eighty["spread"] == "1000000.00"
    # NPV at 8 %: annuity factor A = (1 − 1.08⁻⁵) / 0.08 = 3.99271003707…
    #   400,000 × 3.99271003707… − 1,000,000 = 597,084.0148… → 597,084.01
    assert eighty["npv"] == "597084.01"
    # IRR: A(r) = 1,000,000 / 400,000 = 2.5 → r = 0.286492… (numpy_financial agrees: 0.28649290)
    assert eighty["irr"] == "0.2865"
    # Payback: after year 2 −200,000 is left; year 3 brings 400,000 → 2 + 200,000/400,000 = 2.5.
    assert eighty["payback_years"] == "2.5000"
    # Break-even: 678,000·u·A = 142,400·A + 1,000,000
    #   u = (142,400 + 1,000,000 / 3.99271003707…) / 678,000 = 392,856.4692… / 678,000 = 0.57943…
    assert eighty["break_even_utilisation"] == "0.5794"
    # Straight-line hardware depreciation over 5 years: 1,000,000 / 5 = 200,000 a year.
    assert body["depreciation_years"] == 5
    assert body["depreciation"] == [
        {"year": year, "amount": "200000.00", "book_value": book}
        for year, book in [(1, "800000.00"), (2, "600000.00"), (3, "400000.00"),
                           (4, "200000.00"), (5, "0.00")]
    ]  # fmt: skip
    [capacity] = body["capacity"]
    assert capacity["cards_in_service"] == 10
    assert capacity["capacity_hours"] == 87600  # H = 8760 × 10
    assert capacity["long_monthly_fee"] == "4000.0000"
    assert capacity["revenue_at_full_utilisation"] == "678000.00"
    assert body["totals"] == {
        "capex": "1200000.00", "hardware_capex": "1000000.00", "subsidy": "200000.00",
        "opex_per_year": "142400.00", "cards_in_service": 10, "capacity_hours": 87600,
    }  # fmt: skip
    assert (body["long_share"], body["long_share_source"]) == ("0.5000", "input")
    assert body["long_lease_discount"] == "0.2000"


def test_the_worked_example_is_stored_and_audited(operator_client, operator, site):
    body = created(operator_client, site, **WORKED)
    case = BusinessCase.objects.get()
    assert (body["id"], body["site"], body["created_by"]) == (case.pk, site.pk, operator.pk)
    assert case.inputs == {
        "site": site.pk,
        "capex": [
            {"category": "hardware", "amount": "1000000.00", "note": "10 cards and servers"},
            {"category": "build", "amount": "200000.00", "note": ""},
        ],
        "opex": [
            {"category": "power_water", "amount": "100000.00", "note": ""},
            {"category": "staff", "amount": "42400.00", "note": ""},
        ],
        "horizon_years": 5,
        "scenarios": ["0.8000"],
        "long_share": "0.5000",
        "subsidy": "200000.00",
        "discount_rate": "0.0800",
    }
    assert body["inputs"] == case.inputs
    assert case.results["scenarios"][0]["npv"] == "597084.01"
    audit = AuditLog.objects.get(action="business_case.create")
    assert (audit.object_id, audit.actor_id) == (str(case.pk), operator.pk)


def test_the_other_default_scenarios_follow_the_same_rule(operator_client, site):
    body = created(operator_client, site, **{**WORKED, "scenarios": ["0.7", "0.9"]})
    # 70 %: revenue 678,000 × 0.7 = 474,600 → CF 332,200; NPV = 332,200 × A − 1,000,000.
    seventy, ninety = body["scenarios"]
    assert (seventy["label"], seventy["years"][1]["revenue"]) == ("70%", "474600.00")
    assert (seventy["npv"], seventy["irr"]) == ("326378.27", "0.1970")
    # 90 %: revenue 610,200 → CF 467,800; NPV = 467,800 × A − 1,000,000.
    assert (ninety["label"], ninety["years"][1]["revenue"]) == ("90%", "610200.00")
    assert (ninety["npv"], ninety["irr"]) == ("867789.76", "0.3713")
    assert seventy["break_even_utilisation"] == ninety["break_even_utilisation"] == "0.5794"


# --- Never paying back --------------------------------------------------------------------------


def test_a_case_that_never_pays_back(operator_client, site):
    # At 10 %: revenue 67,800 < opex 142,400 → every year loses 74,600: all flows negative.
    body = created(operator_client, site, **{**WORKED, "scenarios": ["0.1"]})
    ten = scenario(body, "10%")
    assert ten["years"][1]["cash_flow"] == "-74600.00"
    assert ten["spread"] == "-1373000.00"  # −1,000,000 − 5 × 74,600
    assert ten["npv"] == "-1297856.17"  # −1,000,000 − 74,600 × 3.99271003707…
    assert ten["irr"] is None
    assert ten["payback_years"] is None


def test_positive_flows_too_short_to_pay_back_give_a_negative_irr(operator_client, site):
    # 2 years at 80 %: −1,000,000, +400,000, +400,000 → IRR −13.67 % (numpy_financial: −0.136675).
    body = created(operator_client, site, **{**WORKED, "horizon_years": 2})
    eighty = scenario(body, "80%")
    assert eighty["spread"] == "-200000.00"
    assert eighty["irr"] == "-0.1367"
    assert eighty["payback_years"] is None
    assert len(eighty["years"]) == 3
    assert [row["year"] for row in body["depreciation"]] == [1, 2]


def test_break_even_above_full_utilisation_is_null(operator_client, site):
    capex = [{"category": "hardware", "amount": "90000000.00"}]
    body = created(operator_client, site, **{**WORKED, "capex": capex})
    assert scenario(body, "80%")["break_even_utilisation"] is None


def test_a_subsidy_covering_everything_breaks_even_at_zero(operator_client, site):
    body = created(operator_client, site, **{**WORKED, "opex": [], "subsidy": "1200000.00"})
    eighty = scenario(body, "80%")
    assert eighty["years"][0]["cash_flow"] == "0.00"
    assert eighty["payback_years"] == "0.0000"
    assert eighty["break_even_utilisation"] == "0.0000"
    assert eighty["irr"] is None  # 0 then positive flows: no sign change


# --- Capacity -----------------------------------------------------------------------------------


def test_capacity_counts_only_cards_in_service_in_racked_racks(operator_client, site):
    rack = site.racks.get()
    model = rack.servers.first().cards.first().card_model
    _, broken = make_server_with_cards(rack, model, cards=3)
    broken[0].status, broken[1].status = "maintenance", "retired"
    broken[0].save()
    broken[1].save()  # broken[2] is fine: 11 in service
    make_server_with_cards(RackFactory(site=site, status="planned"), model, cards=8)
    make_server_with_cards(RackFactory(), model, cards=8)  # another site
    other = CardModelFactory(hourly_rate=D("2.0000"), monthly_rate=D("1000.0000"))
    make_server_with_cards(rack, other, cards=4)
    body = created(operator_client, site, long_share="0")
    assert [(c["card_model"], c["cards_in_service"]) for c in body["capacity"]] == [
        (model.pk, 11),
        (other.pk, 4),
    ]
    # s = 0: 11 × 10 × 8760 × 0.7 + 4 × 2 × 8760 × 0.7 = 674,520 + 49,056 = 723,576
    assert scenario(body, "70%")["years"][1]["revenue"] == "723576.00"


def test_a_site_without_cards_earns_nothing(operator_client):
    body = created(operator_client, SiteFactory(), **WORKED)
    eighty = scenario(body, "80%")
    assert body["capacity"] == []
    assert eighty["years"][1]["revenue"] == "0.00"
    assert eighty["break_even_utilisation"] is None


# --- Measured figures ---------------------------------------------------------------------------


def test_the_actual_scenario_is_the_measured_rental_rate(operator_client, site):
    rack = site.racks.get()
    model_id = rack.servers.first().cards.first().card_model_id
    yesterday = clock.local_today() - dt.timedelta(days=1)
    for day, leased in [(yesterday, D("150.0000")), (yesterday - dt.timedelta(days=30), D("162"))]:
        OccupancyDaily.objects.create(
            day=day, rack_id=rack.pk, site_id=site.pk, card_model_id=model_id,
            cards_installed=10, cards_in_service=10, card_hours_available=D("240.0000"),
            card_hours_leased=leased, card_hours_busy=D("0"),
        )  # fmt: skip
    # Too old to count (more than 90 days ago): would pull the rate down if it did.
    OccupancyDaily.objects.create(
        day=yesterday - dt.timedelta(days=120), rack_id=rack.pk, site_id=site.pk,
        card_model_id=model_id, cards_installed=10, cards_in_service=10,
        card_hours_available=D("240"), card_hours_leased=D("0"), card_hours_busy=D("0"),
    )  # fmt: skip
    body = created(operator_client, site, **WORKED)
    # (150 + 162) / (240 + 240) = 312 / 480 = 0.6500
    assert [s["label"] for s in body["scenarios"]] == ["80%", "actual"]
    actual = scenario(body, "actual")
    assert actual["utilisation"] == "0.6500"
    assert actual["years"][1]["revenue"] == "440700.00"  # 678,000 × 0.65
    assert actual["years"][1]["cash_flow"] == "298300.00"
    assert actual["npv"] == "191025.40"  # 298,300 × 3.99271003707… − 1,000,000
    assert body["measured"] == {"days": 90, "rental_rate": "0.6500", "long_share": None}
    assert body["notes"] == []


def test_long_share_defaults_to_the_measured_share_of_leased_hours(operator_client, site):
    cards = list(site.racks.get().servers.first().cards.all())
    start = clock.day_start(clock.local_today() - dt.timedelta(days=10))
    for kind, card, hours in [("long", cards[0], 72), ("short", cards[1], 24)]:
        lease = LeaseFactory(
            kind=kind, card_model=card.card_model, start=start, end=start + dt.timedelta(days=400),
            term_months=12 if kind == "long" else None,
        )  # fmt: skip
        period = DateTimeTZRange(start, start + dt.timedelta(hours=hours), "[)")
        Allocation.objects.create(lease=lease, card=card, period=period)
    body = created(operator_client, site, **{**WORKED, "long_share": None})
    # 72 long hours of 96 leased → 0.7500
    assert (body["long_share"], body["long_share_source"]) == ("0.7500", "measured")
    assert body["measured"]["long_share"] == "0.7500"
    # s = 0.75: per card-year 0.25 × 87,600 + 0.75 × 48,000 = 21,900 + 36,000 = 57,900
    assert scenario(body, "80%")["years"][1]["revenue"] == "463200.00"  # 10 × 57,900 × 0.8


# --- Defaults -----------------------------------------------------------------------------------


def test_defaults(operator_client, site):
    body = created(operator_client, site)
    assert body["horizon_years"] == 5
    assert body["utilisations"] == ["0.7000", "0.8000", "0.9000"]
    assert [s["label"] for s in body["scenarios"]] == ["70%", "80%", "90%"]  # nothing measured
    assert body["notes"] == [
        "No occupancy measured at this site in the last 90 days: no `actual` scenario."
    ]
    assert (body["long_share"], body["long_share_source"]) == ("0.7000", "default")
    assert (body["subsidy"], body["discount_rate"]) == ("0.00", "0.0800")
    assert (body["capex"], body["opex"]) == ([], [])
    assert body["inputs"]["scenarios"] == ["0.7000", "0.8000", "0.9000"]
    # s = 0.7: per card-year 0.3 × 87,600 + 0.7 × 48,000 = 26,280 + 33,600 = 59,880;
    # 10 cards at 70 % → 419,160 a year, no costs: CF₀ = 0, payback at once, no IRR.
    seventy = scenario(body, "70%")
    assert seventy["years"][1]["revenue"] == "419160.00"
    assert seventy["spread"] == "2095800.00"
    assert (seventy["irr"], seventy["payback_years"]) == (None, "0.0000")
    assert [row["amount"] for row in body["depreciation"]] == ["0.00"] * 5


def test_depreciation_years_is_a_setting_and_the_last_year_takes_the_remainder(
    operator_client, site, settings
):
    settings.DEPRECIATION_YEARS = 3
    capex = [{"category": "hardware", "amount": "100.00"}, {"category": "software", "amount": "9"}]
    body = created(operator_client, site, capex=capex)
    assert body["depreciation"] == [
        {"year": 1, "amount": "33.33", "book_value": "66.67"},
        {"year": 2, "amount": "33.33", "book_value": "33.34"},
        {"year": 3, "amount": "33.34", "book_value": "0.00"},
        {"year": 4, "amount": "0.00", "book_value": "0.00"},
        {"year": 5, "amount": "0.00", "book_value": "0.00"},
    ]


# --- Bad inputs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scenarios": ["0"]}, "scenarios"),
        ({"scenarios": ["1.01"]}, "scenarios"),
        ({"scenarios": ["-0.5"]}, "scenarios"),
        ({"scenarios": ["0.7", "0.70"]}, "scenarios"),
        ({"scenarios": []}, "scenarios"),
        ({"scenarios": ["0.12345"]}, "scenarios"),
        ({"capex": [{"category": "hardware", "amount": "-1"}]}, "capex"),
        ({"opex": [{"category": "staff", "amount": "-0.01"}]}, "opex"),
        ({"capex": [{"category": "land", "amount": "1"}]}, "capex"),
        ({"opex": [{"category": "build", "amount": "1"}]}, "opex"),
        ({"capex": [{"category": "hardware", "amount": "1", "vendor": "x"}]}, "capex"),
        ({"horizon_years": 0}, "horizon_years"),
        ({"horizon_years": 16}, "horizon_years"),
        ({"long_share": "1.5"}, "long_share"),
        ({"discount_rate": "-0.01"}, "discount_rate"),
        ({"subsidy": "-1"}, "subsidy"),
        ({"capex": [{"category": "other", "amount": "1"}] * 101}, "capex"),
        ({"scenarios": [f"0.{n:02d}" for n in range(1, 22)]}, "scenarios"),
        ({"colour": "red"}, "colour"),
        ({"site": 999999}, "site"),
    ],
)
def test_bad_input_is_a_400_and_writes_nothing(operator_client, site, body, field):
    response = operator_client.post(URL, {"site": site.pk, **WORKED, **body}, format="json")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert not BusinessCase.objects.exists()
    assert not AuditLog.objects.filter(action="business_case.create").exists()


def test_the_site_is_required(operator_client):
    response = operator_client.post(URL, {}, format="json")
    assert response.status_code == 400
    assert "site" in response.json()["error"]["fields"]


def test_the_service_checks_its_inputs_too(operator, site):
    with pytest.raises(bc.InvalidInput):
        bc.business_case_create(actor=operator, site=site, horizon_years=16)
    with pytest.raises(bc.InvalidInput):
        bc.business_case_create(actor=operator, site=site, scenarios=[D("1.5")])
    with pytest.raises(bc.InvalidInput):
        bc.business_case_create(
            actor=operator, site=site, capex=[{"category": "land", "amount": D(1)}]
        )
    assert not BusinessCase.objects.exists()


# --- Permissions and reads ----------------------------------------------------------------------


def test_tenants_may_neither_read_nor_create(tenant_client, operator_client, site):
    case = created(operator_client, site, **WORKED)
    assert tenant_client.get(URL).status_code == 403
    assert tenant_client.get(f"{URL}{case['id']}/").status_code == 403
    response = post(tenant_client, site, **WORKED)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert BusinessCase.objects.count() == 1


def test_anonymous_callers_are_401(make_client, site):
    assert make_client().get(URL).status_code == 401


@pytest.mark.parametrize("role_client", ["operator_client", "finance_client", "admin_client_api"])
def test_staff_create_and_read(request, role_client, site):
    client = request.getfixturevalue(role_client)
    case = created(client, site, **WORKED)
    assert client.get(f"{URL}{case['id']}/").json() == case
    listing = client.get(URL).json()
    assert listing["count"] == 1
    assert listing["results"][0] == case


def test_the_list_filters_by_site(operator_client, site):
    other = SiteFactory()
    mine = created(operator_client, site)
    created(operator_client, other)
    listing = operator_client.get(URL, {"site": site.pk}).json()
    assert [row["id"] for row in listing["results"]] == [mine["id"]]


def test_an_idempotent_retry_creates_one_case(operator_client, site):
    body = {"site": site.pk, **WORKED}
    first = operator_client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="bc-1")
    again = operator_client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="bc-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert BusinessCase.objects.count() == 1


# --- The arithmetic on its own ------------------------------------------------------------------


@pytest.mark.parametrize(
    "flows",
    [
        ["-1000", "300", "400", "500"],
        ["-100", "0", "0", "150"],
        ["-1000000", "332200", "332200", "332200", "332200", "332200"],
        ["-1000000", "400000", "400000"],
        ["500", "-100", "-100", "-100", "-300"],
        ["-10", "1000"],
        ["-1000", "1"],
    ],
)
def test_irr_agrees_with_numpy_financial(flows):
    decimals = [D(value) for value in flows]
    expected = npf.irr([float(value) for value in flows])  # float only as an outside check
    assert bc.irr(decimals) == D(repr(float(expected))).quantize(D("0.0001"))
    assert abs(bc.npv(decimals, bc.irr(decimals))) < abs(decimals[0]) / 1000


@pytest.mark.parametrize(
    "flows", [["-1", "-1"], ["0", "0"], ["100", "50"], ["0", "5", "5"], ["-5", "0", "0"]]
)
def test_irr_is_null_without_a_sign_change(flows):
    assert bc.irr([D(value) for value in flows]) is None


def test_npv_discounts_from_year_one_and_agrees_with_numpy_financial():
    flows = [D("-1000000"), *[D("400000")] * 5]
    assert bc.npv(flows, D(0)) == sum(flows)
    expected = npf.npv(0.08, [float(value) for value in flows])
    assert bc.round_money(bc.npv(flows, D("0.08"))) == D(repr(float(expected))).quantize(D("0.01"))


@pytest.mark.parametrize(
    ("flows", "expected"),
    [
        (["-100", "30", "30", "40"], "3.0000"),
        (["-100", "60", "60"], "1.6667"),
        (["-100", "100"], "1.0000"),
        (["50", "10"], "0.0000"),
        (["-100", "50"], None),
        (["-100", "150", "-100"], None),  # back below zero at the end
        (["-100", "150", "-100", "100"], "2.5000"),  # for good only from year 2½
    ],
)
def test_payback_is_linear_within_the_year(flows, expected):
    result = bc.payback_years([D(value) for value in flows])
    assert result == (None if expected is None else D(expected))


@pytest.mark.parametrize(
    ("utilisation", "label"),
    [("0.7", "70%"), ("0.70", "70%"), ("0.725", "72.5%"), ("1", "100%"), ("0.0001", "0.01%")],
)
def test_scenario_labels(utilisation, label):
    assert bc.scenario_label(D(utilisation)) == label


def test_break_even_in_closed_form():
    kwargs = {"opex_per_year": D(142400), "horizon_years": 5, "discount_rate": D("0.08")}
    assert bc.break_even_utilisation(
        revenue_at_full=D(678000), cash_flow_0=D(-1000000), **kwargs
    ) == D("0.5794")
    # Revenue at u = 1 does not cover opex plus capex → null.
    assert bc.break_even_utilisation(revenue_at_full=D(100000), cash_flow_0=D(0), **kwargs) is None
    # No capacity and costs to recover → null.
    assert bc.break_even_utilisation(revenue_at_full=D(0), cash_flow_0=D(-1), **kwargs) is None
