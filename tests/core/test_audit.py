import pytest

from core.models import AuditLog

pytestmark = pytest.mark.django_db


def test_a_create_and_an_update_are_audit_logged_with_before_and_after(
    operator_client, operator
) -> None:
    created = operator_client.post("/api/v1/tenants/", {"name": "Acme"}, format="json").json()
    operator_client.patch(f"/api/v1/tenants/{created['id']}/", {"category": "sme"}, format="json")
    rows = list(AuditLog.objects.filter(object_type="accounts.Tenant").order_by("id"))
    assert [row.action for row in rows] == ["tenant.create", "tenant.update"]
    assert all(row.actor_id == operator.pk for row in rows)
    created_row, updated_row = rows
    assert created_row.before is None
    assert created_row.after is not None and created_row.after["name"] == "Acme"
    assert updated_row.before is not None and updated_row.before["category"] == "enterprise"
    assert updated_row.after is not None and updated_row.after["category"] == "sme"
    assert rows[1].object_id == str(created["id"])


def test_a_rejected_write_leaves_no_audit_row(operator_client) -> None:
    before = AuditLog.objects.count()  # the operator's token was issued (and audited) already
    response = operator_client.post(
        "/api/v1/tenants/", {"name": "Acme", "category": "x"}, format="json"
    )
    assert response.status_code == 400
    assert AuditLog.objects.count() == before
