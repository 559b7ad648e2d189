"""Leases in the admin: visible, never edited there; staff cancel a reservation through the
service (its rules, event and audit), as an admin action."""

import datetime as dt

import pytest
from django.test import Client

from core.models import AuditLog
from leasing.models import Allocation, Lease, LeaseEvent
from tests.leasing.conftest import long_body

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/leasing/lease/"


@pytest.fixture
def admin_site(admin_user, frozen_now) -> Client:  # logged in at the frozen time
    client = Client()
    client.force_login(admin_user, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.fixture
def reserved(tenant_client, model, fleet, frozen_now) -> Lease:
    response = tenant_client.post("/api/v1/leases/", long_body(model), format="json")
    assert response.status_code == 201, response.json()
    lease = Lease.objects.get(pk=response.json()["id"])
    assert lease.status == "reserved"
    return lease


def test_an_admin_cannot_change_a_leases_dates_or_delete_it(admin_site, reserved) -> None:
    page = f"{CHANGELIST}{reserved.pk}/change/"
    assert admin_site.get(CHANGELIST).status_code == 200
    assert admin_site.get(page).status_code == 200  # the detail, read-only
    data = {
        "tenant": reserved.tenant_id, "kind": reserved.kind, "card_model": reserved.card_model_id,
        "card_count": reserved.card_count, "status": "active", "start_0": "2027-01-01",
        "start_1": "00:00:00", "unit_price": "1.0000",
    }  # fmt: skip
    assert admin_site.post(page, data).status_code == 403
    assert admin_site.post(f"{CHANGELIST}{reserved.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin_site.get(f"{CHANGELIST}add/").status_code == 403
    fresh = Lease.objects.get(pk=reserved.pk)
    assert (fresh.start, fresh.status, fresh.unit_price) == (
        reserved.start, reserved.status, reserved.unit_price,
    )  # fmt: skip


def test_the_cancel_action_asks_a_reason_then_calls_the_service(
    admin_site, admin_user, reserved
) -> None:
    select = {"action": "cancel", "_selected_action": [reserved.pk]}
    confirm = admin_site.post(CHANGELIST, select)
    assert confirm.status_code == 200  # the reason page; nothing changed yet
    assert Lease.objects.get(pk=reserved.pk).status == "reserved"
    assert admin_site.post(CHANGELIST, {**select, "apply": "1", "reason": ""}).status_code == 200
    assert Lease.objects.get(pk=reserved.pk).status == "reserved"  # a reason is required
    done = admin_site.post(CHANGELIST, {**select, "apply": "1", "reason": "duplicate order"})
    assert done.status_code == 302
    assert Lease.objects.get(pk=reserved.pk).status == "cancelled"
    assert not Allocation.objects.filter(lease=reserved).exists()
    event = LeaseEvent.objects.filter(lease=reserved).latest("id")
    assert (event.to_status, event.reason) == ("cancelled", "duplicate order")
    assert event.actor == admin_user
    audit = AuditLog.objects.filter(action="lease.cancel", object_id=str(reserved.pk)).get()
    assert audit.actor == admin_user


def test_the_service_refusing_is_reported_and_changes_nothing(
    admin_site, reserved, frozen_now
) -> None:
    frozen_now.shift(dt.timedelta(days=10))  # the lease has started
    select = {"action": "cancel", "_selected_action": [reserved.pk], "apply": "1", "reason": "x"}
    response = admin_site.post(CHANGELIST, select, follow=True)
    assert "has started" in response.content.decode()
    assert Lease.objects.get(pk=reserved.pk).status == "reserved"
