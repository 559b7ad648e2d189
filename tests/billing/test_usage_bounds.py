"""Usage that cannot be billed never blocks the month's invoice run.

Ingestion refuses a record whose quantity no invoice line could price
(`quantity_out_of_range`), and a run skips a tenant whose in-bound records still add up past
what a line or an invoice holds: the others are billed, the run says who was skipped and why.
"""

import re
from decimal import Decimal

import pytest
from drf_spectacular.generators import SchemaGenerator

from billing.models import Invoice, InvoiceRun, UsageRecord
from billing.services.usage import MAX_QUANTITY, usage_records_ingest
from tests.billing.conftest import invoice_for, issue, long_lease, usage_record
from tests.factories import TenantFactory
from tests.timing import at

pytestmark = pytest.mark.django_db

# the largest quantity one record may carry (6 places)
TOP = MAX_QUANTITY - Decimal("0.000001")


def post(client, records):
    return client.post("/api/v1/usage-records/", {"records": records}, format="json")


def egress(lease_, n, quantity, **overrides):
    return usage_record(lease_, n, metric="egress_tb", quantity=str(quantity), **overrides)


def test_the_testers_huge_record_is_refused_and_the_run_bills_everyone(
    make_user, make_client, finance_client, lease, domestic
):
    other = long_lease(TenantFactory(), domestic, 1, "2027-03-01")
    client = make_client(make_user("tenant", tenant=lease.tenant))
    with at("2027-04-01 00:00"):
        refused = post(client, [egress(lease, 0, "10000000000", external_id="huge-1e10")])
        assert refused.status_code == 400, refused.json()
        assert [(e["index"], e["code"]) for e in refused.json()["errors"]] == [
            (0, "quantity_out_of_range")
        ]
        assert not UsageRecord.objects.exists()
        ran = finance_client.post("/api/v1/invoice-runs/", {"month": "2027-03"}, format="json")
    assert ran.status_code == 201, ran.json()
    assert ran.json()["status"] == "done"
    assert ran.json()["error"] == ""
    assert Invoice.objects.filter(tenant__in=[lease.tenant, other.tenant]).count() == 2


@pytest.mark.parametrize(
    ("quantity", "accepted"),
    [
        (TOP, True),
        (-TOP, None),  # in range: refused only as a negative without a correction
        (MAX_QUANTITY, False),
        (-MAX_QUANTITY, False),
        (Decimal("99999999999999"), False),
        (Decimal("1e30"), False),
    ],
)
def test_the_bound_on_one_record(operator_client, lease, quantity, accepted):
    with at("2027-04-01 00:00"):
        response = post(operator_client, [egress(lease, 0, quantity)])
    codes = [e["code"] for e in response.json().get("errors", [])]
    if accepted:
        assert response.status_code == 201 and codes == [], response.json()
    elif accepted is None:
        assert codes == ["negative_without_correction"]
    else:
        assert codes == ["quantity_out_of_range"]


def test_the_schema_pattern_accepts_exactly_what_ingestion_accepts(db):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    record = schema["components"]["schemas"]["UsageInRequest"]
    pattern = record["properties"]["quantity"]["pattern"]
    assert re.match(pattern, str(TOP))
    assert re.match(pattern, str(-TOP))
    assert not re.match(pattern, str(int(MAX_QUANTITY)))
    assert not re.match(pattern, "99999999999999")


def _ingest_egress(lease_, *, records: int, batches: int) -> None:
    """`records` egress records of TOP TB each, posted by the tenant in `batches` batches."""
    per = records // batches
    for batch in range(batches):
        result = usage_records_ingest(
            records=[egress(lease_, batch * per + n, TOP) for n in range(per)],
            tenant_id=lease_.tenant_id,
        )
        assert (result.accepted, result.errors) == (per, [])


@pytest.fixture
def others(domestic):
    with at("2027-02-20 10:00"):
        return [long_lease(TenantFactory(), domestic, 1, "2027-03-01") for _ in range(2)]


def test_a_tenant_whose_line_would_not_fit_is_skipped_and_the_others_are_billed(
    finance_client, lease, others
):
    # 30 × (10^8 TB × 500.00) = 1.5 × 10^12: past the largest line amount (10^12)
    with at("2027-04-01 00:00"):
        _ingest_egress(lease, records=30, batches=3)
        ran = finance_client.post("/api/v1/invoice-runs/", {"month": "2027-03"}, format="json")
    assert ran.status_code == 201, ran.json()
    body = ran.json()
    assert body["status"] == "done"
    assert body["invoices"] == 2
    assert f"tenant {lease.tenant_id} " in body["error"]
    assert "line amount" in body["error"]
    for other in others:
        assert f"tenant {other.tenant_id} " not in body["error"]
        assert invoice_for(other.tenant, "2027-03").subtotal > 0
    assert not Invoice.objects.filter(tenant=lease.tenant).exists()
    assert InvoiceRun.objects.get().status == "done"


def test_a_tenant_whose_invoice_total_would_not_fit_is_skipped(finance_client, lease, others):
    # 19 × (10^8 TB × 500.00) = 9.5 × 10^11 fits a line, but with 6 % VAT not the amount due
    with at("2027-04-01 00:00"):
        _ingest_egress(lease, records=19, batches=1)
        ran = finance_client.post("/api/v1/invoice-runs/", {"month": "2027-03"}, format="json")
    body = ran.json()
    assert (ran.status_code, body["status"], body["invoices"]) == (201, "done", 2), body
    assert f"tenant {lease.tenant_id} " in body["error"]
    assert "invoice total" in body["error"]
    assert not Invoice.objects.filter(tenant=lease.tenant).exists()


def test_a_skipped_tenants_earlier_draft_goes_away_and_cannot_be_issued(
    finance_client, lease, others
):
    with at("2027-04-01 00:00"):
        first = finance_client.post("/api/v1/invoice-runs/", {"month": "2027-03"}, format="json")
        assert first.json()["invoices"] == 3
        stale = invoice_for(lease.tenant, "2027-03")
        _ingest_egress(lease, records=30, batches=3)
        ran = finance_client.post("/api/v1/invoice-runs/", {"month": "2027-03"}, format="json")
    assert ran.json()["invoices"] == 2
    assert not Invoice.objects.filter(pk=stale.pk).exists()


def test_issuing_a_draft_whose_usage_no_longer_fits_is_refused_and_changes_nothing(
    finance_client, lease, others
):
    with at("2027-04-01 00:00"):
        finance_client.post("/api/v1/invoice-runs/", {"month": "2027-03"}, format="json")
        draft = invoice_for(lease.tenant, "2027-03")
        _ingest_egress(lease, records=30, batches=3)
        response = finance_client.post(f"/api/v1/invoices/{draft.pk}/issue/")
        assert response.status_code == 409, response.json()
        assert response.json()["error"]["code"] == "invoice_too_large"
        draft.refresh_from_db()
        assert (draft.status, draft.number) == ("draft", None)
        assert not UsageRecord.objects.filter(invoice__isnull=False).exists()
        assert issue(invoice_for(others[0].tenant, "2027-03")).status == "issued"
