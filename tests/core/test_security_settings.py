"""Production settings pass Django's deployment checks; HTTPS-only settings follow AIDC_ENV;
API answers are never stored by caches; the schema and docs are behind a login when
API_DOCS_PUBLIC is off."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from rest_framework.test import APIClient

from core.roles import Role

ROOT = Path(__file__).resolve().parents[2]


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    # a production process's environment: nothing of the test process's Django switches
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k != "DEBUG"}
    base["AIDC_DEV_ENV_FILE"] = "/nonexistent/dev.env"  # never a checkout's `make run` file
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        env={**base, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


# a deployment with its seller set (without one, billing.W001 says no invoice can be issued)
PRODUCTION = {
    "AIDC_ENV": "production",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "SELLER_TAX_ID": "91110000600037341L",
}


def test_production_settings_pass_check_deploy() -> None:
    result = _manage(PRODUCTION, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("override", "check_id"),
    [
        ({"SECURE_SSL_REDIRECT": "false"}, "security.W008"),
        ({"SECRET_KEY": "short"}, "security.W009"),
        ({"SELLER_TAX_ID": ""}, "billing.W001"),
        ({"SELLER_TAX_ID": "91110000600037341X"}, "billing.W001"),
    ],
)
def test_check_deploy_fails_when_a_guard_is_turned_off(override, check_id) -> None:
    result = _manage({**PRODUCTION, **override}, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert check_id in result.stderr + result.stdout


def _setting(env: dict[str, str], expr: str) -> str:
    code = f"import django; django.setup(); from django.conf import settings; print({expr})"
    base = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    base["AIDC_DEV_ENV_FILE"] = "/nonexistent/dev.env"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    return result.stdout.strip()


HTTPS_SETTINGS = (
    "settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS, "
    "settings.SECURE_HSTS_INCLUDE_SUBDOMAINS, settings.SECURE_HSTS_PRELOAD, "
    "settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, "
    "settings.SECURE_PROXY_SSL_HEADER, settings.API_DOCS_PUBLIC"
)


def test_https_settings_are_on_in_production_and_off_under_make_run_and_the_tests() -> None:
    production = _setting(PRODUCTION, HTTPS_SETTINGS)
    assert production == (
        "True 31536000 True True True True ('HTTP_X_FORWARDED_PROTO', 'https') False"
    )
    for mode in ("development", "test"):
        assert _setting({"AIDC_ENV": mode}, HTTPS_SETTINGS) == (
            "False 0 False False False False None True"
        )


def test_each_https_setting_can_be_forced_by_its_variable() -> None:
    forced = {
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "600",
        "API_DOCS_PUBLIC": "true",
        "TRUST_X_FORWARDED_PROTO": "false",
    }
    out = _setting({**PRODUCTION, **forced}, HTTPS_SETTINGS)
    assert out == "False 600 True True True True None True"
    forced_on = _setting({"AIDC_ENV": "development", "SECURE_SSL_REDIRECT": "true"}, HTTPS_SETTINGS)
    assert forced_on.startswith("True 0 False")


# --- HTTPS redirect, HSTS and the health probe (in-process, production-like settings) ---------


@pytest.fixture
def https_only(settings) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


@pytest.mark.django_db
def test_plain_http_is_redirected_to_https_except_the_health_probe(https_only) -> None:
    client = Client()
    response = client.get("/api/v1/me/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/api/v1/me/"
    for path in ("/healthz", "/healthz/"):
        assert client.get(path).status_code == 200, path


@pytest.mark.django_db
def test_https_through_the_proxy_gets_hsts_and_the_browser_headers(https_only, tenant_client):
    response = tenant_client.get("/api/v1/me/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == ("max-age=31536000; includeSubDomains; preload")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


# --- Cache-Control: no-store on every API answer -------------------------------------------


def _no_store(response) -> bool:
    directives = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    return "no-store" in directives and "private" in directives


@pytest.mark.django_db
def test_every_api_answer_is_no_store(
    tenant_client, tenant_user, operator_client, finance_client
) -> None:
    answers = {
        "me": tenant_client.get("/api/v1/me/"),
        "list": operator_client.get("/api/v1/tenants/"),
        "detail": operator_client.get(f"/api/v1/tenants/{tenant_user.tenant_id}/"),
        "csv export": finance_client.get("/api/v1/invoices/", {"format": "csv"}),
        "report": finance_client.get(
            "/api/v1/reports/occupancy/", {"from": "2027-01-01", "to": "2027-01-31"}
        ),
        "write": operator_client.post("/api/v1/tenants/", {"name": "NS"}, format="json"),
        "validation error": operator_client.post("/api/v1/tenants/", {}, format="json"),
        "forbidden": tenant_client.post("/api/v1/tenants/", {"name": "x"}, format="json"),
        "unauthenticated": APIClient().get("/api/v1/me/"),
        "not found": tenant_client.get("/api/v1/tenants/999999/"),
        "no such path": tenant_client.get("/api/v1/nothing-here/"),
        "api root": APIClient().get("/api/v1/"),
        "schema": APIClient().get("/api/schema/"),
        "token": APIClient().post("/api/v1/auth/token/", {"username": "x", "password": "y"}),
    }
    statuses = {name: response.status_code for name, response in answers.items()}
    assert statuses["csv export"] == 200 and statuses["write"] == 201, statuses
    assert statuses["unauthenticated"] == 401 and statuses["no such path"] == 404, statuses
    assert [name for name, response in answers.items() if not _no_store(response)] == []


@pytest.mark.django_db
def test_a_refused_oversized_body_is_no_store_too(operator_client, settings) -> None:
    settings.REQUEST_BODY_MAX_BYTES = 10
    response = operator_client.post("/api/v1/tenants/", {"name": "x" * 50}, format="json")
    assert response.status_code == 413
    assert _no_store(response)


@pytest.mark.django_db
def test_the_health_probe_is_not_marked(client) -> None:
    assert "no-store" not in client.get("/healthz").get("Cache-Control", "")


# --- API docs behind a login -----------------------------------------------------------------

DOCS = ("/api/schema/", "/api/schema/?format=json", "/api/docs/", "/api/v1/")


@pytest.mark.django_db
@pytest.mark.parametrize("path", DOCS)
def test_docs_are_open_when_public(settings, path) -> None:
    settings.API_DOCS_PUBLIC = True
    assert APIClient().get(path).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("path", DOCS)
def test_docs_need_a_login_when_not_public(settings, path, make_user, make_client) -> None:
    settings.API_DOCS_PUBLIC = False
    anonymous = APIClient().get(path)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"
    user = make_user(Role.TENANT)
    assert make_client(user).get(path).status_code == 200  # a token
    session = Client()
    session.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    assert session.get(path).status_code == 200  # the browser's session login
