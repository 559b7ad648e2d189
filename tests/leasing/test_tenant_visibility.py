"""What the operator paid, other tenants' figures and staff identities stay out of what tenants
read."""

import pytest

from leasing.models import LeaseEvent
from tests.billing.test_vouchers_api import PROGRAMME, grant
from tests.leasing.conftest import long_body, short_body

pytestmark = pytest.mark.django_db


def _post(client, path, body=None):
    return client.post(path, body or {}, format="json")


def test_tenants_never_see_capex_cost(tenant_client, operator_client, model, fleet, frozen_now):
    _post(tenant_client, "/api/v1/leases/", short_body(model))
    cards = tenant_client.get("/api/v1/cards/").json()["results"]
    assert cards
    assert all("capex_cost" not in card for card in cards)
    detail = tenant_client.get(f"/api/v1/cards/{cards[0]['id']}/").json()
    assert "capex_cost" not in detail
    staff = operator_client.get(f"/api/v1/cards/{cards[0]['id']}/").json()
    assert staff["capex_cost"] == "120000.00"


def test_tenants_see_no_programme_totals_across_tenants(
    finance_client, tenant_client, tenant, make_user
):
    programme = _post(finance_client, "/api/v1/voucher-programs/", PROGRAMME).json()
    other = make_user("tenant").tenant
    assert grant(finance_client, programme, other, "9000.00").status_code == 201
    assert grant(finance_client, programme, tenant, "1000.00").status_code == 201
    seen = tenant_client.get(f"/api/v1/voucher-programs/{programme['id']}/").json()
    assert "granted" not in seen
    listed = tenant_client.get("/api/v1/voucher-programs/").json()["results"]
    assert all("granted" not in row for row in listed)
    grants = tenant_client.get("/api/v1/voucher-grants/").json()["results"]
    assert [row["amount"] for row in grants] == ["1000.00"]
    staff = finance_client.get(f"/api/v1/voucher-programs/{programme['id']}/").json()
    assert staff["granted"] == "10000.00"


def test_staff_actors_appear_to_tenants_as_their_role(
    tenant_client, tenant_user, operator_client, operator, model, fleet, frozen_now
):
    lease = _post(tenant_client, "/api/v1/leases/", long_body(model)).json()
    response = _post(operator_client, f"/api/v1/leases/{lease['id']}/cancel/", {"reason": "typo"})
    assert response.status_code == 200
    actors = [e["actor"] for e in tenant_client.get(
        f"/api/v1/leases/{lease['id']}/events/").json()["results"]]  # fmt: skip
    assert actors == [tenant_user.username, "operator"]
    assert operator.username not in str(
        tenant_client.get(f"/api/v1/leases/{lease['id']}/events/").json()
    )
    staff = operator_client.get(f"/api/v1/leases/{lease['id']}/events/").json()["results"]
    assert [e["actor"] for e in staff] == [tenant_user.username, operator.username]
    assert LeaseEvent.objects.filter(lease_id=lease["id"], actor=operator).exists()


@pytest.mark.parametrize("path", ["/api/v1/reports/occupancy/", "/api/v1/reports/revenue/",
                                  "/api/v1/business-cases/", "/api/v1/inventory/capacity/",
                                  "/api/v1/racks/", "/api/v1/servers/"])  # fmt: skip
def test_tenants_cannot_read_fleet_wide_figures(tenant_client, path):
    response = tenant_client.get(f"{path}?from=2027-01-01&to=2027-01-31&group_by=site")
    assert response.status_code == 403
