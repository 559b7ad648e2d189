"""Invoicing in China: billing profiles, the seller, fapiao requests (blue and red), their
numbers and the month's export. Figures worked out by hand in the comments."""

import csv
import datetime as dt
import io

import pytest
from pypdf import PdfReader

from billing.models import BillingProfile, CreditNote, DocumentCounter, Invoice, UsageRecord
from billing.services.fapiao import amount_in_capitals, tax_split
from billing.services.invoicing import credit_note_create
from core.audit import AuditLog
from tests.billing.conftest import D, long_lease
from tests.timing import at

pytestmark = pytest.mark.django_db

# Valid Unified Social Credit Codes (check digit computed by the GB 32100-2015 rule).
TITLE_TAX_ID = "91420500MA4F0YL01G"
OTHER_TAX_ID = "91621000MA7A2XB03H"

SPECIAL = {
    "invoice_title": "宜昌智源人工智能实验室有限公司",
    "tax_id": TITLE_TAX_ID,
    "fapiao_type": "special",
    "bank_name": "中国银行宜昌分行",
    "bank_account": "5678 1234 0000 0001",
    "registered_address": "湖北省宜昌市西陵区发展大道1号",
    "registered_phone": "0717-1234567",
    "email": "finance@zhiyuan.example",
}


# --- Figures ---


def test_the_tax_split_gives_missing_cents_to_the_largest_remainders():
    # 3396.77 × 0.06 = 203.8062 → 203.80 (remainder 0.0062)
    # 2377.74 × 0.06 = 142.6644 → 142.66 (remainder 0.0044)
    # 1245.48 × 0.06 =  74.7288 →  74.72 (remainder 0.0088)
    # tax = round(7019.99 × 0.06 = 421.1994) = 421.20; floors add to 421.18: 2 cents missing,
    # to the third line (0.0088) and the first (0.0062); the second keeps its floor.
    amounts = [D("3396.77"), D("2377.74"), D("1245.48")]
    assert tax_split(amounts, D("0.06"), D("421.20")) == [D("203.81"), D("142.66"), D("74.73")]


def test_a_tie_gives_the_cent_to_the_earlier_line():
    # 1.05 × 0.06 = 0.063 twice: floors 0.06 + 0.06; tax = round(2.10 × 0.06 = 0.126) = 0.13
    assert tax_split([D("1.05"), D("1.05")], D("0.06"), D("0.13")) == [D("0.07"), D("0.06")]


@pytest.mark.parametrize(
    ("amount", "capitals"),
    [
        ("10926.56", "壹万零玖佰贰拾陆元伍角陆分"),  # 零 for the empty thousands
        ("100.00", "壹佰元整"),  # whole yuan: 整
        ("1001.00", "壹仟零壹元整"),
        ("100000.00", "壹拾万元整"),
        ("10.00", "壹拾元整"),  # 壹拾, not 拾, on a cheque
        ("100.50", "壹佰元伍角"),  # 角 without 分: no 整
        ("0.05", "伍分"),  # 分 only
        ("3.06", "叁元零陆分"),  # no 角: 零 before 分
        ("10000.07", "壹万元零柒分"),
        ("1010.10", "壹仟零壹拾元壹角"),
        ("7441.19", "柒仟肆佰肆拾壹元壹角玖分"),
        ("0.00", "零元整"),
        ("-7441.19", "负柒仟肆佰肆拾壹元壹角玖分"),  # a red fapiao's total
    ],
)
def test_amounts_in_rmb_capitals(amount, capitals):
    assert amount_in_capitals(D(amount)) == capitals


# --- Billing profiles ---


def test_a_tenant_puts_gets_and_patches_its_billing_profile(tenant_client, tenant):
    missing = tenant_client.get("/api/v1/me/billing-profile/")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "no_billing_profile"
    response = tenant_client.put("/api/v1/me/billing-profile/", SPECIAL, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() | {"updated_at": None} == {
        **SPECIAL, "tenant": tenant.pk, "updated_at": None
    }  # fmt: skip
    patched = tenant_client.patch(
        "/api/v1/me/billing-profile/", {"email": "ap@zhiyuan.example"}, format="json"
    )
    assert patched.status_code == 200
    assert tenant_client.get("/api/v1/me/billing-profile/").json()["email"] == "ap@zhiyuan.example"


def test_a_wrong_check_digit_is_a_400_and_nothing_is_written(tenant_client):
    body = {**SPECIAL, "tax_id": TITLE_TAX_ID[:-1] + "H"}
    response = tenant_client.put("/api/v1/me/billing-profile/", body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"] == {
        "tax_id": ["The check digit (the 18th character) does not match: a typing error?"]
    }
    assert not BillingProfile.objects.exists()
    assert not AuditLog.objects.filter(action="billing_profile.save").exists()


def test_a_special_profile_needs_every_field(tenant_client):
    body = {**SPECIAL, "bank_account": "", "email": ""}
    response = tenant_client.put("/api/v1/me/billing-profile/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"bank_account", "email"}
    ordinary = {"invoice_title": "宜昌智源", "tax_id": TITLE_TAX_ID}  # an ordinary one: two
    assert (
        tenant_client.put("/api/v1/me/billing-profile/", ordinary, format="json").json()[
            "fapiao_type"
        ]
        == "ordinary"
    )
    # …and a PATCH to special without the rest is refused, the profile unchanged
    response = tenant_client.patch(
        "/api/v1/me/billing-profile/", {"fapiao_type": "special"}, format="json"
    )
    assert response.status_code == 400
    assert BillingProfile.objects.get().fapiao_type == "ordinary"


def test_the_database_refuses_an_incomplete_special_profile(tenant):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        BillingProfile.objects.create(
            tenant=tenant, invoice_title="X", tax_id=TITLE_TAX_ID, fapiao_type="special"
        )


def test_finance_edits_any_tenants_profile_and_a_tenant_only_its_own(
    finance_client, tenant_client, tenant
):
    url = f"/api/v1/tenants/{tenant.pk}/billing-profile/"
    assert finance_client.get(url).status_code == 404
    assert finance_client.put(url, SPECIAL, format="json").status_code == 200
    assert finance_client.get(url).json()["invoice_title"] == SPECIAL["invoice_title"]
    assert tenant_client.get(url).status_code == 403
    assert finance_client.get("/api/v1/tenants/999999/billing-profile/").status_code == 404


# --- The golden invoice: three lines whose tax needs the largest remainder ---


@pytest.fixture
def three_lines(tenant, domestic):
    """Three one-card long leases of March 2027 at 3,510.00 a card-month (12-month term):
    from the 2nd (30 of 31 days: 3510 × 30/31 = 3396.774… → 3396.77), the 11th (21 days:
    2377.741… → 2377.74) and the 21st (11 days: 1245.483… → 1245.48)."""
    with at("2027-02-20 10:00"):
        for start in ("2027-03-02", "2027-03-11", "2027-03-21"):
            long_lease(tenant, domestic, 1, start)
    return tenant


def issued_march(finance_client) -> int:
    with at("2027-04-01 09:00"):
        assert finance_client.post(
            "/api/v1/invoice-runs/", {"month": "2027-03"}, format="json"
        ).status_code == 201  # fmt: skip
        invoice_id = Invoice.objects.get().pk
        response = finance_client.post(f"/api/v1/invoices/{invoice_id}/issue/")
        assert response.status_code == 200, response.json()
    return invoice_id


def test_the_fapiao_request_of_a_three_line_invoice(finance_client, tenant_client, three_lines):
    tenant_client.put("/api/v1/me/billing-profile/", SPECIAL, format="json")
    invoice_id = issued_march(finance_client)
    with at("2027-04-02 09:00"):
        response = tenant_client.get(f"/api/v1/invoices/{invoice_id}/fapiao/")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["kind"] == "blue"
    assert body["document_number"] == "INV-2027-000001"
    assert body["month"] == "2027-04"  # issued in April
    assert body["fapiao_type"] == "special"
    assert body["seller"]["tax_id"] == "91420500MA4DEM0002"
    assert "DEMO" in body["seller"]["name"]
    assert body["buyer"]["name"] == SPECIAL["invoice_title"]
    assert body["buyer"]["bank_account"] == SPECIAL["bank_account"]
    items = [
        (i["name"], i["quantity"], i["unit"], i["unit_price"], i["amount"], i["tax_rate"], i["tax"])
        for i in body["items"]
    ]
    name = "*信息技术服务*算力租赁服务"
    assert items == [
        # quantities: cards × days / 31, to 6 places
        (name, "0.967742", "card-month", "3510.0000", "3396.77", "0.0600", "203.81"),
        (name, "0.677419", "card-month", "3510.0000", "2377.74", "0.0600", "142.66"),
        (name, "0.354839", "card-month", "3510.0000", "1245.48", "0.0600", "74.73"),
    ]
    assert body["items"][0]["specification"].startswith("Long lease #")
    # 7019.99 + 421.20 = 7441.19
    assert (body["total_amount"], body["total_tax"], body["total_with_tax"]) == (
        "7019.99", "421.20", "7441.19"
    )  # fmt: skip
    assert body["total_with_tax_in_capitals"] == "柒仟肆佰肆拾壹元壹角玖分"
    assert body["fapiao_number"] is None
    assert body["original_fapiao_number"] is None


def test_a_draft_has_no_fapiao_request(finance_client, three_lines):
    with at("2027-04-01 09:00"):
        finance_client.post("/api/v1/invoice-runs/", {"month": "2027-03"}, format="json")
        response = finance_client.get(f"/api/v1/invoices/{Invoice.objects.get().pk}/fapiao/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_state"


def test_the_profile_snapshot_survives_a_later_edit(finance_client, tenant_client, three_lines):
    tenant_client.put("/api/v1/me/billing-profile/", SPECIAL, format="json")
    invoice_id = issued_march(finance_client)
    edited = {"invoice_title": "新名称有限公司", "tax_id": OTHER_TAX_ID}
    assert (
        tenant_client.put("/api/v1/me/billing-profile/", edited, format="json").status_code == 200
    )
    body = finance_client.get(f"/api/v1/invoices/{invoice_id}/fapiao/").json()
    assert (body["buyer"]["name"], body["buyer"]["tax_id"], body["fapiao_type"]) == (
        SPECIAL["invoice_title"], TITLE_TAX_ID, "special"
    )  # fmt: skip


# --- The seller ---


def test_issuing_without_a_seller_is_a_409_and_nothing_is_written(
    finance_client, three_lines, settings
):
    with at("2027-04-01 09:00"):
        finance_client.post("/api/v1/invoice-runs/", {"month": "2027-03"}, format="json")
    invoice = Invoice.objects.get()
    before = Invoice.objects.values().get()
    for tax_id in ("", "91420500MA4DEM0003"):  # none, and a wrong check digit
        settings.SELLER_TAX_ID = tax_id
        with at("2027-04-01 09:30"):
            response = finance_client.post(f"/api/v1/invoices/{invoice.pk}/issue/")
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "seller_not_configured"
    assert Invoice.objects.values().get() == before
    assert not DocumentCounter.objects.exists()
    assert not UsageRecord.objects.filter(invoice__isnull=False).exists()
    # the invoice run is unaffected
    with at("2027-04-01 10:00"):
        run = finance_client.post("/api/v1/invoice-runs/", {"month": "2027-03"}, format="json")
    assert run.json()["status"] == "done"


# --- Numbers: recording, void refused, the red request, the export ---


def record(client, url, number="26422000000000000001", issued_on="2027-04-02"):
    with at("2027-04-02 15:00"):
        return client.post(url, {"number": number, "issued_on": issued_on}, format="json")


def test_a_19_digit_number_is_a_400_and_nothing_is_written(finance_client, three_lines):
    invoice_id = issued_march(finance_client)
    response = record(finance_client, f"/api/v1/invoices/{invoice_id}/fapiao/", "1" * 19)
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"number": ["A fapiao number is 20 digits."]}
    assert Invoice.objects.get().fapiao_number is None


def test_recording_the_number_once_then_void_is_refused(finance_client, tenant_client, three_lines):
    invoice_id = issued_march(finance_client)
    url = f"/api/v1/invoices/{invoice_id}/fapiao/"
    assert record(tenant_client, url).status_code == 403
    response = record(finance_client, url)
    assert response.status_code == 200, response.json()
    assert (response.json()["fapiao_number"], response.json()["fapiao_issued_on"]) == (
        "26422000000000000001", "2027-04-02"
    )  # fmt: skip
    again = record(finance_client, url, "26422000000000000002")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "fapiao_recorded"
    with at("2027-04-03 09:00"):
        void = finance_client.post(
            f"/api/v1/invoices/{invoice_id}/void/", {"reason": "wrong"}, format="json"
        )
    assert void.status_code == 409
    assert void.json()["error"]["code"] == "fapiao_recorded"
    assert set(void.json()["error"]) >= {"code", "message"}
    invoice = Invoice.objects.get()
    assert (invoice.status, invoice.fapiao_number) == ("issued", "26422000000000000001")
    assert finance_client.get(f"/api/v1/invoices/{invoice_id}/").json()["fapiao_number"] == (
        "26422000000000000001"
    )


def test_a_number_in_the_future_or_already_used_is_refused(finance_client, three_lines):
    invoice_id = issued_march(finance_client)
    url = f"/api/v1/invoices/{invoice_id}/fapiao/"
    assert record(finance_client, url, issued_on="2027-04-03").status_code == 400
    assert record(finance_client, url, issued_on="2027-03-31").status_code == 400  # before issue
    assert Invoice.objects.get().fapiao_number is None


def test_a_red_request_for_a_credit_note_after_the_fapiao(finance_client, three_lines):
    invoice_id = issued_march(finance_client)
    invoice = Invoice.objects.get()
    with at("2027-04-02 10:00"):
        early = credit_note_create(
            actor=None, invoice=invoice, amount="106.00", reason="SLA", reason_code="allowance"
        )
    # no fapiao yet: there is nothing for a red fapiao to reverse
    response = finance_client.get(f"/api/v1/credit-notes/{early.pk}/fapiao/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_original_fapiao"
    record(finance_client, f"/api/v1/invoices/{invoice_id}/fapiao/")
    body = finance_client.get(f"/api/v1/credit-notes/{early.pk}/fapiao/").json()
    # 106.00 with tax at 6 %: 106.00 / 1.06 = 100.00 before tax, 6.00 tax
    assert body["kind"] == "red"
    assert body["original_fapiao_number"] == "26422000000000000001"
    assert body["reason_code"] == "allowance"
    assert (body["total_amount"], body["total_tax"], body["total_with_tax"]) == (
        "-100.00", "-6.00", "-106.00"
    )  # fmt: skip
    assert body["total_with_tax_in_capitals"] == "负壹佰零陆元整"
    assert [(i["amount"], i["tax"], i["quantity"]) for i in body["items"]] == [
        ("-100.00", "-6.00", None)
    ]
    # the rest of the invoice, 7441.19 - 106.00 = 7335.19, is not the whole: one item again;
    # a note of the whole total reverses every item (checked on a second invoice below)
    response = record(
        finance_client, f"/api/v1/credit-notes/{early.pk}/fapiao/", "26422000000000000009"
    )
    assert response.status_code == 200, response.json()
    assert CreditNote.objects.get().fapiao_number == "26422000000000000009"


def test_a_whole_credit_note_reverses_every_item(finance_client, three_lines):
    invoice_id = issued_march(finance_client)
    record(finance_client, f"/api/v1/invoices/{invoice_id}/fapiao/")
    with at("2027-04-05 10:00"):
        note = credit_note_create(
            actor=None, invoice=Invoice.objects.get(), amount="7441.19", reason="wrong buyer",
            reason_code="issued_in_error",
        )  # fmt: skip
    body = finance_client.get(f"/api/v1/credit-notes/{note.pk}/fapiao/").json()
    assert [(i["amount"], i["tax"], i["quantity"]) for i in body["items"]] == [
        ("-3396.77", "-203.81", "-0.967742"),
        ("-2377.74", "-142.66", "-0.677419"),
        ("-1245.48", "-74.73", "-0.354839"),
    ]
    assert (body["total_amount"], body["total_tax"], body["total_with_tax"]) == (
        "-7019.99", "-421.20", "-7441.19"
    )  # fmt: skip
    assert body["reason_code"] == "issued_in_error"


def test_the_month_export_lists_requests_without_a_number(finance_client, three_lines):
    invoice_id = issued_march(finance_client)

    def export() -> list[dict[str, str]]:
        response = finance_client.get("/api/v1/invoices/fapiao-export/?month=2027-04")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        return list(csv.DictReader(io.StringIO(response.content.decode())))

    rows = export()
    assert [(r["document_number"], r["amount"], r["tax"]) for r in rows] == [
        ("INV-2027-000001", "3396.77", "203.81"),
        ("INV-2027-000001", "2377.74", "142.66"),
        ("INV-2027-000001", "1245.48", "74.73"),
    ]
    assert rows[0]["total_with_tax_in_capitals"] == "柒仟肆佰肆拾壹元壹角玖分"
    assert (
        finance_client.get("/api/v1/invoices/fapiao-export/?month=2027-03").content.count(b"\n")
        == 1
    )  # the header only: nothing was issued in March
    record(finance_client, f"/api/v1/invoices/{invoice_id}/fapiao/")
    with at("2027-04-06 10:00"):
        credit_note_create(
            actor=None, invoice=Invoice.objects.get(), amount="53.00", reason="late start",
            reason_code="service_stopped",
        )  # fmt: skip
    rows = export()
    # 53.00 / 1.06 = 50.00 before tax, 3.00 tax
    red = [(r["kind"], r["document_type"], r["amount"], r["tax"], r["original_fapiao_number"])
           for r in rows]  # fmt: skip
    assert red == [("red", "credit_note", "-50.00", "-3.00", "26422000000000000001")]
    assert finance_client.get("/api/v1/invoices/fapiao-export/?month=2027-4").status_code == 400


def test_the_pdf_shows_the_fapiao_number(finance_client, three_lines):
    invoice_id = issued_march(finance_client)
    record(finance_client, f"/api/v1/invoices/{invoice_id}/fapiao/")
    response = finance_client.get(f"/api/v1/invoices/{invoice_id}/pdf/")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "26422000000000000001" in text
    assert "91420500MA4DEM0002" in text


def test_admin_may_record_and_operator_may_not(make_client, make_user, three_lines, finance_client):
    invoice_id = issued_march(finance_client)
    url = f"/api/v1/invoices/{invoice_id}/fapiao/"
    assert record(make_client(make_user("operator")), url).status_code == 403
    assert record(make_client(make_user("admin")), url).status_code == 200
    assert dt.date(2027, 4, 2) == Invoice.objects.get().fapiao_issued_on
