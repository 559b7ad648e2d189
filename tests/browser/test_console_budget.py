"""The Budget page in Chromium: a tenant with a running short lease opens Budget from the
navigation (the empty state), a wrong warning share is said beside its field (nothing saved),
then sets ¥100 with a stop and sees the month so far with its progress bar; the page in
Chinese."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from playwright.sync_api import expect

from billing.models import Budget
from core import clock
from leasing.services import lease_create
from tests.browser.conftest import Console, People
from tests.factories import CardModelFactory, RackFactory, make_server_with_cards
from tests.timing import at

NOON = dt.datetime(2027, 3, 10, 12, 0, tzinfo=clock.operator_tz())


@pytest.fixture
def running(people: People) -> Iterator[None]:
    """A 1-card short lease at ¥12.50/h since 08:00; the clock runs from 12:00 (¥50 spent)."""
    model = CardModelFactory(hourly_rate=Decimal("12.5000"), monthly_rate=Decimal("3900.0000"))
    make_server_with_cards(RackFactory(), model)
    with at("2027-03-10 08:00"):
        lease_create(actor=None, tenant=people.tenant, kind="short", card_model=model, card_count=1)
    with time_machine.travel(NOON, tick=True):
        yield


# Whether each of a select's choices fits its box: the text's width in the select's font, plus
# its padding and the arrow (about 2rem), at most the select's width.
_FITS = """select => {
  const context = document.createElement("canvas").getContext("2d");
  context.font = getComputedStyle(select).font;
  const room = select.getBoundingClientRect().width - 32;
  return [...select.options].every(option => context.measureText(option.text).width <= room);
}"""


def _choices_fit(page: Any, selector: str) -> bool:
    return bool(page.eval_on_selector(selector, _FITS))


def test_a_tenant_sets_a_budget_and_sees_its_runway(
    console: Console, people: People, running: None
) -> None:
    page = console.page
    console.login(people.tenant_user.username)
    page.click("nav.mainnav >> text=Budget")
    page.wait_for_url("**/console/billing/budget/")
    assert page.get_by_test_id("budget-empty").is_visible()
    console.check()
    page.get_by_label("Monthly limit (CNY)").fill("100")
    page.get_by_label("Warn at (percent of the limit)").fill("50, 180")
    page.get_by_label("When the limit is reached").select_option("stop")
    assert _choices_fit(page, "#id_action")  # at 1366 px, "…and refuse new leases" is whole
    console.submit("[data-testid=save-budget]")
    assert page.locator(".has-error", has=page.locator("#id_warn_at")).is_visible()
    assert not Budget.objects.exists()
    page.get_by_label("Warn at (percent of the limit)").fill("50, 80")
    console.submit("[data-testid=save-budget]")
    expect(page.get_by_test_id("budget-spend")).to_contain_text("¥50.")
    expect(page.get_by_test_id("budget-burn")).to_contain_text("¥12.50")
    assert page.get_by_test_id("budget-bar").is_visible()
    assert "hours" in page.get_by_test_id("budget-runway").inner_text()
    assert Budget.objects.get().action == "stop"
    for width in (1100, 1000, 700):  # three columns, and one below 64rem
        page.set_viewport_size({"width": width, "height": 800})
        assert _choices_fit(page, "#id_action"), width


def test_the_page_in_chinese(console: Console, people: People, running: None) -> None:
    Budget.objects.create(tenant=people.tenant, monthly_limit=Decimal("100.00"), action="notify")
    console.login(people.tenant_user.username)
    console.goto("/console/billing/budget/")
    console.submit("form.lang button[value=zh-hans]")
    page = console.page
    assert "本月花费" in page.get_by_test_id("budget-current").inner_text()
    assert page.get_by_label("每月限额（元）").is_visible()
    console.check()
