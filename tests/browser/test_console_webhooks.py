"""The Webhooks page in Chromium: a tenant user adds an endpoint (a real receiver on 127.0.0.1),
copies the secret shown once, sees a lease's event delivered and signed, retries a failed
delivery, rotates the secret; staff see the event on the Events page; the page in Chinese."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from standardwebhooks.webhooks import Webhook

from events.models import Delivery, WebhookEndpoint
from events.services import delivery_attempt
from leasing.services import lease_create
from tests.browser.conftest import Console, People
from tests.events.conftest import Receiver, serving
from tests.factories import CardModelFactory, RackFactory, make_server_with_cards


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving() as r:
        yield r


def test_a_tenant_adds_an_endpoint_and_follows_its_deliveries(
    console: Console, people: People, receiver: Receiver
) -> None:
    model = CardModelFactory(name="Ascend-910B", hourly_rate=Decimal("7.5000"))
    make_server_with_cards(RackFactory(), model, cards=8)
    console.login(people.tenant_user.username)
    page = console.page
    page.click("nav.mainnav >> text=Webhooks")
    page.wait_for_url("**/console/webhooks/")
    console.check()
    assert page.get_by_test_id("no-endpoints").is_visible()

    page.fill("#id_url", receiver.url)
    page.fill("#id_description", "Scheduler")
    page.get_by_label("Lease created").check()
    page.get_by_label("Lease ended").check()
    console.submit("[data-testid=create-endpoint]")
    secret = page.get_by_test_id("secret").input_value()
    endpoint = WebhookEndpoint.objects.get()
    assert secret == endpoint.secret and endpoint.event_types == ["lease.created", "lease.ended"]
    assert page.get_by_test_id("endpoint-row").count() == 1

    lease_create(
        actor=people.tenant_user, tenant=people.tenant, kind="short", card_model=model,
        card_count=2,
    )  # fmt: skip
    delivery = Delivery.objects.get()
    assert delivery_attempt(delivery_id=delivery.pk) == "delivered"
    headers, body, _ = receiver.received[0]
    assert Webhook(secret).verify(body, headers)["type"] == "lease.created"

    page.get_by_test_id("endpoint-row").get_by_role("link").click()
    page.wait_for_url(f"**/console/webhooks/{endpoint.pk}/")
    row = page.get_by_test_id("delivery-row")
    assert row.get_by_test_id("delivery-status").inner_text() == "Delivered"
    assert "lease.created" in row.inner_text()
    console.check()

    Delivery.objects.filter(pk=delivery.pk).update(status="failed", attempts=8)
    page.reload()
    console.submit("[data-testid=retry]")
    expect(page.locator(".messages")).to_contain_text("tried again")
    assert page.get_by_test_id("delivery-status").inner_text() == "Pending"

    page.get_by_test_id("rotate").click()  # not confirmed: the browser asks for the tick first
    assert page.locator("#id_confirm:invalid").count() == 1
    assert WebhookEndpoint.objects.get().secret == secret
    page.get_by_label("I understand the current secret stops working at once.").check()
    console.submit("[data-testid=rotate]")
    new = page.get_by_test_id("secret").input_value()
    assert new != secret and new == WebhookEndpoint.objects.get().secret

    console.goto(f"/console/webhooks/{endpoint.pk}/")
    console.submit("form.lang button[value=zh-hans]")
    assert page.get_by_role("heading", name="投递记录").is_visible()
    assert page.get_by_test_id("rotate").inner_text() == "轮换密钥"


def test_staff_see_events_by_type(console: Console, people: People) -> None:
    model = CardModelFactory(name="Ascend-910B", hourly_rate=Decimal("7.5000"))
    make_server_with_cards(RackFactory(), model, cards=8)
    lease_create(
        actor=people.tenant_user, tenant=people.tenant, kind="short", card_model=model,
        card_count=1,
    )  # fmt: skip
    console.login(people.operator.username)
    page = console.page
    page.click("nav.mainnav >> text=Events")
    page.wait_for_url("**/console/events/")
    console.check()
    assert page.get_by_test_id("event-type").inner_text() == "lease.created"
    assert "Zhiyuan AI Lab" in page.get_by_test_id("event-row").inner_text()
    page.select_option("#id_type", "lease.ended")
    console.submit("[data-testid=filter]")
    assert page.get_by_test_id("no-events").is_visible()
