"""The console's Revenue page without a browser: finance and admin only, the last 12 months by
default (operator time), by lease kind or card model from `revenue_report` (the API's figures),
the CSV link to the API's CSV of the same report, the empty state's recompute, and a constant
number of queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from analytics.models import RecomputeRun, RevenueDaily
from core.roles import Role
from tests.factories import CardModelFactory, UserFactory
from tests.timing import at

pytestmark = pytest.mark.django_db

D = Decimal
PAGE = reverse("analytics-console:revenue")
RECOMPUTE = reverse("analytics-console:revenue-recompute")
NOW = "2027-03-10 12:00"  # operator time: the default period is 2026-04 … 2027-03


@pytest.fixture(autouse=True)
def frozen() -> Any:
    with at(NOW) as traveller:
        yield traveller


def login(role: str) -> Client:
    client = Client()
    client.force_login(UserFactory(role=role))
    return client


@pytest.fixture
def fin() -> Client:
    return login(Role.FINANCE)


@pytest.fixture
def models() -> tuple[Any, Any]:
    return CardModelFactory(name="Ascend 910B"), CardModelFactory(name="H20")


def revenue(day: str, amount: str, *, model: Any, kind: str = "long", lease: int = 1) -> None:
    RevenueDaily.objects.create(
        day=dt.date.fromisoformat(day), lease_id=lease, tenant_id=1, site_id=None,
        card_model_id=model.pk, lease_kind=kind, amount=D(amount),
    )  # fmt: skip


@pytest.fixture
def accrued(models: tuple[Any, Any]) -> None:
    ascend, h20 = models
    revenue("2027-01-05", "100.004", model=ascend, kind="long", lease=1)
    revenue("2027-01-06", "100.004", model=ascend, kind="long", lease=1)
    revenue("2027-01-06", "50.50", model=h20, kind="short", lease=2)
    revenue("2027-02-01", "300.00", model=h20, kind="long", lease=3)
    revenue("2026-03-31", "999.00", model=h20, kind="long", lease=4)  # before the period


def test_only_finance_and_admin_get_in() -> None:
    for role, status in [(Role.FINANCE, 200), (Role.ADMIN, 200), (Role.OPERATOR, 403)]:
        assert login(role).get(PAGE).status_code == status, role
    client = Client()
    client.force_login(UserFactory(role=Role.TENANT))
    assert client.get(PAGE).status_code == 403
    assert client.post(RECOMPUTE, {"start": "2027-03-01", "end": "2027-03-02"}).status_code == 403
    assert not RecomputeRun.objects.exists()
    response = Client().get(PAGE)
    assert response.status_code == 302 and "/console/login/" in response["Location"]


def test_the_last_twelve_months_by_lease_kind(fin: Client, accrued: None) -> None:
    response = fin.get(PAGE)
    assert response.status_code == 200
    report = response.context["report"]
    assert report["groups"] == ["Long lease", "Short lease"]
    months = [row["month"] for row in report["rows"]]
    assert months[0] == "2026-04" and months[-1] == "2027-03" and len(months) == 12
    january = next(row for row in report["rows"] if row["month"] == "2027-01")
    # the daily amounts summed, then rounded once: 200.008 → 200.01
    assert january["amounts"] == [D("200.01"), D("50.50")] and january["total"] == D("250.51")
    assert report["grand_total"] == D("550.51")
    text = response.content.decode()
    assert 'id="revenue-chart"' in text and 'id="revenue-chart-data"' in text
    assert "¥200.01" in text and "¥550.51" in text
    chart = response.context["chart"]
    assert chart["months"] == months
    assert [s["name"] for s in chart["series"]] == ["Long lease", "Short lease"]


def test_by_card_model_and_a_chosen_period(
    fin: Client, accrued: None, operator_client: Any
) -> None:
    response = fin.get(PAGE, {"start": "2027-01", "end": "2027-02", "by": "card_model"})
    report = response.context["report"]
    assert report["groups"] == ["Ascend 910B", "H20"]
    assert [(r["month"], r["amounts"]) for r in report["rows"]] == [
        ("2027-01", [D("200.01"), D("50.50")]),
        ("2027-02", [D("0"), D("300.00")]),
    ]
    # the API's figures for the same report
    api = operator_client.get(
        "/api/v1/reports/revenue/",
        {"from": "2027-01-01", "to": "2027-02-28", "group_by": "card_model"}
        | {"granularity": "month"},
    ).json()
    assert sum(D(row["amount"]) for row in api) == report["grand_total"] == D("550.51")


def test_the_csv_link_is_the_apis_csv_of_the_same_report(fin: Client, accrued: None) -> None:
    response = fin.get(PAGE, {"start": "2027-01", "end": "2027-02", "by": "card_model"})
    url = response.context["csv_url"]
    assert url == (
        "/api/v1/reports/revenue/?from=2027-01-01&to=2027-02-28&group_by=card_model"
        "&granularity=month&format=csv"
    )
    csv = fin.get(url)  # session auth on the API
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    body = csv.content.decode()
    assert body.splitlines()[0].strip() == "period,group,group_name,amount"
    assert "2027-02" in body and "300.00" in body


def test_a_bad_period_is_answered_in_words(fin: Client) -> None:
    response = fin.get(PAGE, {"start": "2027-13", "end": "2027-02"})
    assert response.status_code == 200
    assert "A month as YYYY-MM." in response.content.decode()
    response = fin.get(PAGE, {"start": "2027-03", "end": "2027-01"})
    assert "from is after to." in response.content.decode()
    response = fin.get(PAGE, {"start": "2020-01", "end": "2027-01"})
    assert "A range covers at most 3 years." in response.content.decode()
    assert "report" not in response.context


def test_no_revenue_yet_says_what_to_do_and_runs_the_job(fin: Client) -> None:
    response = fin.get(PAGE, {"start": "2027-03", "end": "2027-03"})
    text = response.content.decode()
    assert 'data-testid="empty"' in text and "nightly job at 01:00" in text
    assert 'id="revenue-chart"' not in text
    response = fin.post(RECOMPUTE, {"start": "2027-03-01", "end": "2027-03-31"})
    assert response.status_code == 302
    assert response["Location"] == PAGE + "?start=2027-03&end=2027-03"
    run = RecomputeRun.objects.get()
    # only the days that are over: up to yesterday
    assert (run.day_from, run.day_to, run.status) == (
        dt.date(2027, 3, 1),
        dt.date(2027, 3, 9),
        "done",
    )
    assert "Revenue is recomputed." in fin.get(response["Location"]).content.decode()


def test_the_recompute_needs_its_days_and_csrf(fin: Client) -> None:
    response = fin.post(RECOMPUTE, {})
    assert response.status_code == 302
    assert "Give the days to recompute." in fin.get(response["Location"]).content.decode()
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(role=Role.FINANCE))
    assert client.post(RECOMPUTE, {"start": "2027-03-01", "end": "2027-03-02"}).status_code == 403
    assert not RecomputeRun.objects.exists()


def test_the_page_is_a_constant_number_of_queries(
    fin: Client, models: tuple[Any, Any], django_assert_max_num_queries: Any
) -> None:
    ascend, _ = models
    revenue("2027-01-05", "1.00", model=ascend)
    with django_assert_max_num_queries(10) as one:
        assert fin.get(PAGE, {"by": "card_model"}).status_code == 200
    for n in range(20):
        model = CardModelFactory()
        revenue(f"2026-{(n % 9) + 4:02d}-0{(n % 8) + 1}", "2.00", model=model, lease=100 + n)
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = fin.get(PAGE, {"by": "card_model"})
    assert len(response.context["report"]["groups"]) == 21
