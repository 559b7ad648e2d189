import pytest

from accounts.models import Tenant

pytestmark = pytest.mark.django_db


def test_malformed_json_is_a_400_and_writes_nothing(operator_client) -> None:
    response = operator_client.post(
        "/api/v1/tenants/", data='{"name": "Broken', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"
    assert not Tenant.objects.exists()


def test_unknown_fields_are_rejected_by_name(operator_client) -> None:
    response = operator_client.post(
        "/api/v1/tenants/", {"name": "Acme", "colour": "blue"}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"] == {"colour": ["Unknown field."]}
    assert not Tenant.objects.exists()


def test_wrong_types_name_the_field(operator_client) -> None:
    response = operator_client.post(
        "/api/v1/tenants/", {"name": "Acme", "category": "galactic"}, format="json"
    )
    assert response.status_code == 400
    assert "category" in response.json()["error"]["fields"]
    assert not Tenant.objects.exists()


def test_a_json_list_instead_of_an_object_is_a_400(operator_client) -> None:
    response = operator_client.post("/api/v1/tenants/", [1, 2], format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_a_duplicate_is_a_409_on_its_field(operator_client) -> None:
    assert (
        operator_client.post("/api/v1/tenants/", {"name": "Acme"}, format="json").status_code == 201
    )
    response = operator_client.post("/api/v1/tenants/", {"name": "Acme"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "duplicate"
    assert "name" in response.json()["error"]["fields"]
    assert Tenant.objects.count() == 1


def test_an_unknown_path_is_a_404(operator_client) -> None:
    assert operator_client.get("/api/v1/tenants/999999/").status_code == 404


def test_a_wrong_method_is_a_405_in_the_error_shape(operator_client) -> None:
    response = operator_client.delete("/api/v1/me/")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_an_unknown_path_is_a_json_404(tenant_client) -> None:
    response = tenant_client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "not_found", "message": "No such path.", "fields": {}}
    }
