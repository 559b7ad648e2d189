"""The Business cases pages in Chromium: an operator opens a site's inputs form from the
navigation, fills it, submits, and reads the chart, the payback and break-even and the yearly
table (no browser errors); the Chinese switch shows the page in Chinese."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import expect

from analytics.models import BusinessCase
from marketplace.models import Site
from tests.browser.conftest import Console, People
from tests.factories import CardModelFactory, RackFactory, SiteFactory, make_server_with_cards


def _site() -> Site:
    """The API's worked example: 10 cards at 10.0000 an hour and 5000.0000 a month."""
    site = SiteFactory(name="Yichang One", code="YC1")
    model = CardModelFactory(hourly_rate=Decimal("10.0000"), monthly_rate=Decimal("5000.0000"))
    rack = RackFactory(site=site)
    make_server_with_cards(rack, model, cards=10)
    return site


def test_an_operator_models_a_sites_business_case(console: Console, people: People) -> None:
    site = _site()
    console.login(people.operator.username)
    page = console.page
    page.click("nav.mainnav >> text=Business cases")
    page.wait_for_url("**/console/business-cases/")
    console.check()
    row = page.get_by_test_id("case-site-YC1")
    assert "None yet" in row.inner_text()
    with page.expect_navigation():
        row.get_by_test_id("new-case").click()
    console.check()

    # a bad scenario list first: the error beside its field, nothing stored
    page.fill("#id_scenarios", "70, 120")
    console.submit("[data-testid=compute]")
    expect(page.get_by_test_id("error-scenarios")).to_contain_text("at most 1")
    assert not BusinessCase.objects.exists()

    page.get_by_label("Build-out (construction, power, cooling)").fill("200000")
    page.get_by_label("Hardware (servers and cards)").fill("1000000")
    page.get_by_label("Power and water").fill("100000")
    page.get_by_label("Staff").fill("42400")
    page.get_by_label("Utilisation scenarios (%)").fill("70, 75, 80")
    page.get_by_label("Long-lease share of leased hours (%)").fill("50")
    page.get_by_label("Fixed-investment subsidy (one-off, year 0)").fill("200000")
    console.submit("[data-testid=compute]")
    case = BusinessCase.objects.get(site=site)
    assert page.url.endswith(f"/console/business-cases/{case.pk}/")

    page.locator("#case-chart canvas").first.wait_for()
    page.locator("#break-even-chart canvas").first.wait_for()
    assert (
        page.get_by_test_id("break-even").inner_text().startswith("Break-even utilisation: 57.94 %")
    )
    assert page.get_by_test_id("scenario-80%").get_by_test_id("payback").inner_text() == (
        "2.50 years"
    )
    yearly = page.get_by_test_id("yearly-80%")
    assert "¥542,400.00" in yearly.inner_text() and "-¥1,000,000.00" in yearly.inner_text()
    assert page.get_by_test_id("yearly-70%").is_visible()
    console.check()

    # back on the list, the site's newest case is linked
    page.click("nav.mainnav >> text=Business cases")
    page.wait_for_url("**/console/business-cases/")
    assert page.get_by_test_id("case-site-YC1").get_by_test_id("latest-case").is_visible()
    console.check()


def test_the_business_case_in_chinese(console: Console, people: People) -> None:
    site = _site()
    console.login(people.operator.username)
    console.goto(f"/console/business-cases/sites/{site.pk}/")
    console.submit("form.lang button[value=zh-hans]")
    page = console.page
    assert "新建商业测算" in page.locator("h1").first.inner_text()
    assert page.get_by_label("测算期（年）").is_visible()
    console.submit("[data-testid=compute]")
    assert "盈亏平衡利用率" in page.get_by_test_id("break-even").inner_text() or (
        "无盈亏平衡点" in page.get_by_test_id("break-even").inner_text()
    )
    assert "逐年明细" in page.content()
    page.locator("#case-chart canvas").first.wait_for()
    console.check()
