"""Claims as evidence, `requires_payment`, programme edit and close, grant revoke.

Golden scenarios written out by hand. The fleet: Ascend-910B (domestic, ¥3,900 a card-month
list, ¥3,510 on a 12-month term) and H100 (imported, ¥9,375 list, ¥8,437.50 on 12 months). The
programme covers 20 %, 30 % on the Ascend-910B; VAT 6 %.
"""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from billing.models import Invoice, VoucherGrant, VoucherProgram, VoucherRedemption
from core.models import AuditLog
from tests.billing.conftest import long_lease
from tests.billing.test_vouchers_api import PROGRAMME, grant
from tests.timing import at

pytestmark = pytest.mark.django_db

FAPIAO = "24442000000012345678"


@pytest.fixture
def programme_of(finance_client, domestic):
    def make(**extra):
        body = {
            **PROGRAMME,
            "model_rates": [{"card_model": domestic.pk, "rate": "0.3000"}],
            **extra,
        }
        response = finance_client.post("/api/v1/voucher-programs/", body, format="json")
        assert response.status_code == 201, response.json()
        return response.json()

    return make


def bill(client, month: str, *, at_time: str) -> dict:
    """Run `month` and issue the tenant's invoice (one tenant in these scenarios)."""
    with at(at_time):
        run = client.post("/api/v1/invoice-runs/", {"month": month}, format="json")
        assert run.status_code == 201, run.json()
        draft = Invoice.objects.get(month=dt.date.fromisoformat(f"{month}-01"), status="draft")
        issued = client.post(f"/api/v1/invoices/{draft.pk}/issue/")
        assert issued.status_code == 200, issued.json()
    return issued.json()


def claim_of(client, programme, month="2027-03", **params):
    url = f"/api/v1/voucher-programs/{programme['id']}/claims/"
    response = client.get(url, {"month": month, **params})
    assert response.status_code == 200
    return response


# --- Claims as evidence ---


def test_a_requires_payment_claim_lists_a_redemption_only_once_its_invoice_is_paid(
    finance_client, programme_of, tenant, domestic, imported
):
    programme = programme_of(requires_payment=True)
    assert programme["requires_payment"] is True
    grant(finance_client, programme, tenant, "10000.00")
    with at("2027-02-20 10:00"):
        ascend = long_lease(tenant, domestic, 2, "2027-03-01")
        h100 = long_lease(tenant, imported, 1, "2027-03-01")
    invoice = bill(finance_client, "2027-03", at_time="2027-04-01 09:00")
    # lines: 2 × 3510.00 = 7020.00 (Ascend) and 1 × 8437.50 (H100) = 15457.50 subtotal
    # covered: 7020.00 × 30 % = 2106.00 + 8437.50 × 20 % = 1687.50 → 3793.50 redeemed
    # tax 15457.50 × 6 % = 927.45; due 15457.50 + 927.45 − 3793.50 = 12591.45
    assert (invoice["subtotal"], invoice["tax"]) == ("15457.50", "927.45")
    assert (invoice["voucher_deduction"], invoice["amount_due"]) == ("3793.50", "12591.45")

    before = claim_of(finance_client, programme).json()
    assert (before["requires_payment"], before["rows"], before["total"]) == (True, [], "0.00")
    # nor is it submitted before payment: its total would be frozen without the redemption
    url = f"/api/v1/voucher-programs/{programme['id']}/claims/"
    with at("2027-04-02 09:00"):
        early = finance_client.post(url, {"month": "2027-03", "status": "submitted"}, format="json")
    assert early.status_code == 409
    assert "not paid yet" in early.json()["error"]["message"]
    programmes = finance_client.get(f"/api/v1/voucher-programs/{programme['id']}/").json()
    assert programmes["requires_payment"] is True

    Invoice.objects.filter(pk=invoice["id"]).update(
        fapiao_number=FAPIAO, fapiao_issued_on=dt.date(2027, 4, 2)
    )
    with at("2027-04-15 10:00"):
        paid = finance_client.post(
            f"/api/v1/invoices/{invoice['id']}/pay/",
            {"paid_on": "2027-04-10", "reference": "BANK-0001"},
            format="json",
        )
        assert paid.status_code == 200, paid.json()
    after = claim_of(finance_client, programme).json()
    redemption = VoucherRedemption.objects.get()
    # March has 31 days: 2 cards × 744 h = 1488 card-hours, 1 card × 744 h = 744
    leases = [
        {
            "lease": ascend.pk, "kind": "long", "term_months": 12,
            "start": "2027-03-01T00:00:00+08:00", "end": "2028-03-01T00:00:00+08:00",
            "card_model": domestic.pk, "card_model_name": "Ascend-910B",
            "domestic": True, "card_hours": "1488.000000",
        },
        {
            "lease": h100.pk, "kind": "long", "term_months": 12,
            "start": "2027-03-01T00:00:00+08:00", "end": "2028-03-01T00:00:00+08:00",
            "card_model": imported.pk, "card_model_name": "H100",
            "domestic": False, "card_hours": "744.000000",
        },
    ]  # fmt: skip
    assert after["total"] == "3793.50"
    assert after["rows"] == [
        {
            "redemption": redemption.pk,
            "tenant": tenant.pk,
            "tenant_name": tenant.name,
            "tax_id": tenant.tax_id,
            "invoice": invoice["id"],
            "invoice_number": "INV-2027-000001",
            "fapiao_number": FAPIAO,
            "leases": leases,
            "card_hours": "2232.000000",
            "amount": "3793.50",
            "paid_on": "2027-04-10",
            "payment_reference": "BANK-0001",
        }
    ]

    text = claim_of(finance_client, programme, format="csv").content.decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "program", "month", "status", "redemption", "tenant_id", "tenant", "tax_id",
        "invoice_number", "fapiao_number", "leases", "lease_kinds", "lease_terms", "card_models",
        "domestic", "card_hours", "amount", "paid_on", "payment_reference",
    ]  # fmt: skip
    assert rows[1] == [
        str(programme["id"]), "2027-03", "draft", str(redemption.pk), str(tenant.pk),
        tenant.name, tenant.tax_id, "INV-2027-000001", FAPIAO, f"{ascend.pk}; {h100.pk}",
        "long; long",
        "2027-03-01/2028-03-01 (12 months); 2027-03-01/2028-03-01 (12 months)",
        "Ascend-910B; H100", "yes; no", "2232", "3793.50", "2027-04-10", "BANK-0001",
    ]  # fmt: skip
    assert rows[2][rows[0].index("tenant")] == "TOTAL"
    assert rows[2][rows[0].index("amount")] == "3793.50"
    assert len(rows) == 3
    with at("2027-04-16 09:00"):
        submitted = finance_client.post(
            url, {"month": "2027-03", "status": "submitted"}, format="json"
        )
    assert (submitted.status_code, submitted.json()["total"]) == (200, "3793.50")


def test_a_claim_names_the_tenant_and_tax_id_frozen_on_the_invoice(
    finance_client, programme_of, tenant, domestic
):
    programme = programme_of()
    grant(finance_client, programme, tenant, "10000.00")
    with at("2027-02-20 10:00"):
        long_lease(tenant, domestic, 2, "2027-03-01")
    bill(finance_client, "2027-03", at_time="2027-04-01 09:00")
    name, tax_id = tenant.name, tenant.tax_id
    tenant.name, tenant.tax_id = "Renamed Ltd", "91110000MA99999999"
    tenant.save()
    # without requires_payment an issued, unpaid invoice's redemption is claimed
    row = claim_of(finance_client, programme).json()["rows"][0]
    assert (row["tenant_name"], row["tax_id"]) == (name, tax_id)
    assert (row["paid_on"], row["payment_reference"], row["fapiao_number"]) == (None, "", None)


def test_a_claims_queries_do_not_grow_with_its_rows(
    finance_client, programme_of, domestic, imported, make_user
):
    programme = programme_of()
    tenants = [make_user("tenant").tenant for _ in range(3)]
    with at("2027-02-20 10:00"):
        for n, tenant in enumerate(tenants):
            grant(finance_client, programme, tenant, "5000.00")
            long_lease(tenant, domestic if n % 2 else imported, 1, "2027-03-01")
    with at("2027-04-01 09:00"):
        finance_client.post("/api/v1/invoice-runs/", {"month": "2027-03"}, format="json")
        drafts = list(Invoice.objects.filter(status="draft").order_by("pk"))
    with at("2027-04-01 09:00"):
        finance_client.post(f"/api/v1/invoices/{drafts[0].pk}/issue/")
    with CaptureQueriesContext(connection) as one:
        assert len(claim_of(finance_client, programme).json()["rows"]) == 1
    with at("2027-04-01 09:00"):
        for draft in drafts[1:]:
            finance_client.post(f"/api/v1/invoices/{draft.pk}/issue/")
    with CaptureQueriesContext(connection) as three:
        assert len(claim_of(finance_client, programme).json()["rows"]) == 3
    assert len(three) == len(one)
    with CaptureQueriesContext(connection) as csv_three:
        claim_of(finance_client, programme, format="csv")
    assert len(csv_three) == len(one)


# --- Programme edit ---


def test_a_budget_below_what_is_granted_is_a_400_and_nothing_is_written(
    finance_client, programme_of, tenant
):
    programme = programme_of()
    grant(finance_client, programme, tenant, "15000.00")
    url = f"/api/v1/voucher-programs/{programme['id']}/"
    audits = AuditLog.objects.count()
    response = finance_client.patch(url, {"budget": "14999.99", "name": "Cut"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"] == {"budget": ["At least 15000.00: that much is granted."]}
    program = VoucherProgram.objects.get()
    assert (program.budget, program.name) == (Decimal("50000.00"), PROGRAMME["name"])
    assert AuditLog.objects.count() == audits
    # the cap never below what a tenant holds, the window around the grants
    cap = finance_client.patch(url, {"per_tenant_cap": "14000.00"}, format="json")
    assert cap.status_code == 400
    assert "per_tenant_cap" in cap.json()["error"]["fields"]
    window = finance_client.patch(url, {"valid_to": "2027-06-30"}, format="json")
    assert window.status_code == 400
    assert "valid_to" in window.json()["error"]["fields"]
    # exactly what is granted is fine
    edited = finance_client.patch(
        url, {"budget": "15000.00", "issuer": "四川省 Sichuan", "requires_payment": True},
        format="json",
    )  # fmt: skip
    assert edited.status_code == 200, edited.json()
    body = edited.json()
    assert (body["budget"], body["granted"]) == ("15000.00", "15000.00")
    assert body["issuer"] == "四川省 Sichuan"
    assert body["requires_payment"] is True
    assert AuditLog.objects.filter(action="voucher_program.update").count() == 1


def test_a_programmes_rules_are_fixed_once_it_has_redeemed(
    finance_client, tenant_client, programme_of, tenant, domestic
):
    programme = programme_of()
    url = f"/api/v1/voucher-programs/{programme['id']}/"
    # before any redemption the rules may change
    early = finance_client.patch(url, {"coverage_rate": "0.2500"}, format="json")
    assert early.status_code == 200
    assert early.json()["coverage_rate"] == "0.2500"
    grant(finance_client, programme, tenant, "10000.00")
    with at("2027-02-20 10:00"):
        long_lease(tenant, domestic, 2, "2027-03-01")
    bill(finance_client, "2027-03", at_time="2027-04-01 09:00")
    late = finance_client.patch(url, {"coverage_rate": "0.5000"}, format="json")
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "program_terms_in_use"
    assert VoucherProgram.objects.get().coverage_rate == Decimal("0.2500")
    assert tenant_client.patch(url, {"name": "x"}, format="json").status_code == 403


# --- Close ---


def test_a_closed_programme_takes_no_grant_and_redeems_nothing(
    finance_client, programme_of, tenant, domestic, make_user
):
    programme = programme_of()
    grant(finance_client, programme, tenant, "10000.00")
    with at("2027-02-20 10:00"):
        long_lease(tenant, domestic, 2, "2027-03-01")
    with at("2027-03-15 10:00"):
        closed = finance_client.post(f"/api/v1/voucher-programs/{programme['id']}/close/")
    assert closed.status_code == 200, closed.json()
    assert closed.json()["closed_at"] == "2027-03-15T10:00:00+08:00"
    again = finance_client.post(f"/api/v1/voucher-programs/{programme['id']}/close/")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "program_closed")

    other = make_user("tenant").tenant
    refused = grant(finance_client, programme, other, "100.00")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "program_closed")
    assert VoucherGrant.objects.count() == 1
    edit = finance_client.patch(
        f"/api/v1/voucher-programs/{programme['id']}/", {"name": "x"}, format="json"
    )
    assert edit.status_code == 409

    invoice = bill(finance_client, "2027-03", at_time="2027-04-01 09:00")
    # 7020.00 + 6 % = 7441.20, nothing deducted
    assert (invoice["voucher_deduction"], invoice["amount_due"]) == ("0.00", "7441.20")
    assert invoice["redemptions"] == []

    # the database refuses both behind the service's back
    program = VoucherProgram.objects.get()
    with pytest.raises(IntegrityError, match="closed"), transaction.atomic():
        VoucherGrant.objects.create(
            program=program, tenant=other, amount=Decimal("1.00"),
            valid_from=program.valid_from, valid_to=program.valid_to,
        )  # fmt: skip
    with pytest.raises(IntegrityError, match="closed"), transaction.atomic():
        VoucherRedemption.objects.create(
            grant=VoucherGrant.objects.get(), invoice_id=invoice["id"], amount=Decimal("1.00")
        )


# --- Revoke ---


def test_revoking_a_grant_releases_its_balance_and_keeps_its_redemptions(
    finance_client, tenant_client, programme_of, tenant, domestic
):
    programme = programme_of()
    made = grant(finance_client, programme, tenant, "10000.00").json()
    with at("2027-02-20 10:00"):
        long_lease(tenant, domestic, 2, "2027-03-01")
    march = bill(finance_client, "2027-03", at_time="2027-04-01 09:00")
    assert march["voucher_deduction"] == "2106.00"  # 7020.00 × 30 %

    url = f"/api/v1/voucher-grants/{made['id']}/revoke/"
    assert tenant_client.post(url, {}, format="json").status_code == 403
    with at("2027-04-05 10:00"):
        revoked = finance_client.post(url, {"reason": "left the city"}, format="json")
    assert revoked.status_code == 200, revoked.json()
    body = revoked.json()
    # 10000.00 granted − 2106.00 redeemed = 7894.00 back to the programme's budget
    assert (body["amount"], body["redeemed"], body["remaining"], body["released"]) == (
        "10000.00", "2106.00", "0.00", "7894.00",
    )  # fmt: skip
    assert body["revoked_at"] == "2027-04-05T10:00:00+08:00"
    program = finance_client.get(f"/api/v1/voucher-programs/{programme['id']}/").json()
    assert program["granted"] == "2106.00"
    again = finance_client.post(url, {}, format="json")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "grant_revoked")

    # its redemption stays, and stays claimed
    assert claim_of(finance_client, programme).json()["total"] == "2106.00"
    # issuing April redeems nothing from it
    april = bill(finance_client, "2027-04", at_time="2027-05-01 09:00")
    assert april["voucher_deduction"] == "0.00"
    # the released money can be granted again: 50000.00 − 2106.00 = 47894.00 is left
    program_row = VoucherProgram.objects.get()
    assert program_row.budget - program_row.granted == Decimal("47894.00")

    # the database refuses a redemption on the revoked grant
    with pytest.raises(IntegrityError, match="revoked"), transaction.atomic():
        VoucherRedemption.objects.create(
            grant_id=made["id"], invoice_id=april["id"], amount=Decimal("1.00")
        )

    # voiding March restores its redemption to the programme's budget, not to the grant
    voided = finance_client.post(
        f"/api/v1/invoices/{march['id']}/void/", {"reason": "wrong"}, format="json"
    )
    assert voided.status_code == 200, voided.json()
    revoked_grant = VoucherGrant.objects.get()
    assert (revoked_grant.redeemed, revoked_grant.remaining) == (Decimal("0.00"), Decimal("0.00"))
    assert VoucherProgram.objects.get().granted == Decimal("0.00")
    assert claim_of(finance_client, programme).json()["rows"] == []


def test_the_database_keeps_grants_within_the_budget(programme_of, tenant, make_user):
    programme_of()
    program = VoucherProgram.objects.get()
    VoucherGrant.objects.create(
        program=program, tenant=tenant, amount=Decimal("30000.00"),
        valid_from=program.valid_from, valid_to=program.valid_to,
    )  # fmt: skip
    program.refresh_from_db()
    assert program.granted == Decimal("30000.00")  # kept by the trigger
    with pytest.raises(IntegrityError, match="granted_within_budget"), transaction.atomic():
        VoucherGrant.objects.create(
            program=program, tenant=make_user("tenant").tenant, amount=Decimal("20000.01"),
            valid_from=program.valid_from, valid_to=program.valid_to,
        )  # fmt: skip
    assert VoucherGrant.objects.count() == 1
