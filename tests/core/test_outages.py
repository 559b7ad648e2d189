"""PostgreSQL or Redis down: 503 in the error body, fast, and back to normal without a restart."""

import time

import pytest
from django.db import connection
from rest_framework.test import APIClient

from billing.models import InvoiceRun
from core import throttling
from core.models import IdempotencyKey
from tests.outages import broker_down, closed_port
from tests.timing import at

BOUND_SECONDS = 5


def _timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def _assert_unavailable(response) -> None:
    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "service_unavailable"
    assert response.json()["error"]["fields"] == {}
    assert int(response["Retry-After"]) > 0


@pytest.mark.django_db(transaction=True)
def test_postgres_down_is_a_503_on_api_routes_and_recovers_without_restart(
    tenant_client, admin_user
) -> None:
    assert tenant_client.get("/api/v1/me/").status_code == 200
    admin = APIClient()
    admin.force_login(admin_user)
    admin.raise_request_exception = False
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["HOST"] = "127.0.0.1"
    connection.settings_dict["PORT"] = closed_port()
    try:
        for call in (
            lambda: tenant_client.get("/api/v1/me/"),
            lambda: tenant_client.get("/api/v1/leases/"),
            lambda: tenant_client.post(
                "/api/v1/leases/", {"kind": "long"}, format="json", HTTP_IDEMPOTENCY_KEY="pg-1"
            ),
            lambda: admin.get("/admin/"),  # not a DRF view: handler500's path
        ):
            response, seconds = _timed(call)
            _assert_unavailable(response)
            assert seconds < BOUND_SECONDS
    finally:
        connection.close()
        connection.settings_dict.update(saved)
    # the server is back: the next request reconnects
    assert tenant_client.get("/api/v1/me/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_an_async_invoice_run_with_the_broker_down_is_a_fast_503_that_records_nothing(
    finance_client,
) -> None:
    with at("2027-04-01 09:00"), broker_down():
        response, seconds = _timed(
            lambda: finance_client.post(
                "/api/v1/invoice-runs/?async=true",
                {"month": "2027-03"},
                format="json",
                HTTP_IDEMPOTENCY_KEY="run-1",
            )
        )
    _assert_unavailable(response)
    assert seconds < BOUND_SECONDS
    assert not InvoiceRun.objects.exists()
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db
def test_throttling_fails_open_and_logged_when_redis_is_down(tenant_client, settings, caplog):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    throttling._client = None
    try:
        response, seconds = _timed(lambda: tenant_client.get("/api/v1/me/"))
    finally:
        throttling._client = None
    assert response.status_code == 200
    assert seconds < BOUND_SECONDS
    assert "throttling skipped" in caplog.text
