"""The Fleet pages in Chromium: an operator opens the overview (the trend chart drawn), goes
through Sites to a site's rack heat map (one tile per rack, in its rental rate's band, the
planned rack marked), opens a rack's servers and cards and puts a leased card into maintenance,
seeing where its lease went; the page in Chinese. No browser errors on any page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from analytics.models import OccupancyDaily, SiteDaily
from core import clock
from leasing.models import Allocation, Lease
from leasing.services import lease_create
from marketplace.models import Card, CardModel, Rack
from tests.browser.conftest import Console, People
from tests.factories import CardModelFactory, RackFactory, SiteFactory, make_server_with_cards


def _snapshot(rack: Rack, model: CardModel, day: dt.date, cards: int, leased: float) -> None:
    """The nightly job's row for a rack and day: `leased` of `cards` cards leased all day,
    half of the leased hours busy."""
    OccupancyDaily.objects.create(
        day=day, rack_id=rack.pk, site_id=rack.site_id, card_model_id=model.pk,
        cards_installed=cards, cards_in_service=cards,
        card_hours_available=Decimal(cards * 24), card_hours_leased=Decimal(leased * 24),
        card_hours_busy=Decimal(leased * 12),
    )  # fmt: skip


@pytest.fixture
def fleet(people: People) -> dict[str, Any]:
    """Yichang One: R01 (two servers of 8 Ascend cards; yesterday 10 of 16 leased: 62.5 %),
    R02 (8 cards of another model; 2 of 8: 25 %), R03 planned; Chengdu Two: C01. Snapshots for
    the last 30 days; Zhiyuan AI Lab holds 2 Ascend cards now (on R01, the only rack with
    them)."""
    ascend = CardModelFactory(name="Ascend-910B")
    mlu = CardModelFactory(vendor="Cambricon", name="MLU370")
    yichang = SiteFactory(name="Yichang One", code="YC1", city="Yichang")
    chengdu = SiteFactory(name="Chengdu Two", code="CD2", city="Chengdu")
    r01 = RackFactory(site=yichang, name="R01")
    r02 = RackFactory(site=yichang, name="R02")
    r03 = RackFactory(site=yichang, name="R03", status="planned")
    c01 = RackFactory(site=chengdu, name="C01")
    make_server_with_cards(r01, ascend, name="yc1-r01-s1")
    make_server_with_cards(r01, ascend, name="yc1-r01-s2")
    make_server_with_cards(r02, mlu)
    make_server_with_cards(r03, mlu, cards=4)
    make_server_with_cards(c01, mlu)
    yesterday = clock.local_today() - dt.timedelta(days=1)
    for back in range(30):
        day = yesterday - dt.timedelta(days=back)
        _snapshot(r01, ascend, day, 16, 10 if back == 0 else 4 + back % 9)
        _snapshot(r02, mlu, day, 8, 2 if back == 0 else back % 7)
        _snapshot(c01, mlu, day, 8, 6)
        SiteDaily.objects.create(day=day, site_id=yichang.pk, racks_racked=2, racks_planned=1)
        SiteDaily.objects.create(day=day, site_id=chengdu.pk, racks_racked=1, racks_planned=0)
    lease = lease_create(
        actor=None, tenant=people.tenant, kind="short", card_model=ascend, card_count=2
    )
    return {"yichang": yichang, "lease": lease}


def test_an_operator_walks_from_the_overview_to_a_card_in_maintenance(
    console: Console, people: People, fleet: dict[str, Any]
) -> None:
    console.login(people.operator.username)
    page = console.page
    page.click("nav.mainnav >> text=Fleet")
    page.wait_for_url("**/console/fleet/")
    page.locator("#fleet-trend canvas").first.wait_for()
    assert page.get_by_test_id("fleet-rental").inner_text() == "56.3 %"  # 10+2+6 of 16+8+8 cards
    console.check()
    page.select_option("#trend-site", label="Yichang One")
    expect(page.get_by_test_id("trend-chart")).to_have_attribute(
        "data-series", f"site-{fleet['yichang'].pk}"
    )
    console.check()

    page.click("nav.mainnav >> text=Sites")
    page.wait_for_url("**/console/fleet/sites/")
    console.check()
    page.get_by_role("link", name="Yichang One").click()
    page.wait_for_url(f"**/console/fleet/sites/{fleet['yichang'].pk}/")
    tiles = page.get_by_test_id("rack-tile")
    assert tiles.count() == 3  # R01, R02, R03: not Chengdu's C01
    r01 = page.locator("[data-rack=R01]")
    assert "band-3" in (r01.get_attribute("class") or "").split()  # 62.5 %: 60–80 %
    assert r01.get_by_test_id("rack-rate").inner_text() == "62.5 %"
    assert "band-1" in (page.locator("[data-rack=R02]").get_attribute("class") or "").split()
    r03 = page.locator("[data-rack=R03]")
    assert "planned" in (r03.get_attribute("class") or "").split()
    assert r03.get_by_test_id("rack-status").inner_text() == "Planned"
    console.check()

    r01.click()
    panel = page.get_by_test_id("rack-panel")
    panel.wait_for()
    assert panel.get_by_test_id("card-row").count() == 16
    held = Allocation.objects.filter(lease=fleet["lease"]).select_related("card").first()
    assert held is not None
    row = page.locator(f"[data-testid=card-row][data-card={held.card.serial}]")
    assert row.get_by_test_id("card-tenant").inner_text() == "Zhiyuan AI Lab"
    assert row.get_by_test_id("card-lease").inner_text() == f"#{fleet['lease'].pk}"
    console.check()

    row.get_by_test_id("maintenance").click()
    form = page.get_by_test_id("maintenance-form")
    form.wait_for()
    page.fill("#id_reason", "ECC errors")
    page.check("#id_confirm")
    console.check()
    page.get_by_test_id("confirm-maintenance").click()
    outcome = page.get_by_test_id("swap-outcome")
    outcome.wait_for()
    card = Card.objects.get(pk=held.card_id)
    assert card.status == "maintenance"
    moved = Allocation.objects.filter(lease=fleet["lease"]).exclude(card=card).order_by("-id")[0]
    text = " ".join(outcome.inner_text().split())
    assert f"Card {card.serial} is in maintenance." in text
    assert (
        f"Lease #{fleet['lease'].pk} (Zhiyuan AI Lab) moved to card {moved.card.serial} "
        f"(server {moved.card.server.name})." in text
    )
    # the panel shows the rack again: the card in maintenance, no button for it
    row = page.locator(f"[data-testid=card-row][data-card={card.serial}]")
    assert row.get_by_test_id("card-status").inner_text() == "Maintenance"
    assert row.get_by_test_id("maintenance").count() == 0
    assert row.get_by_test_id("card-lease").inner_text() == "—"  # its lease has moved
    row = page.locator(f"[data-testid=card-row][data-card={moved.card.serial}]")
    assert row.get_by_test_id("card-lease").inner_text() == f"#{fleet['lease'].pk}"
    console.check()
    assert Lease.objects.get(pk=fleet["lease"].pk).status == "active"


def test_the_fleet_pages_in_chinese(
    console: Console, people: People, fleet: dict[str, Any]
) -> None:
    console.login(people.operator.username)
    console.goto("/console/fleet/")
    console.submit("form.lang button[value=zh-hans]")
    page = console.page
    page.locator("#fleet-trend canvas").first.wait_for()
    facts = page.get_by_test_id("fleet-facts").inner_text()
    assert "出租率" in facts and "利用率" in facts and "上架率" in facts
    assert "设备总览" in page.locator("nav.mainnav").inner_text()
    console.goto(f"/console/fleet/sites/{fleet['yichang'].pk}/")
    assert "已规划" in page.locator("[data-rack=R03]").inner_text()
    assert "无数据" in page.get_by_test_id("legend").inner_text()
    console.check()
