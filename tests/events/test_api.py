"""events/ and webhook-endpoints/: scoping, secrets shown once, refusals that write nothing."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from core.models import AuditLog
from core.roles import Role
from events.choices import DeliveryStatus
from events.models import Delivery, Event, WebhookEndpoint
from leasing.choices import LeaseKind
from leasing.services import lease_create, lease_stop
from tests.factories import (
    CardModelFactory,
    RackFactory,
    TenantFactory,
    UserFactory,
    api_key,
    make_server_with_cards,
)


@pytest.fixture
def w(db: None) -> dict[str, Any]:
    model = CardModelFactory(hourly_rate="7.5000", monthly_rate="3900.0000")
    make_server_with_cards(RackFactory(), model)
    a, b = TenantFactory(), TenantFactory()
    users = {
        "a": UserFactory(role=Role.TENANT, tenant=a),
        "b": UserFactory(role=Role.TENANT, tenant=b),
        "op": UserFactory(role=Role.OPERATOR),
    }
    clients = {}
    for name, user in users.items():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_key(user)}")
        clients[name] = client
    return {"model": model, "a": a, "b": b, "users": users, "c": clients}


def lease(w: dict[str, Any], who: str = "a", count: int = 1) -> Any:
    return lease_create(
        actor=w["users"][who], tenant=w[who], kind=LeaseKind.SHORT, card_model=w["model"],
        card_count=count,
    )  # fmt: skip


def test_the_secret_is_shown_at_creation_and_rotation_only(w) -> None:
    c = w["c"]["a"]
    made = c.post(
        "/api/v1/webhook-endpoints/",
        {"url": "https://hooks.example.com/in", "event_types": ["lease.created"]},
        format="json",
    )
    assert made.status_code == 201, made.json()
    body = made.json()
    assert body["secret"].startswith("whsec_") and body["tenant"] == w["a"].pk
    pk = body["id"]
    shown = c.get(f"/api/v1/webhook-endpoints/{pk}/").json()
    assert "secret" not in shown and shown["event_types"] == ["lease.created"]
    assert all("secret" not in row for row in c.get("/api/v1/webhook-endpoints/").json()["results"])
    rotated = c.post(f"/api/v1/webhook-endpoints/{pk}/rotate-secret/").json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != body["secret"]
    assert WebhookEndpoint.objects.get().secret == rotated["secret"]
    # the audit log never holds it
    assert not AuditLog.objects.filter(after__icontains="whsec_").exists()
    admin = APIClient()
    admin.credentials(HTTP_AUTHORIZATION=f"Token {api_key(UserFactory(role=Role.ADMIN))}")
    staff = admin.post("/api/v1/webhook-endpoints/", {"url": "https://h.example/s"})
    assert staff.status_code == 201 and staff.json()["tenant"] is None


@pytest.mark.parametrize(
    ("body", "field", "allow_private"),
    [
        ({"url": "http://hooks.example.com/in"}, "url", False),
        ({"url": "https://127.0.0.1/in"}, "url", False),
        ({"url": "https://10.1.2.3/in"}, "url", False),
        ({"url": "https://169.254.169.254/latest"}, "url", False),
        ({"url": "https://[::1]/in"}, "url", False),
        ({"url": "https://localhost/in"}, "url", False),
        ({"url": "ftp://hooks.example.com/in"}, "url", True),
        ({"url": "https://h.example/in", "event_types": ["lease.exploded"]}, "event_types", True),
        ({"url": "https://h.example/in", "event_types": "lease.created"}, "event_types", True),
        ({"url": "https://h.example/in", "active": "yes"}, "active", True),
    ],
)
def test_bad_input_is_an_error_body_and_writes_nothing(
    w, settings, body: dict[str, Any], field: str, allow_private: bool
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = allow_private
    audits = AuditLog.objects.count()
    response = w["c"]["a"].post("/api/v1/webhook-endpoints/", body, format="json")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] and error["message"] and field in error["fields"]
    assert WebhookEndpoint.objects.count() == 0 and AuditLog.objects.count() == audits


def test_a_private_url_is_allowed_with_the_setting(w, settings) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True
    response = w["c"]["a"].post("/api/v1/webhook-endpoints/", {"url": "http://127.0.0.1:9/x"})
    assert response.status_code == 201


def test_events_are_scoped_newest_first_and_filtered(w) -> None:
    mine = lease(w, "a")
    lease_stop(actor=w["users"]["a"], lease=mine)
    lease(w, "b")
    a_rows = w["c"]["a"].get("/api/v1/events/").json()["results"]
    assert [r["type"] for r in a_rows] == ["lease.ended", "lease.created"]  # newest first
    assert {r["tenant"] for r in a_rows} == {w["a"].pk}
    assert all(r["data"]["id"] == mine.pk for r in a_rows)
    assert len(w["c"]["op"].get("/api/v1/events/").json()["results"]) == 3
    ended = w["c"]["a"].get("/api/v1/events/?type=lease.ended").json()["results"]
    assert [r["type"] for r in ended] == ["lease.ended"]
    assert ended[0]["data"]["status"] == "ended"
    assert w["c"]["a"].get("/api/v1/events/?since=2999-01-01T00:00:00Z").json()["count"] == 0
    bad = w["c"]["a"].get("/api/v1/events/?type=lease.exploded")
    assert bad.status_code == 400 and "type" in bad.json()["error"]["fields"]
    theirs = Event.objects.get(tenant=w["b"])
    assert w["c"]["a"].get(f"/api/v1/events/{theirs.pk}/").status_code == 404
    assert w["c"]["a"].get("/api/v1/events/not-a-uuid/").status_code == 404


def test_tenant_b_never_sees_a_s_endpoints_or_deliveries(w) -> None:
    made = w["c"]["a"].post("/api/v1/webhook-endpoints/", {"url": "https://h.example/a"}).json()
    lease(w, "a")
    delivery = Delivery.objects.get()
    b = w["c"]["b"]
    base = f"/api/v1/webhook-endpoints/{made['id']}/"
    assert b.get("/api/v1/webhook-endpoints/").json()["count"] == 0
    assert b.get(base).status_code == 404
    assert b.get(base + "deliveries/").status_code == 404
    assert b.post(base + "rotate-secret/").status_code == 404
    assert b.patch(base, {"active": False}, format="json").status_code == 404
    assert b.post(base + f"deliveries/{delivery.pk}/retry/").status_code == 404
    rows = w["c"]["a"].get(base + "deliveries/").json()["results"]
    assert [(r["id"], r["event_type"], r["status"]) for r in rows] == [
        (delivery.pk, "lease.created", "pending")
    ]


def test_only_a_failed_delivery_is_retried(w) -> None:
    made = w["c"]["a"].post("/api/v1/webhook-endpoints/", {"url": "https://h.example/a"}).json()
    lease(w, "a")
    delivery = Delivery.objects.get()
    url = f"/api/v1/webhook-endpoints/{made['id']}/deliveries/{delivery.pk}/retry/"
    refused = w["c"]["a"].post(url)
    assert refused.status_code == 409 and refused.json()["error"]["code"]
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED, attempts=8)
    again = w["c"]["a"].post(url)
    assert again.status_code == 200 and again.json()["status"] == "pending"
    assert w["c"]["a"].post(f"/api/v1/webhook-endpoints/{made['id']}/deliveries/999999/retry/")\
        .status_code == 404  # fmt: skip


def test_turning_an_endpoint_back_on_clears_its_failures(w, settings) -> None:
    made = w["c"]["a"].post("/api/v1/webhook-endpoints/", {"url": "https://h.example/a"}).json()
    WebhookEndpoint.objects.filter(pk=made["id"]).update(active=False, disabled_reason="off")
    url = f"/api/v1/webhook-endpoints/{made['id']}/"
    back = w["c"]["a"].patch(url, {"active": True}, format="json").json()
    assert back["active"] and back["disabled_reason"] == ""
    settings.WEBHOOK_ALLOW_PRIVATE = False
    bad = w["c"]["a"].patch(url, {"url": "http://h.example/a"}, format="json")
    assert bad.status_code == 400
    assert WebhookEndpoint.objects.get().url == "https://h.example/a"


def test_as_api_shows_renders_a_serializer_as_the_api_does(w) -> None:
    from events.api.serializers import EventSerializer
    from events.services import as_api_shows

    lease(w, "a")
    event = Event.objects.select_related("tenant").get()
    shown = w["c"]["a"].get(f"/api/v1/events/{event.pk}/").json()
    assert as_api_shows(EventSerializer(event)) == shown


def test_staff_endpoints_are_the_admin_s_and_a_tenant_s_secret_stays_the_tenant_s(w) -> None:
    """A staff endpoint receives every tenant's events: only an admin makes or changes one
    (operator and finance read). Nobody but the tenant sees a tenant's secret: rotating it is
    the tenant's alone (a staff rotation would hand staff the key that signs the tenant's
    webhooks)."""
    admin = APIClient()
    admin.credentials(HTTP_AUTHORIZATION=f"Token {api_key(UserFactory(role=Role.ADMIN))}")
    finance = APIClient()
    finance.credentials(HTTP_AUTHORIZATION=f"Token {api_key(UserFactory(role=Role.FINANCE))}")
    op = w["c"]["op"]
    for client in (op, finance):
        refused = client.post("/api/v1/webhook-endpoints/", {"url": "https://h.example/s"})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert WebhookEndpoint.objects.count() == 0
    staff = admin.post("/api/v1/webhook-endpoints/", {"url": "https://h.example/s"}).json()
    theirs = w["c"]["a"].post("/api/v1/webhook-endpoints/", {"url": "https://h.example/a"}).json()
    for pk in (staff["id"], theirs["id"]):
        base = f"/api/v1/webhook-endpoints/{pk}/"
        for client in (op, finance):
            assert client.get(base).status_code == 200
            assert client.get(base + "deliveries/").status_code == 200
            assert client.patch(base, {"active": False}, format="json").status_code == 403
            assert client.post(base + "rotate-secret/").status_code == 403
    tenant_base = f"/api/v1/webhook-endpoints/{theirs['id']}/"
    refused = admin.post(tenant_base + "rotate-secret/")
    assert refused.status_code == 403 and "secret" not in refused.json()
    assert WebhookEndpoint.objects.get(pk=theirs["id"]).secret == theirs["secret"]
    assert admin.patch(tenant_base, {"active": False}, format="json").status_code == 200
    rotated = admin.post(f"/api/v1/webhook-endpoints/{staff['id']}/rotate-secret/")
    assert rotated.status_code == 200 and rotated.json()["secret"] != staff["secret"]


@pytest.mark.parametrize("rows", [1, 6])
def test_lists_are_a_fixed_number_of_queries(w, rows: int, django_assert_max_num_queries) -> None:
    from django.db import transaction

    from events.services import events_record

    c = w["c"]["a"]
    made = [
        c.post("/api/v1/webhook-endpoints/", {"url": f"https://h.example/{n}"}).json()
        for n in range(rows)
    ]
    with transaction.atomic():
        events_record(("lease.created", w["a"], {"id": n}) for n in range(rows))
    Delivery.objects.filter(endpoint_id=made[0]["id"]).update(status=DeliveryStatus.FAILED)
    for path in (
        "/api/v1/events/",
        "/api/v1/webhook-endpoints/",
        f"/api/v1/webhook-endpoints/{made[0]['id']}/deliveries/",
    ):
        with django_assert_max_num_queries(6):
            response = c.get(path)
        assert response.status_code == 200 and response.json()["count"] >= rows
    with django_assert_max_num_queries(6):
        assert w["c"]["op"].get("/api/v1/events/").json()["count"] >= rows


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::a9fe:a9fe",  # NAT64 (well-known prefix) of 169.254.169.254
        "64:ff9b:1::7f00:1",  # NAT64 (local-use prefix) of 127.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "::7f00:1",  # IPv4-compatible 127.0.0.1
    ],
)
def test_private_ipv4_addresses_inside_ipv6_ones_are_refused(
    w, settings, monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    """An IPv6 address that carries a private IPv4 one (NAT64, 6to4, IPv4-compatible) leads to
    that IPv4 address on a network that translates it: refused like the address itself."""
    from events import guard

    settings.WEBHOOK_ALLOW_PRIVATE = False
    monkeypatch.setattr(guard, "resolve", lambda host, port: [address])
    response = w["c"]["a"].post("/api/v1/webhook-endpoints/", {"url": "https://h.example/in"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "unsafe_url"
    monkeypatch.setattr(guard, "resolve", lambda host, port: ["64:ff9b::5db8:d822"])  # public
    assert w["c"]["a"].post("/api/v1/webhook-endpoints/", {"url": "https://h.example/in"})\
        .status_code == 201  # fmt: skip


def test_an_idempotent_creation_s_stored_answer_does_not_show_the_secret_in_the_admin(
    w, admin_user
) -> None:
    """The answer kept for an `Idempotency-Key` holds the secret (a replay gives it again, to
    the same caller); the admin's pages of those keys must not show it."""
    from django.test import Client

    from core.models import IdempotencyKey

    made = w["c"]["a"].post(
        "/api/v1/webhook-endpoints/", {"url": "https://h.example/a"}, HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert made.status_code == 201
    key = IdempotencyKey.objects.get(key="k-1")
    client = Client()
    client.force_login(admin_user, backend="django.contrib.auth.backends.ModelBackend")
    for url in (
        "/admin/core/idempotencykey/",
        f"/admin/core/idempotencykey/{key.pk}/change/",
    ):
        page = client.get(url)
        assert page.status_code == 200 and made.json()["secret"] not in page.content.decode()


def test_events_are_filtered_by_a_time_range(w) -> None:
    import datetime as dt

    from events.services import events_record

    t0 = dt.datetime(2027, 3, 10, 4, tzinfo=dt.UTC)
    with transaction_at(t0):
        events_record([("lease.created", w["a"], {"id": 1})])
    with transaction_at(t0 + dt.timedelta(hours=1)):
        events_record([("lease.ended", w["a"], {"id": 1})])
    c = w["c"]["a"]

    def types(**query: str) -> list[str]:
        response = c.get("/api/v1/events/", query)
        assert response.status_code == 200, response.json()
        return [r["type"] for r in response.json()["results"]]

    assert types(until="2027-03-10T04:30:00Z") == ["lease.created"]
    assert types(until="2027-03-10T12:30:00+08:00") == ["lease.created"]
    assert types(until="2027-03-10T05:00:00Z") == ["lease.created"]  # the bound is out
    assert types(since="2027-03-10T04:30:00Z") == ["lease.ended"]
    both = types(since="2027-03-10T03:00:00Z", until="2027-03-10T05:00:01Z")
    assert both == ["lease.ended", "lease.created"]
    for bad in ("until=yesterday", "until=99999-01-01T00:00:00Z"):
        response = c.get(f"/api/v1/events/?{bad}")
        assert response.status_code == 400 and "until" in response.json()["error"]["fields"]


def transaction_at(instant: Any) -> Any:
    import contextlib

    import time_machine
    from django.db import transaction

    @contextlib.contextmanager
    def block() -> Any:
        with time_machine.travel(instant, tick=False), transaction.atomic():
            yield

    return block()
