"""The console's Business cases pages without a browser: operators and admin only, the sites
with their newest case, the inputs form (defaults from the site, errors beside their fields and
nothing stored), a computed case equal to the API's for the same inputs, and pages in a constant
number of queries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from analytics.business_case import business_case_create
from analytics.models import BusinessCase
from core.roles import Role
from marketplace.models import Site
from tests.factories import (
    CardModelFactory,
    RackFactory,
    SiteFactory,
    UserFactory,
    make_server_with_cards,
)

pytestmark = pytest.mark.django_db

D = Decimal
SITES = reverse("analytics-console:business-cases")


def site_url(site: Site) -> str:
    return reverse("analytics-console:business-case-site", args=[site.pk])


def case_url(case: BusinessCase) -> str:
    return reverse("analytics-console:business-case", args=[case.pk])


@pytest.fixture
def site() -> Site:
    """10 cards in service at 10.0000 per card-hour and 5000.0000 per card-month, 1,000 paid
    for each (the API's worked example)."""
    site = SiteFactory(name="Yichang One", code="YC1")
    model = CardModelFactory(hourly_rate=D("10.0000"), monthly_rate=D("5000.0000"))
    rack = RackFactory(site=site)
    make_server_with_cards(rack, model, cards=8)
    make_server_with_cards(rack, model, cards=2)
    return site


def login(role: str) -> Client:
    client = Client()
    client.force_login(UserFactory(role=role))
    return client


@pytest.fixture
def op() -> Client:
    return login(Role.OPERATOR)


# The API's worked example as the form takes it (rates in per cent).
FORM = {
    "capex_build": "200000.00",
    "capex_hardware": "1000000.00",
    "capex_software": "0",
    "capex_models": "0",
    "capex_other": "0",
    "opex_operations": "0",
    "opex_repairs": "0",
    "opex_power_water": "100000.00",
    "opex_staff": "42400.00",
    "opex_other": "0",
    "horizon_years": "5",
    "scenarios": "80",
    "long_share": "50",
    "subsidy": "200000.00",
    "discount_rate": "8",
}
API_BODY = {
    "capex": [
        {"category": "build", "amount": "200000.00"},
        {"category": "hardware", "amount": "1000000.00"},
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


def test_only_operators_and_admin_get_in() -> None:
    for role, status in [(Role.OPERATOR, 200), (Role.ADMIN, 200), (Role.FINANCE, 403)]:
        assert login(role).get(SITES).status_code == status, role
    tenant_user = UserFactory(role=Role.TENANT)
    client = Client()
    client.force_login(tenant_user)
    assert client.get(SITES).status_code == 403
    response = Client().get(SITES)
    assert response.status_code == 302 and "/console/login/" in response["Location"]


def test_the_sites_page_shows_each_sites_newest_case(op: Client, site: Site) -> None:
    other = SiteFactory(name="Wuhan Two", code="WH2")
    business_case_create(actor=None, site=site)
    newest = business_case_create(actor=None, site=site)
    response = op.get(SITES)
    assert response.status_code == 200
    rows = {s.pk: s for s in response.context["sites"]}
    assert rows[site.pk].latest_case_id == newest.pk and rows[site.pk].case_count == 2
    assert rows[other.pk].latest_case_id is None
    text = response.content.decode()
    assert "Yichang One" in text and "Wuhan Two" in text and "None yet" in text
    assert case_url(newest) in text and site_url(other) in text


def test_the_form_starts_from_the_sites_figures(op: Client, site: Site) -> None:
    response = op.get(site_url(site))
    assert response.status_code == 200
    form = response.context["form"]
    # what was paid for the 10 installed cards (the factory's capex_cost each)
    paid = sum(card.capex_cost for card in _cards(site))
    assert form["capex_hardware"].value() == paid
    assert form["horizon_years"].value() == 5
    assert form["scenarios"].value() == "70, 80, 90"
    assert form["discount_rate"].value() == "8"
    assert form["long_share"].value() is None  # nothing measured: the service's default
    text = response.content.decode()
    for label in ("Build-out (construction, power, cooling)", "Power and water", "Horizon (years)",
                  "Utilisation scenarios (%)", "Discount rate (%)"):  # fmt: skip
        assert f">{label}</label>" in text


def _cards(site: Site) -> list[Any]:
    from marketplace.models import Card

    return list(Card.objects.filter(server__rack__site=site))


def test_a_computed_case_equals_the_apis_for_the_same_inputs(
    op: Client, site: Site, operator_client: Any
) -> None:
    response = op.post(site_url(site), FORM)
    case = BusinessCase.objects.get()
    assert response.status_code == 302 and response["Location"] == case_url(case)
    api = operator_client.post(
        "/api/v1/business-cases/", {"site": site.pk, **API_BODY}, format="json"
    ).json()
    mine = operator_client.get(f"/api/v1/business-cases/{case.pk}/").json()
    for key in ("scenarios", "capacity", "totals", "depreciation", "long_share", "subsidy",
                "discount_rate", "horizon_years", "utilisations"):  # fmt: skip
        assert mine[key] == api[key], key
    [eighty] = mine["scenarios"]
    assert (eighty["npv"], eighty["irr"]) == ("597084.01", "0.2865")
    assert eighty["payback_years"] == "2.5000"
    assert eighty["break_even_utilisation"] == "0.5794"


def test_the_result_page_shows_chart_payback_break_even_and_the_yearly_table(
    op: Client, site: Site
) -> None:
    op.post(site_url(site), FORM)
    case = BusinessCase.objects.get()
    response = op.get(case_url(case))
    assert response.status_code == 200
    text = response.content.decode()
    assert 'id="case-chart"' in text and 'id="case-chart-data"' in text
    assert "echarts.min.js" in text and "analytics/console/business_case.js" in text
    assert "Break-even utilisation: 57.94 %" in text
    assert "2.50 years" in text  # payback
    assert "¥597,084.01" in text and "28.65 %" in text  # NPV, IRR
    assert "¥542,400.00" in text and "-¥1,000,000.00" in text and "¥1,000,000.00" in text
    chart = response.context["chart"]
    [line] = chart["scenarios"]
    assert line["name"] == "80%" and line["payback"] == "2.5000"
    assert line["points"][0] == [0, "-1000000.00"] and line["points"][-1] == [5, "1000000.00"]
    assert chart["break_even"] == "0.5794" and chart["horizon"] == 5


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"horizon_years": "16"}, "horizon_years", "less than or equal to 15"),
        ({"scenarios": "70, abc"}, "scenarios", "“abc” is not a number."),
        ({"scenarios": "70, 120"}, "scenarios", "Each utilisation must be above 0 and at most 1."),
        ({"scenarios": "80, 80"}, "scenarios", "Each utilisation at most once."),
        ({"scenarios": " , "}, "scenarios", "Give at least one utilisation."),
        ({"discount_rate": "101"}, "discount_rate", "less than or equal to 100"),
        ({"capex_build": "-1"}, "capex_build", "greater than or equal to 0"),
        ({"subsidy": "x"}, "subsidy", "Enter a number."),
    ],
)
def test_bad_inputs_are_shown_by_field_and_nothing_is_stored(
    op: Client, site: Site, change: dict[str, str], field: str, message: str
) -> None:
    response = op.post(site_url(site), {**FORM, **change})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and any(message in e for e in errors[field]), errors
    assert f'data-testid="error-{field}"' in response.content.decode()
    assert not BusinessCase.objects.exists()


def test_another_site_or_case_that_does_not_exist_is_the_404_page(op: Client) -> None:
    assert op.get(reverse("analytics-console:business-case-site", args=[999999])).status_code == 404
    assert op.get(reverse("analytics-console:business-case", args=[999999])).status_code == 404


def test_the_post_needs_csrf(site: Site) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(role=Role.OPERATOR))
    assert client.post(site_url(site), FORM).status_code == 403
    assert not BusinessCase.objects.exists()


def test_pages_are_a_constant_number_of_queries(
    op: Client, site: Site, django_assert_max_num_queries: Any
) -> None:
    business_case_create(actor=None, site=site, scenarios=["0.7"])
    with django_assert_max_num_queries(12) as one:
        assert op.get(SITES).status_code == 200
    for _ in range(15):
        other = SiteFactory()
        for _ in range(2):
            business_case_create(actor=None, site=other)
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(op.get(SITES).context["sites"]) == 16

    with django_assert_max_num_queries(12) as one:
        assert op.get(site_url(site)).status_code == 200
    for _ in range(12):
        business_case_create(actor=None, site=site)
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert op.get(site_url(site)).status_code == 200

    small = business_case_create(actor=None, site=site, scenarios=["0.7"], horizon_years=1)
    with django_assert_max_num_queries(10) as one:
        assert op.get(case_url(small)).status_code == 200
    big = business_case_create(
        actor=None, site=site, scenarios=[f"0.{n}" for n in range(10, 30)], horizon_years=15
    )
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert op.get(case_url(big)).status_code == 200
