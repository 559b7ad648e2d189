"""API tokens are stored hashed, expire, can be revoked, and can be had for a password (which
django-axes throttles)."""

import datetime as dt
import importlib
import io

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from knox.crypto import hash_token
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import token_issue, token_revoke, tokens_purge_expired
from core.models import AuditLog
from core.roles import Role
from tests.factories import api_key

pytestmark = pytest.mark.django_db


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _token_request(username: str, password: str):
    return APIClient().post(
        "/api/v1/auth/token/", {"username": username, "password": password}, format="json"
    )


def test_only_a_digest_of_the_key_is_stored(tenant_user) -> None:
    key = api_key(tenant_user)
    (row,) = AuthToken.objects.filter(user=tenant_user)
    assert row.digest == hash_token(key) != key
    assert row.token_key == key[:15]  # the lookup prefix, never the whole key
    assert not AuthToken.objects.filter(digest=key).exists()
    assert not AuthToken.objects.filter(token_key=key).exists()


def test_a_token_expires_after_the_setting_and_is_then_a_401(tenant_user, settings) -> None:
    settings.API_TOKEN_TTL_DAYS = 7
    issued = token_issue(actor=None, user=tenant_user)
    assert issued.expiry is not None
    lifetime = issued.expiry - timezone.now()
    assert dt.timedelta(days=7) - dt.timedelta(minutes=1) < lifetime <= dt.timedelta(days=7)
    client = _client(issued.key)
    assert client.get("/api/v1/me/").status_code == 200
    AuthToken.objects.filter(digest=issued.token.digest).update(
        expiry=timezone.now() - dt.timedelta(seconds=1)
    )
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_expired"
    assert response["WWW-Authenticate"].startswith("Token")


def test_a_revoked_token_is_a_401_on_the_next_request_and_the_revocation_is_audited(
    tenant_user,
) -> None:
    issued = token_issue(actor=None, user=tenant_user)
    client = _client(issued.key)
    assert client.get("/api/v1/me/").status_code == 200
    token_revoke(actor=tenant_user, token=issued.token)
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    audit = AuditLog.objects.get(action="token.revoke")
    assert audit.actor_id == tenant_user.pk
    assert audit.object_id == issued.key[:15]
    assert issued.key not in str(audit.before)


def test_a_wrong_key_with_a_known_prefix_is_refused(tenant_user) -> None:
    key = api_key(tenant_user)
    forged = key[:15] + ("0" if key[15] != "0" else "1") + key[16:]
    assert _client(forged).get("/api/v1/me/").status_code == 401


def test_a_password_gets_a_working_token_with_its_expiry(tenant_user) -> None:
    response = _token_request(tenant_user.username, "secret-pass")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {"token", "expiry"}
    expiry = dt.datetime.fromisoformat(body["expiry"])
    assert expiry - timezone.now() > dt.timedelta(days=settings.API_TOKEN_TTL_DAYS - 1)
    me = _client(body["token"]).get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json()["username"] == tenant_user.username
    issue = AuditLog.objects.filter(action="token.issue", actor_id=tenant_user.pk).get()
    assert issue.object_id == body["token"][:15]
    assert body["token"] not in str(issue.after)


@pytest.mark.parametrize(
    ("username", "password"), [("user-x", "secret-pass"), ("known", "wrong-pass")]
)
def test_a_wrong_username_or_password_is_a_401(make_user, username, password) -> None:
    make_user(Role.OPERATOR, username="known")
    response = _token_request(username, password)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert AuthToken.objects.filter(user__username="known").count() == 1  # the factory's only


def test_an_inactive_user_gets_no_token(tenant_user) -> None:
    tenant_user.is_active = False
    tenant_user.save(update_fields=["is_active"])
    assert _token_request(tenant_user.username, "secret-pass").status_code == 401


def test_token_requests_are_throttled_like_every_password_login(tenant_user) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _token_request(tenant_user.username, "nope").status_code == 401
    locked = _token_request(tenant_user.username, "nope")
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "throttled"
    assert int(locked["Retry-After"]) > 0
    # the right password gets no token while locked out
    assert _token_request(tenant_user.username, "secret-pass").status_code == 429
    assert AuthToken.objects.filter(user=tenant_user).count() == 1  # the factory's only


def test_logout_revokes_only_the_token_it_came_with(tenant_user) -> None:
    first = _client(api_key(tenant_user))
    second = _client(token_issue(actor=None, user=tenant_user).key)
    response = first.post("/api/v1/auth/logout/")
    assert response.status_code == 204
    assert first.get("/api/v1/me/").status_code == 401
    assert second.get("/api/v1/me/").status_code == 200
    assert AuditLog.objects.filter(action="token.revoke", actor_id=tenant_user.pk).count() == 1


def test_logout_all_revokes_every_own_token_and_no_one_elses(tenant_user, operator) -> None:
    first = _client(api_key(tenant_user))
    second = _client(token_issue(actor=None, user=tenant_user).key)
    response = first.post("/api/v1/auth/logout-all/")
    assert response.status_code == 200
    assert response.json() == {"revoked": 2}
    assert first.get("/api/v1/me/").status_code == 401
    assert second.get("/api/v1/me/").status_code == 401
    assert _client(api_key(operator)).get("/api/v1/me/").status_code == 200
    audit = AuditLog.objects.get(action="token.revoke_all")
    assert (audit.actor_id, audit.after) == (tenant_user.pk, {"revoked": 2})


def test_logout_without_a_token_is_refused(tenant_user) -> None:
    assert APIClient().post("/api/v1/auth/logout/").status_code == 401
    session = APIClient()
    session.force_login(tenant_user, backend="django.contrib.auth.backends.ModelBackend")
    response = session.post("/api/v1/auth/logout/")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert AuthToken.objects.filter(user=tenant_user).count() == 1


def test_the_purge_deletes_expired_tokens_only(tenant_user) -> None:
    live = token_issue(actor=None, user=tenant_user)
    old = token_issue(actor=None, user=tenant_user)
    AuthToken.objects.filter(digest=old.token.digest).update(expiry=timezone.now())
    assert tokens_purge_expired() == 1
    remaining = set(AuthToken.objects.filter(user=tenant_user).values_list("digest", flat=True))
    assert live.token.digest in remaining
    assert old.token.digest not in remaining
    assert tokens_purge_expired() == 0


def test_create_user_prints_a_working_token_of_the_asked_lifetime() -> None:
    out = io.StringIO()
    call_command(
        "create_user", "--username", "cli-op", "--role", "operator", "--token-ttl-days", "3",
        stdout=out,
    )  # fmt: skip
    key = out.getvalue().strip().splitlines()[-1]
    assert _client(key).get("/api/v1/me/").json()["username"] == "cli-op"
    (row,) = AuthToken.objects.filter(user__username="cli-op")
    assert row.expiry is not None
    assert dt.timedelta(days=2) < row.expiry - timezone.now() <= dt.timedelta(days=3)


def test_the_migration_hashes_existing_plain_tokens_so_their_keys_keep_working(
    tenant_user,
) -> None:
    """A database from before the move has DRF's `authtoken_token`: its keys become knox rows
    and the plain-text table goes."""
    migration = importlib.import_module("accounts.migrations.0004_api_tokens_hashed")
    old_key = "0123456789abcdef0123456789abcdef01234567"  # DRF's shape: 40 hex characters
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamptz,"
            " user_id bigint NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token VALUES (%s, now(), %s)", [old_key, tenant_user.pk]
        )
    with connection.schema_editor() as editor:
        migration.hash_plain_tokens(apps, editor)
    assert "authtoken_token" not in connection.introspection.table_names()
    row = AuthToken.objects.get(digest=hash_token(old_key))
    assert row.user_id == tenant_user.pk
    assert row.expiry is not None
    assert _client(old_key).get("/api/v1/me/").json()["username"] == tenant_user.username
    # a database without the old table (a new one) has nothing to move
    with connection.schema_editor() as editor:
        migration.hash_plain_tokens(apps, editor)


def test_user_create_returns_the_key_once(tenant) -> None:
    from accounts.services import user_create

    user, key = user_create(username="fresh", role=Role.TENANT, tenant=tenant)
    assert isinstance(user, User)
    assert _client(key).get("/api/v1/me/").status_code == 200
    assert not hasattr(user, "_api_key")


def test_the_admin_shows_tokens_read_only_and_revokes_through_the_service(
    admin_user, tenant_user
) -> None:
    from django.test import Client

    client = Client()
    client.force_login(admin_user, backend="django.contrib.auth.backends.ModelBackend")
    changelist = "/admin/knox/authtoken/"
    page = client.get(changelist)
    assert page.status_code == 200
    assert api_key(tenant_user)[:15] in page.content.decode()
    assert client.get(f"{changelist}add/").status_code == 403
    (token,) = AuthToken.objects.filter(user=tenant_user)
    response = client.post(
        changelist, {"action": "_revoke", "_selected_action": [token.pk]}, follow=True
    )
    assert response.status_code == 200
    assert not AuthToken.objects.filter(user=tenant_user).exists()
    audit = AuditLog.objects.get(action="token.revoke")
    assert audit.actor_id == admin_user.pk
    assert _client(api_key(tenant_user)).get("/api/v1/me/").status_code == 401
