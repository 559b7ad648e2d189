"""Invoice documents: stored text is text, issued documents are frozen, fonts are embedded,
CSV cells never start a formula, and downloads answer their own media type."""

import csv
import io

import pytest
from pypdf import PdfReader

from billing.models import Invoice
from tests.billing.conftest import long_lease
from tests.timing import at

pytestmark = pytest.mark.django_db

AWKWARD_NAMES = ["Smith & Sons <UK", "AT&T Labs", '<img src="/etc/passwd"> Ltd']


@pytest.fixture
def march(tenant, domestic):
    with at("2027-02-20 10:00"):
        long_lease(tenant, domestic, 4, "2027-03-01")
    return tenant


def run_and_get(finance_client, *, issue: bool = False) -> int:
    with at("2027-04-01 09:00"):
        assert finance_client.post(
            "/api/v1/invoice-runs/", {"month": "2027-03"}, format="json"
        ).status_code == 201  # fmt: skip
        invoice_id = Invoice.objects.get().pk
        if issue:
            assert finance_client.post(f"/api/v1/invoices/{invoice_id}/issue/").status_code == 200
    return invoice_id


def pdf_text(content: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode())))


# --- 2. stored text is text ---


@pytest.mark.parametrize("name", AWKWARD_NAMES)
def test_names_and_addresses_print_literally_in_the_pdf(finance_client, march, name):
    march.name = name
    march.billing_address = f"{name} & Co., <b>Floor 3</b>"
    march.save()
    invoice_id = run_and_get(finance_client, issue=True)
    response = finance_client.get(f"/api/v1/invoices/{invoice_id}/pdf/")
    assert response.status_code == 200
    text = pdf_text(response.content)
    assert name in text
    assert f"{name} & Co., <b>Floor 3</b>" in text
    assert "&amp;" not in text and "&;" not in text


@pytest.mark.parametrize(
    ("field", "length"), [("billing_address", 5000), ("name", 201), ("tax_id", 33)]
)
def test_an_over_long_tenant_field_is_a_400(finance_client, tenant, field, length):
    response = finance_client.patch(
        f"/api/v1/tenants/{tenant.pk}/", {field: "x" * length}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_an_over_long_credit_note_reason_is_a_400(finance_client, march):
    invoice_id = run_and_get(finance_client, issue=True)
    response = finance_client.post(
        "/api/v1/credit-notes/",
        {"invoice": invoice_id, "amount": "1.00", "reason": "x" * 5000, "reason_code": "allowance"},
        format="json",
    )
    assert response.status_code == 400
    assert "reason" in response.json()["error"]["fields"]


# --- 3. issued documents are frozen ---


def test_an_issued_invoice_keeps_the_buyer_it_was_issued_to(finance_client, march):
    old_name, old_address = march.name, march.billing_address
    invoice_id = run_and_get(finance_client, issue=True)
    march.name, march.billing_address, march.tax_id = "Renamed Co", "New Road 9", "NEWTAXID"
    march.save()
    text = pdf_text(finance_client.get(f"/api/v1/invoices/{invoice_id}/pdf/").content)
    assert old_name in text and old_address in text
    assert "Renamed Co" not in text and "New Road 9" not in text and "NEWTAXID" not in text
    export = finance_client.get("/api/v1/invoices/export/?month=2027-03").content.decode()
    assert old_name in export and "Renamed Co" not in export


def test_a_draft_shows_the_tenant_as_it_is_now(finance_client, march):
    invoice_id = run_and_get(finance_client)
    march.name = "Renamed Co"
    march.save()
    text = pdf_text(finance_client.get(f"/api/v1/invoices/{invoice_id}/pdf/").content)
    assert "Renamed Co" in text


# --- 4. CSV cells never start a formula ---


def test_the_invoice_export_neutralises_formulas_and_keeps_numbers(finance_client, march):
    march.name = '=HYPERLINK("http://x","y")'
    march.tax_id = "+1+1"
    march.save()
    run_and_get(finance_client, issue=True)
    rows = csv_rows(finance_client.get("/api/v1/invoices/export/?month=2027-03").content)
    header, row = rows[0], rows[1]
    record = dict(zip(header, row, strict=True))
    assert record["tenant"] == '\'=HYPERLINK("http://x","y")'
    assert record["tax_id"] == "'+1+1"
    assert record["subtotal"] == "14040.00"
    assert record["invoice_number"] == "INV-2027-000001"


def test_the_claims_csv_neutralises_formulas(finance_client, march, domestic):
    march.name = "@SUM(1+1)"
    march.save()
    programme_id = _programme_and_grant(
        finance_client, march, domestic, issuer="=cmd|' /C calc'!A0"
    )
    run_and_get(finance_client, issue=True)
    response = finance_client.get(
        f"/api/v1/voucher-programs/{programme_id}/claims/",
        {"month": "2027-03", "format": "csv"},
    )
    rows = csv_rows(response.content)
    assert rows[1][rows[0].index("tenant")] == "'@SUM(1+1)"
    assert rows[1][rows[0].index("amount")] == "4212.00"
    # 14: the claim answers text/csv (as CSV) and */* (as JSON, unless ?format=csv)
    url = f"/api/v1/voucher-programs/{programme_id}/claims/"
    as_csv = finance_client.get(url, {"month": "2027-03"}, HTTP_ACCEPT="text/csv")
    assert as_csv.status_code == 200
    assert as_csv["Content-Type"].startswith("text/csv")
    assert csv_rows(as_csv.content) == rows
    any_type = finance_client.get(url, {"month": "2027-03", "format": "csv"}, HTTP_ACCEPT="*/*")
    assert any_type["Content-Type"].startswith("text/csv")
    as_json = finance_client.get(url, {"month": "2027-03"}, HTTP_ACCEPT="*/*")
    assert as_json.json()["total"] == "4212.00"
    bad = finance_client.get(url, {"month": "2027-13"}, HTTP_ACCEPT="text/csv")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid"


def test_report_csv_rows_go_through_the_same_neutraliser():
    from analytics.reports import rows_csv

    text = rows_csv(
        [{"period": "2027-03", "group": "-1+2", "group_name": "=1+1", "amount": "-12.50"}],
        ["period", "group", "group_name", "amount"],
    )
    assert csv_rows(text.encode())[1] == ["2027-03", "'-1+2", "'=1+1", "-12.50"]


# --- 14. downloads answer their own media type ---


@pytest.mark.parametrize("accept", ["application/pdf", "*/*", "application/json"])
def test_the_pdf_answers_its_own_media_type(finance_client, march, accept):
    invoice_id = run_and_get(finance_client)
    response = finance_client.get(f"/api/v1/invoices/{invoice_id}/pdf/", HTTP_ACCEPT=accept)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"


def test_a_pdf_error_is_still_the_json_error_body(make_client, make_user, finance_client, march):
    invoice_id = run_and_get(finance_client)
    stranger = make_client(make_user("tenant"))
    response = stranger.get(f"/api/v1/invoices/{invoice_id}/pdf/", HTTP_ACCEPT="application/pdf")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("accept", ["text/csv", "*/*"])
def test_the_invoice_export_answers_its_own_media_type(finance_client, march, accept):
    run_and_get(finance_client)
    response = finance_client.get("/api/v1/invoices/export/?month=2027-03", HTTP_ACCEPT=accept)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")


def test_an_export_error_is_still_the_json_error_body(finance_client):
    response = finance_client.get("/api/v1/invoices/export/?month=2027-13", HTTP_ACCEPT="text/csv")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "invalid"


# --- 17. fonts are embedded ---


def test_every_font_in_the_pdf_is_embedded_and_chinese_labels_extract(finance_client, march):
    invoice_id = run_and_get(finance_client, issue=True)
    content = finance_client.get(f"/api/v1/invoices/{invoice_id}/pdf/").content
    reader = PdfReader(io.BytesIO(content))
    fonts = []
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            if "/DescendantFonts" in font:  # a composite (Type0) font: its descendant has it
                font = font["/DescendantFonts"][0].get_object()
            descriptor = font.get("/FontDescriptor")
            assert descriptor is not None, f"{font['/BaseFont']} is not embedded"
            descriptor = descriptor.get_object()
            assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor), font
            fonts.append(font["/BaseFont"])
    assert fonts
    text = pdf_text(content)
    labels = ("发票", "销售方", "购买方", "纳税人识别号", "小计", "增值税", "应付金额", "算力券")
    for label in labels:
        assert label in text, label


def test_a_text_too_long_for_its_column_is_a_400_not_a_500(db):
    from django.db import DataError, connection, transaction

    from core.exceptions import api_exception_handler

    with pytest.raises(DataError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO accounts_tenant (name, category, tax_id, billing_address,"
                       " created_at, updated_at) VALUES (%s, 'enterprise', '', '', now(), now())",
                       ["x" * 201])  # fmt: skip
    response = api_exception_handler(caught.value, {})
    assert response is not None and response.status_code == 400
    assert response.data["error"]["code"] == "invalid"


# --- issued invoices show the frozen buyer everywhere; periods read right to a clerk ---


def _programme_and_grant(finance_client, tenant, model, issuer: str = "Hubei") -> int:
    programme = finance_client.post(
        "/api/v1/voucher-programs/",
        {
            "issuer": issuer, "name": "Compute vouchers 2027",
            "budget": "1000000.00", "coverage_rate": "0.2000",
            "model_rates": [{"card_model": model.pk, "rate": "0.3000"}],
            "per_tenant_cap": "50000.00", "valid_from": "2027-01-01", "valid_to": "2027-12-31",
            "lease_kinds": ["long", "short"], "card_models": [],
        },
        format="json",
    )  # fmt: skip
    assert programme.status_code == 201, programme.json()
    grant = finance_client.post(
        "/api/v1/voucher-grants/",
        {"program": programme.json()["id"], "tenant": tenant.pk, "amount": "10000.00",
         "valid_from": "2027-01-01", "valid_to": "2027-12-31"},
        format="json",
    )  # fmt: skip
    assert grant.status_code == 201, grant.json()
    return programme.json()["id"]


def test_an_issued_invoice_json_and_its_claim_keep_the_frozen_buyer_name(
    finance_client, march, domestic
):
    old_name = march.name
    programme = _programme_and_grant(finance_client, march, domestic)
    invoice_id = run_and_get(finance_client, issue=True)
    with at("2027-04-02 09:00"):
        note = finance_client.post(
            "/api/v1/credit-notes/",
            {
                "invoice": invoice_id,
                "amount": "1.00",
                "reason": "goodwill",
                "reason_code": "allowance",
            },
            format="json",
        )
    assert note.status_code == 201, note.json()
    march.name, march.tax_id = "Renamed Co", "NEWTAXID"
    march.save()
    notes = finance_client.get("/api/v1/credit-notes/").json()["results"]
    assert [row["tenant_name"] for row in notes] == [old_name]
    detail = finance_client.get(f"/api/v1/invoices/{invoice_id}/").json()
    assert detail["tenant_name"] == old_name
    listed = finance_client.get("/api/v1/invoices/").json()["results"]
    assert [row["tenant_name"] for row in listed] == [old_name]
    url = f"/api/v1/voucher-programs/{programme}/claims/"
    claim = finance_client.get(url, {"month": "2027-03"}).json()
    assert [row["tenant_name"] for row in claim["rows"]] == [old_name]
    rows = csv_rows(finance_client.get(url, {"month": "2027-03", "format": "csv"}).content)
    assert rows[1][rows[0].index("tenant")] == old_name
    assert "Renamed Co" not in str(rows) and "NEWTAXID" not in str(rows)


def test_a_draft_invoice_json_shows_the_live_name(finance_client, march):
    invoice_id = run_and_get(finance_client)
    march.name = "Renamed Co"
    march.save()
    assert finance_client.get(f"/api/v1/invoices/{invoice_id}/").json()["tenant_name"] == (
        "Renamed Co"
    )
    listed = finance_client.get("/api/v1/invoices/").json()["results"]
    assert [row["tenant_name"] for row in listed] == ["Renamed Co"]


def test_the_invoice_list_costs_no_query_per_invoice_for_the_buyer_name(
    finance_client, tenant, domestic, django_assert_max_num_queries
):
    from accounts.models import Tenant

    for n in range(3):
        other = tenant if n == 0 else Tenant.objects.create(name=f"Other tenant {n}")
        with at("2027-02-20 10:00"):
            long_lease(other, domestic, 1, "2027-03-01")
    with at("2027-04-01 09:00"):
        finance_client.post("/api/v1/invoice-runs/", {"month": "2027-03"}, format="json")
        for invoice in Invoice.objects.all()[:2]:
            finance_client.post(f"/api/v1/invoices/{invoice.pk}/issue/")
    # 8, then the payments (1) and the drafts' voucher preview (lines, grants, their terms: 3)
    with django_assert_max_num_queries(12) as counted:
        response = finance_client.get("/api/v1/invoices/")
    first = len(counted.captured_queries)
    assert response.status_code == 200 and len(response.json()["results"]) == 3
    Tenant.objects.create(name="Other tenant 9")
    with at("2027-02-20 10:00"):
        long_lease(Tenant.objects.get(name="Other tenant 9"), domestic, 1, "2027-03-01")
    with at("2027-04-01 09:30"):
        finance_client.post("/api/v1/invoice-runs/", {"month": "2027-03"}, format="json")
    with django_assert_max_num_queries(first):
        assert len(finance_client.get("/api/v1/invoices/").json()["results"]) == 4


def test_the_pdf_prints_the_last_day_a_period_includes(finance_client, tenant, domestic):
    with at("2026-11-20 10:00"):
        long_lease(tenant, domestic, 1, "2026-12-01")
    with at("2027-01-02 09:00"):
        assert finance_client.post(
            "/api/v1/invoice-runs/", {"month": "2026-12"}, format="json"
        ).status_code == 201  # fmt: skip
    invoice_id = Invoice.objects.get().pk
    text = pdf_text(finance_client.get(f"/api/v1/invoices/{invoice_id}/pdf/").content)
    assert "2026-12-01 – 2026-12-31" in text
    assert "2027-01-01" not in text


def test_the_pdf_prints_a_short_lease_s_real_end(finance_client, tenant, domestic):
    from leasing.services import lease_create, lease_stop

    with at("2027-04-10 09:15:30"):
        lease = lease_create(actor=None, tenant=tenant, kind="short", card_model=domestic,
                             card_count=1)  # fmt: skip
    with at("2027-04-12 18:40:10"):
        lease_stop(actor=None, lease=lease)
    with at("2027-05-01 08:00"):
        assert finance_client.post(
            "/api/v1/invoice-runs/", {"month": "2027-04"}, format="json"
        ).status_code == 201  # fmt: skip
    invoice_id = Invoice.objects.get().pk
    text = pdf_text(finance_client.get(f"/api/v1/invoices/{invoice_id}/pdf/").content)
    # the period column wraps a period with times onto two lines
    assert "2027-04-10 09:15 – 2027-04-12 18:40" in " ".join(text.split())
    assert "2027-05-01" not in text


def test_the_pdf_says_test_clock_only_when_the_clock_is_frozen(finance_client, march, settings):
    import datetime as dt

    from core import clock

    settings.TEST_CLOCK = True
    invoice_id = run_and_get(finance_client)
    with at("2027-04-02 09:00"):
        text = pdf_text(finance_client.get(f"/api/v1/invoices/{invoice_id}/pdf/").content)
        assert "test clock" not in text
        clock.set_test_clock(dt.datetime(2027, 4, 2, 1, 0, tzinfo=dt.UTC))
        text = pdf_text(finance_client.get(f"/api/v1/invoices/{invoice_id}/pdf/").content)
        assert "Generated under a test clock" in text
