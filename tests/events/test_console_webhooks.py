"""The Webhooks page (tenant users) and the Events page (staff) without a browser: scoping,
the secret shown once, refusals in words that write nothing, retries, constant query counts."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from core.roles import Role
from events.choices import DeliveryStatus
from events.models import Delivery, Event, WebhookEndpoint
from events.services import endpoint_create, events_record
from tests.factories import TenantFactory, UserFactory

pytestmark = pytest.mark.django_db

WEBHOOKS = reverse("events-console:webhooks")
EVENTS = reverse("events-console:events")


@pytest.fixture
def people() -> dict[str, Any]:
    a, b = TenantFactory(name="Zhiyuan AI Lab"), TenantFactory(name="Other Co")
    users = {
        "a": UserFactory(role=Role.TENANT, tenant=a),
        "b": UserFactory(role=Role.TENANT, tenant=b),
        "op": UserFactory(role=Role.OPERATOR),
    }
    clients = {}
    for name, user in users.items():
        client = Client()
        client.force_login(user)
        clients[name] = client
    return {"a": a, "b": b, "c": clients, "anon": Client()}


def _events(tenant: Any, count: int, kind: str = "lease.created") -> None:
    events_record((kind, tenant, {"id": n, "status": "active"}) for n in range(count))


def test_creating_an_endpoint_shows_its_secret_once(people) -> None:
    c = people["c"]["a"]
    response = c.post(
        WEBHOOKS,
        {
            "url": "https://hooks.example.com/in",
            "description": "ERP",
            "event_types": ["lease.ended"],
        },
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.tenant == people["a"] and endpoint.event_types == ["lease.ended"]
    assert endpoint.secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]  # not kept by the browser to show again
    again = c.get(WEBHOOKS)
    assert endpoint.secret not in again.content.decode()
    assert [e.pk for e in again.context["endpoints"]] == [endpoint.pk]
    assert people["c"]["b"].get(WEBHOOKS).context["endpoints"] == []


def test_a_refused_url_is_said_next_to_the_field_and_writes_nothing(people, settings) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = False
    response = people["c"]["a"].post(WEBHOOKS, {"url": "https://127.0.0.1/in"})
    assert response.status_code == 200
    assert response.context["form"].errors["url"]
    assert "public addresses only" in response.content.decode()
    response = people["c"]["a"].post(WEBHOOKS, {"url": "http://hooks.example.com/in"})
    assert "https" in str(response.context["form"].errors["url"])
    response = people["c"]["a"].post(WEBHOOKS, {"url": "https://h.example/", "event_types": ["x"]})
    assert response.context["form"].errors["event_types"]
    assert WebhookEndpoint.objects.count() == 0


def test_roles_and_another_tenants_endpoint(people) -> None:
    endpoint = endpoint_create(actor=None, tenant=people["a"], url="https://h.example/a")
    page = reverse("events-console:endpoint", args=[endpoint.pk])
    assert people["c"]["a"].get(page).status_code == 200
    assert people["c"]["b"].get(page).status_code == 404
    assert people["c"]["b"].post(reverse("events-console:rotate", args=[endpoint.pk]),
                                 {"confirm": "on"}).status_code == 404  # fmt: skip
    assert people["c"]["op"].get(WEBHOOKS).status_code == 403
    assert people["anon"].get(WEBHOOKS).status_code == 302
    assert people["c"]["a"].get(EVENTS).status_code == 403
    assert people["c"]["op"].get(EVENTS).status_code == 200
    assert WebhookEndpoint.objects.get().secret == endpoint.secret


def test_rotating_asks_for_confirmation_then_shows_the_new_secret_once(people) -> None:
    endpoint = endpoint_create(actor=None, tenant=people["a"], url="https://h.example/a")
    url = reverse("events-console:rotate", args=[endpoint.pk])
    unconfirmed = people["c"]["a"].post(url, {})
    assert unconfirmed.context["rotate_form"].errors["confirm"]
    assert WebhookEndpoint.objects.get().secret == endpoint.secret
    confirmed = people["c"]["a"].post(url, {"confirm": "on"})
    new = WebhookEndpoint.objects.get().secret
    assert new != endpoint.secret and new in confirmed.content.decode()
    assert "no-store" in confirmed["Cache-Control"]


def test_a_failed_delivery_is_retried_and_a_delivered_one_is_refused_in_words(people) -> None:
    endpoint = endpoint_create(actor=None, tenant=people["a"], url="https://h.example/a")
    _events(people["a"], 2)
    failed, delivered = Delivery.objects.order_by("id")
    Delivery.objects.filter(pk=failed.pk).update(status=DeliveryStatus.FAILED, attempts=8)
    Delivery.objects.filter(pk=delivered.pk).update(status=DeliveryStatus.DELIVERED, attempts=1)
    c = people["c"]["a"]
    retry = reverse("events-console:retry", args=[endpoint.pk, failed.pk])
    done = c.post(retry, follow=True)
    assert "tried again" in done.content.decode()
    assert Delivery.objects.get(pk=failed.pk).status == DeliveryStatus.PENDING
    refused = c.post(reverse("events-console:retry", args=[endpoint.pk, delivered.pk]), follow=True)
    assert "Only failed deliveries are retried" in refused.content.decode()
    assert Delivery.objects.get(pk=delivered.pk).status == DeliveryStatus.DELIVERED
    other = endpoint_create(actor=None, tenant=people["b"], url="https://h.example/b")
    assert c.post(reverse("events-console:retry", args=[other.pk, failed.pk])).status_code == 404
    assert c.post(reverse("events-console:retry", args=[endpoint.pk, 999999])).status_code == 404


def test_turning_an_endpoint_off_and_on(people) -> None:
    endpoint = endpoint_create(actor=None, tenant=people["a"], url="https://h.example/a")
    toggle = reverse("events-console:toggle", args=[endpoint.pk])
    people["c"]["a"].post(toggle)
    assert not WebhookEndpoint.objects.get().active
    people["c"]["a"].post(toggle)
    assert WebhookEndpoint.objects.get().active


def test_a_repeated_turn_off_leaves_the_endpoint_off(people) -> None:
    """The page's button says which state it asks for: a double click, or the button of a
    page opened in another tab, does not turn the endpoint back on."""
    endpoint = endpoint_create(actor=None, tenant=people["a"], url="https://h.example/a")
    page = people["c"]["a"].get(reverse("events-console:endpoint", args=[endpoint.pk]))
    assert 'name="active" value="false"' in page.content.decode()
    toggle = reverse("events-console:toggle", args=[endpoint.pk])
    for _ in range(2):
        assert people["c"]["a"].post(toggle, {"active": "false"}).status_code == 302
        assert not WebhookEndpoint.objects.get().active
    people["c"]["a"].post(toggle, {"active": "true"})
    people["c"]["a"].post(toggle, {"active": "true"})
    assert WebhookEndpoint.objects.get().active


def test_the_events_page_filters_by_type(people) -> None:
    _events(people["a"], 2)
    _events(people["b"], 1, "lease.ended")
    page = people["c"]["op"].get(EVENTS)
    assert len(page.context["page"].object_list) == 3
    ended = people["c"]["op"].get(EVENTS, {"type": "lease.ended"})
    assert [e.type for e in ended.context["page"].object_list] == ["lease.ended"]
    assert "Other Co" in ended.content.decode()


@pytest.mark.parametrize("rows", [3, 30])
def test_each_page_is_a_fixed_number_of_queries(
    people, rows: int, django_assert_max_num_queries: Any
) -> None:
    endpoints = [
        endpoint_create(actor=None, tenant=people["a"], url=f"https://h.example/{n}")
        for n in range(rows // 3)
    ]
    _events(people["a"], rows)
    assert Event.objects.count() == rows
    c, op = people["c"]["a"], people["c"]["op"]
    with django_assert_max_num_queries(8):
        assert c.get(WEBHOOKS).status_code == 200
    with django_assert_max_num_queries(9):
        assert c.get(reverse("events-console:endpoint", args=[endpoints[0].pk])).status_code == 200
    with django_assert_max_num_queries(8):
        assert op.get(EVENTS).status_code == 200


def test_an_endpoint_turned_off_for_its_failures_says_so_in_the_page_s_language(people) -> None:
    """The reason kept with the endpoint is the API's (English); the pages say it in their own
    language, with the day its failures began."""
    import datetime as dt

    endpoint = endpoint_create(actor=None, tenant=people["a"], url="https://h.example/a")
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        active=False,
        failing_since=dt.datetime(2027, 3, 7, 2, tzinfo=dt.UTC),
        disabled_reason="Disabled on 2027-03-10: every delivery attempt failed since 2027-03-07.",
    )
    client = people["c"]["a"]
    client.cookies["django_language"] = "zh-hans"
    for url in (WEBHOOKS, reverse("events-console:endpoint", args=[endpoint.pk])):
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        assert "自 2027-03-07 起每次投递均失败，已自动停用。" in page
        assert "Disabled on" not in page
