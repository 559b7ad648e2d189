import uuid

import pytest

from core.authentication import clear_token_cache

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


def test_a_seen_token_is_served_from_the_cache(tenant_client, django_assert_num_queries):
    clear_token_cache()
    tenant_client.get("/api/v1/me/")
    # /me/ for a tenant user reads the user with its tenant: one query, none for the token.
    with django_assert_num_queries(1):
        assert tenant_client.get("/api/v1/me/").status_code == 200


def test_without_the_cache_a_deleted_token_stops_working_at_once(
    tenant_client, tenant_user, settings
):
    settings.TOKEN_CACHE_SECONDS = 0
    clear_token_cache()
    assert tenant_client.get("/api/v1/me/").status_code == 200
    tenant_user.auth_token.delete()
    assert tenant_client.get("/api/v1/me/").status_code == 401


def test_a_made_up_token_is_never_cached(settings):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {uuid.uuid4().hex}")
    assert client.get("/api/v1/me/").status_code == 401
    assert client.get("/api/v1/me/").status_code == 401
