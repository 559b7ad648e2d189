"""The Leases page in Chromium: a tenant user takes a short lease from a live quote and stops it
(htmx requests with the CSRF token; no browser errors)."""

from __future__ import annotations

import re
from decimal import Decimal

from playwright.sync_api import expect

from leasing.models import Lease
from tests.browser.conftest import Console, People
from tests.factories import CardModelFactory, RackFactory, make_server_with_cards


def test_a_tenant_takes_a_short_lease_from_a_quote_and_stops_it(
    console: Console, people: People
) -> None:
    model = CardModelFactory(name="Ascend-910B", hourly_rate=Decimal("7.5000"))
    make_server_with_cards(RackFactory(), model, cards=8)
    console.login(people.tenant_user.username)
    page = console.page
    page.click("nav.mainnav >> text=Leases")
    page.wait_for_url("**/console/leases/")
    console.check()
    assert page.get_by_test_id("no-leases").is_visible()

    page.select_option("#id_card_model", str(model.pk))
    page.fill("#id_card_count", "2")
    page.fill("#id_hours", "3")
    page.get_by_test_id("get-quote").click()
    # 7.50 × 2 cards × 3 hours, widened to whole minutes as billed (a start within a minute
    # adds one: ¥45.25); each change of the form asks again, the last answer stays
    expect(page.get_by_test_id("quote-total")).to_have_text(re.compile(r"^¥45\.(00|25)$"))
    assert page.get_by_test_id("quote-rate").inner_text() == "¥7.50"
    console.check()

    page.get_by_test_id("confirm").click()
    page.get_by_test_id("taken").wait_for()
    row = page.get_by_test_id("lease-row")
    row.wait_for()  # the list refreshed (HX-Trigger: leases-changed)
    assert "Ascend-910B" in row.inner_text()
    assert row.get_by_test_id("lease-status").inner_text() == "Active"
    console.check()
    lease = Lease.objects.get(tenant=people.tenant)
    assert (lease.kind, lease.status, lease.card_count) == ("short", "active", 2)

    row.get_by_test_id("stop").click()
    page.wait_for_function(
        "document.querySelector('[data-testid=lease-status]').innerText.trim() === 'Ended'"
    )
    assert page.get_by_test_id("stop").count() == 0
    console.check()
    lease.refresh_from_db()
    assert lease.status == "ended"
