"""The Revenue page in Chromium: finance opens it from the navigation and sees the stacked
chart and the table with the figures set up, switches to card models, and reads it in Chinese
(no browser errors)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from analytics.models import RecomputeRun, RevenueDaily
from core import clock
from tests.browser.conftest import Console, People
from tests.factories import CardModelFactory


def _accrue() -> str:
    """Revenue last month (operator time): long 1,200.00 and short 300.50 on Ascend 910B and
    H20. Returns the month as YYYY-MM."""
    ascend = CardModelFactory(name="Ascend 910B")
    h20 = CardModelFactory(name="H20")
    day = clock.add_months(clock.month_first(clock.local_today()), -1) + dt.timedelta(days=4)
    for lease, (model, kind, amount) in enumerate(
        [(ascend, "long", "1200.00"), (h20, "short", "300.50")], start=1
    ):
        RevenueDaily.objects.create(
            day=day, lease_id=lease, tenant_id=1, site_id=None, card_model_id=model.pk,
            lease_kind=kind, amount=Decimal(amount),
        )  # fmt: skip
    return day.strftime("%Y-%m")


def test_finance_sees_revenue_by_lease_kind_and_card_model(
    console: Console, people: People
) -> None:
    month = _accrue()
    console.login(people.finance.username)
    page = console.page
    page.click("nav.mainnav >> text=Revenue")
    page.wait_for_url("**/console/revenue/")
    page.locator("#revenue-chart canvas").first.wait_for()
    table = page.get_by_test_id("revenue-table")
    assert table.locator("thead").inner_text().split("\t")[1:3] == ["Long lease", "Short lease"]
    row = page.get_by_test_id(f"month-{month}").inner_text()
    assert "¥1,200.00" in row and "¥300.50" in row and "¥1,500.50" in row
    assert page.get_by_test_id("grand-total").inner_text() == "¥1,500.50"
    assert "format=csv" in (page.get_by_test_id("csv").get_attribute("href") or "")
    console.check()

    with page.expect_navigation():
        page.get_by_test_id("by-card_model").click()
    page.locator("#revenue-chart canvas").first.wait_for()
    assert "Ascend 910B" in table.locator("thead").inner_text()
    assert "group_by=card_model" in (page.get_by_test_id("csv").get_attribute("href") or "")
    console.check()


def test_an_empty_period_says_what_to_do(console: Console, people: People) -> None:
    last_month = clock.add_months(clock.month_first(clock.local_today()), -1).strftime("%Y-%m")
    console.login(people.finance.username)
    console.goto(f"/console/revenue/?start={last_month}&end={last_month}")
    assert "No revenue yet" in console.page.get_by_test_id("empty").inner_text()
    console.submit("[data-testid=recompute]")  # a month: recomputed in the request
    assert console.page.get_by_role("status").inner_text() == "Revenue is recomputed."
    assert RecomputeRun.objects.get().status == "done"


def test_the_revenue_page_in_chinese(console: Console, people: People) -> None:
    _accrue()
    console.login(people.finance.username)
    console.goto("/console/revenue/")
    console.submit("form.lang button[value=zh-hans]")
    page = console.page
    assert page.locator("h1").first.inner_text() == "收入"
    assert "长租" in page.get_by_test_id("revenue-table").inner_text()
    assert page.get_by_test_id("by-card_model").inner_text() == "按加速卡型号"
    page.locator("#revenue-chart canvas").first.wait_for()
    console.check()
