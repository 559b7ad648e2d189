import pytest
from rest_framework.test import APIClient

from core.roles import Role

pytestmark = pytest.mark.django_db


def test_me_with_a_token_shows_user_role_and_tenant(tenant_client, tenant_user) -> None:
    response = tenant_client.get("/api/v1/me/")
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == tenant_user.username
    assert body["role"] == "tenant"
    assert body["tenant"]["id"] == tenant_user.tenant_id
    assert set(body["tenant"]) >= {"id", "name", "category", "tax_id", "billing_address"}


def test_me_with_a_session_login(tenant_user) -> None:
    client = APIClient()
    login = client.post(
        "/api-auth/login/",
        {"username": tenant_user.username, "password": "secret-pass"},
        format="multipart",
    )
    assert login.status_code == 302
    response = client.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["username"] == tenant_user.username


def test_staff_me_has_no_tenant(operator_client) -> None:
    body = operator_client.get("/api/v1/me/").json()
    assert body["role"] == "operator"
    assert body["tenant"] is None


def test_missing_credentials_are_a_401_in_the_error_shape() -> None:
    response = APIClient().get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Token")


def test_a_wrong_token_is_a_401_in_the_error_shape() -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_tenant_user_cannot_create_tenants(tenant_client) -> None:
    response = tenant_client.post("/api/v1/tenants/", {"name": "Sneaky"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.FINANCE, Role.ADMIN])
def test_staff_can_create_tenants(make_user, make_client, role) -> None:
    client = make_client(make_user(role))
    response = client.post(
        "/api/v1/tenants/", {"name": f"New {role}", "category": "sme"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["category"] == "sme"


def test_tenant_list_is_scoped_for_tenant_users(tenant_client, tenant_user, make_user) -> None:
    other = make_user(Role.TENANT)
    body = tenant_client.get("/api/v1/tenants/").json()
    assert [row["id"] for row in body["results"]] == [tenant_user.tenant_id]
    assert body["count"] == 1
    response = tenant_client.get(f"/api/v1/tenants/{other.tenant_id}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_staff_see_every_tenant(operator_client, make_user) -> None:
    a, b = make_user(Role.TENANT), make_user(Role.TENANT)
    ids = {row["id"] for row in operator_client.get("/api/v1/tenants/").json()["results"]}
    assert {a.tenant_id, b.tenant_id} <= ids
