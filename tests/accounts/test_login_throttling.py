"""Password logins are throttled (django-axes); API tokens are not affected."""

import pytest
from django.conf import settings
from django.test import Client

from core.roles import Role

pytestmark = pytest.mark.django_db


def _admin_login(client: Client, username: str, password: str):
    return client.post("/admin/login/", {"username": username, "password": password})


def test_wrong_admin_passwords_lock_the_login_out_even_for_the_right_one(make_user) -> None:
    make_user(Role.ADMIN, username="root", is_staff=True, is_superuser=True)
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _admin_login(client, "root", "wrong").status_code == 200  # the form again
    locked = _admin_login(client, "root", "wrong")
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "throttled"
    assert int(locked["Retry-After"]) > 0
    # the right password no longer gets in while locked
    assert _admin_login(client, "root", "secret-pass").status_code == 429


def test_session_logins_are_throttled_too(tenant_user) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/api-auth/login/", {"username": tenant_user.username, "password": "nope"})
    response = client.post(
        "/api-auth/login/", {"username": tenant_user.username, "password": "secret-pass"}
    )
    assert response.status_code == 429


def test_a_success_before_the_limit_resets_the_count(make_user) -> None:
    make_user(Role.ADMIN, username="root", is_staff=True, is_superuser=True)
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _admin_login(client, "root", "wrong")
    assert _admin_login(client, "root", "secret-pass").status_code == 302
    client.logout()
    assert _admin_login(client, "root", "wrong").status_code == 200


def test_a_locked_out_user_keeps_working_with_the_api_token(tenant_user, tenant_client) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        client.post("/api-auth/login/", {"username": tenant_user.username, "password": "nope"})
    assert tenant_client.get("/api/v1/me/").status_code == 200
