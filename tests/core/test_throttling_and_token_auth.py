import uuid

import pytest

from core.roles import Role

pytestmark = pytest.mark.django_db


def test_requests_over_the_rate_get_a_429_with_retry_after(tenant_client, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "3/min"},
    }
    # A fresh identity for the window: tokens are unique per test run.
    statuses = [tenant_client.get("/api/v1/me/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = tenant_client.get("/api/v1/me/")
    assert response.json()["error"]["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60


def test_token_and_user_cost_one_query(tenant_client, django_assert_num_queries):
    tenant_client.get("/api/v1/me/")
    # the token, its user and the user's tenant in one joined query; /me/ needs nothing more
    with django_assert_num_queries(1):
        assert tenant_client.get("/api/v1/me/").status_code == 200


def test_a_deleted_token_stops_working_on_the_next_request(tenant_client, tenant_user):
    assert tenant_client.get("/api/v1/me/").status_code == 200
    tenant_user.auth_token_set.all().delete()
    response = tenant_client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_deactivated_user_is_refused_on_the_next_request(tenant_client, tenant_user):
    assert tenant_client.get("/api/v1/me/").status_code == 200
    tenant_user.is_active = False
    tenant_user.save(update_fields=["is_active"])
    assert tenant_client.get("/api/v1/me/").status_code == 401


def test_a_demoted_admin_loses_the_test_clock_on_the_next_request(
    admin_client_api, admin_user, settings
):
    settings.TEST_CLOCK = True
    assert admin_client_api.get("/api/v1/test-clock/").status_code == 200
    admin_user.role = Role.OPERATOR
    admin_user.is_staff = admin_user.is_superuser = False
    admin_user.save(update_fields=["role", "is_staff", "is_superuser"])
    response = admin_client_api.post(
        "/api/v1/test-clock/", {"now": "2027-01-01T00:00:00Z"}, format="json"
    )
    assert response.status_code == 403


def test_a_made_up_token_is_never_cached(settings):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {uuid.uuid4().hex}")
    assert client.get("/api/v1/me/").status_code == 401
    assert client.get("/api/v1/me/").status_code == 401
