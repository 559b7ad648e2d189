"""A failed invoice run is an error, is recorded as failed, and can be retried with its key."""

import pytest
from django.db import connection

from billing.models import Invoice, InvoiceRun
from tests.billing.conftest import long_lease
from tests.timing import at

pytestmark = pytest.mark.django_db

SECRET = "internal detail /srv/aidc/secret.py line 42"


@pytest.fixture
def march(tenant, domestic):
    with at("2027-02-20 10:00"):
        long_lease(tenant, domestic, 4, "2027-03-01")
    return tenant


@pytest.fixture
def broken_lines():
    """A real database failure while the run writes its lines (a trigger that raises)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            CREATE FUNCTION test_refuse_line() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{SECRET}'; END $$;
            CREATE TRIGGER test_refuse_line BEFORE INSERT ON billing_invoiceline
            FOR EACH ROW EXECUTE FUNCTION test_refuse_line();
            """
        )

    def repair() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "DROP TRIGGER test_refuse_line ON billing_invoiceline;"
                "DROP FUNCTION test_refuse_line();"
            )

    return repair


def run_month(client, key):
    return client.post(
        "/api/v1/invoice-runs/", {"month": "2027-03"}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )


def test_a_failed_run_is_an_error_without_internals_and_its_key_runs_again(
    finance_client, march, broken_lines
):
    with at("2027-04-01 09:00"):
        failed = run_month(finance_client, "run-march")
        assert failed.status_code == 500, failed.json()
        body = failed.json()
        assert body["error"]["code"] == "invoice_run_failed"
        assert set(body["error"]) >= {"code", "message", "fields"}
        assert SECRET not in failed.content.decode()
        run = InvoiceRun.objects.get()
        assert run.status == "failed"
        assert not Invoice.objects.exists()
        listed = finance_client.get(f"/api/v1/invoice-runs/{run.pk}/")
        assert listed.json()["status"] == "failed"
        assert SECRET not in listed.content.decode()
        broken_lines()
        retried = run_month(finance_client, "run-march")
    assert retried.status_code == 201, retried.json()
    assert "Idempotent-Replayed" not in retried.headers
    assert retried.json()["status"] == "done"
    assert Invoice.objects.count() == 1
    assert sorted(InvoiceRun.objects.values_list("status", flat=True)) == ["done", "failed"]
