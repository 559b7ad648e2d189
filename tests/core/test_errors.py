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


def test_json_nested_too_deeply_is_a_400(operator_client) -> None:
    body = "[" * 100_000 + "]" * 100_000
    response = operator_client.generic(
        "POST", "/api/v1/sites/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


@pytest.mark.parametrize("site", ["1.5", "true", str(10**40)])
def test_an_id_is_a_whole_number_not_anything_that_rounds_to_one(operator_client, site) -> None:
    from tests.factories import SiteFactory

    SiteFactory()
    response = operator_client.generic(
        "POST", "/api/v1/racks/", f'{{"site": {site}, "name": "R9", "power_kw": "10"}}',
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 400, response.json()
    assert "site" in response.json()["error"]["fields"]


def test_a_huge_integer_is_a_400_not_a_database_error(operator_client) -> None:
    body = {"vendor": "X", "name": "Y", "memory_gb": 10**40, "bf16_tflops": "1.00",
            "domestic": False, "hourly_rate": "1.0000", "monthly_rate": "1.0000"}  # fmt: skip
    response = operator_client.post("/api/v1/card-models/", body, format="json")
    assert response.status_code == 400
    assert "memory_gb" in response.json()["error"]["fields"]


def test_an_idempotent_retry_may_reorder_and_respace_its_json(operator_client) -> None:
    def post(text: str):
        return operator_client.generic(
            "POST", "/api/v1/sites/", text, content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="site-1",
        )  # fmt: skip

    first = post('{"code": "YC9", "name": "Yichang"}')
    assert first.status_code == 201, first.json()
    again = post('{ "name":"Yichang","code":"YC9" }')
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert post('{"code": "YC9", "name": "Other"}').status_code == 422


def test_a_wrong_choice_lists_the_valid_ones(db, tenant_client) -> None:
    body = {"kind": "long", "card_model": 1, "card_count": 1, "term_months": 18}
    error = tenant_client.post("/api/v1/leases/", body, format="json").json()["error"]
    assert error["fields"]["term_months"] == [
        '"18" is not a valid choice; must be one of 12, 24, 36, 48, 60.'
    ]


def test_model_choice_fields_list_their_choices_too(db, operator_client) -> None:
    site = operator_client.post("/api/v1/sites/", {"name": "S", "code": "s1"}, format="json")
    rack = operator_client.post(
        "/api/v1/racks/", {"site": site.json()["id"], "name": "r", "status": "gone"}, format="json"
    ).json()["error"]
    assert rack["fields"]["status"] == [
        '"gone" is not a valid choice; must be one of planned, racked, decommissioned.'
    ]


def test_a_filter_value_outside_its_choices_names_the_valid_ones(operator_client) -> None:
    response = operator_client.get("/api/v1/leases/", {"status": "foo"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    (message,) = error["fields"]["status"]
    assert message.startswith('"foo" is not a valid choice; must be one of ')
    assert "reserved" in message and "terminated" in message
