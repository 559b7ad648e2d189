import datetime as dt
import io

import pytest
from pypdf import PdfReader

from billing.models import CreditNote, Invoice, InvoiceRun
from tests.billing.conftest import D, long_lease
from tests.timing import at

pytestmark = pytest.mark.django_db


@pytest.fixture
def march(tenant, domestic):
    with at("2027-02-20 10:00"):
        long_lease(tenant, domestic, 4, "2027-03-01")
    return tenant


def run_month(client, month="2027-03"):
    return client.post("/api/v1/invoice-runs/", {"month": month}, format="json")


def test_an_invoice_run_makes_one_draft_per_tenant_and_twice_changes_nothing(finance_client, march):
    with at("2027-04-01 09:00"):
        response = run_month(finance_client)
        assert response.status_code == 201, response.json()
        assert response.json()["status"] == "done"
        assert response.json()["invoices"] == 1
        assert response.json()["month"] == "2027-03"
        before = list(Invoice.objects.values()), list(Invoice.objects.get().lines.values())
        run_month(finance_client)
        after = list(Invoice.objects.values()), list(Invoice.objects.get().lines.values())
    assert [{k: v for k, v in row.items() if k != "updated_at"} for row in before[0]] == [
        {k: v for k, v in row.items() if k != "updated_at"} for row in after[0]
    ]
    assert before[1] == after[1]
    assert InvoiceRun.objects.count() == 2


def test_the_invoice_shape(finance_client, tenant_client, march):
    with at("2027-04-01 09:00"):
        run_month(finance_client)
    body = tenant_client.get("/api/v1/invoices/").json()["results"][0]
    assert body["status"] == "draft"
    assert body["number"] is None
    assert body["currency"] == "CNY"
    assert (body["subtotal"], body["tax"], body["voucher_deduction"], body["amount_due"]) == (
        "14040.00", "842.40", "0.00", "14882.40"
    )  # fmt: skip
    line = body["lines"][0]
    assert {k: line[k] for k in ("kind", "quantity", "unit_price", "amount", "period_start",
                                 "period_end")} == {
        "kind": "long_lease_fee", "quantity": "4.000000", "unit_price": "3510.0000",
        "amount": "14040.00", "period_start": "2027-03-01", "period_end": "2027-04-01",
    }  # fmt: skip
    assert body["redemptions"] == []


def test_issue_numbers_and_wrong_state_actions(finance_client, march):
    with at("2027-04-01 09:00"):
        run_month(finance_client)
        invoice_id = Invoice.objects.get().pk
        issued = finance_client.post(f"/api/v1/invoices/{invoice_id}/issue/").json()
        assert issued["number"] == "INV-2027-000001"
        assert issued["status"] == "issued"
        again = finance_client.post(f"/api/v1/invoices/{invoice_id}/issue/")
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "invalid_state"
        early = finance_client.post(
            f"/api/v1/invoices/{invoice_id}/pay/", {"paid_on": "2027-04-02", "reference": "BOC-1"},
            format="json",
        )  # fmt: skip
        assert early.status_code == 400  # a payment is recorded once it has happened
        assert "paid_on" in early.json()["error"]["fields"]
        paid = finance_client.post(
            f"/api/v1/invoices/{invoice_id}/pay/", {"paid_on": "2027-04-01", "reference": "BOC-1"},
            format="json",
        ).json()  # fmt: skip
        assert (paid["status"], paid["paid_on"], paid["payment_reference"]) == (
            "paid", "2027-04-01", "BOC-1"
        )  # fmt: skip
        void = finance_client.post(
            f"/api/v1/invoices/{invoice_id}/void/", {"reason": "x"}, format="json"
        )
        assert void.status_code == 409


def test_paying_a_void_invoice_is_a_409(finance_client, march):
    with at("2027-04-01 09:00"):
        run_month(finance_client)
        invoice_id = Invoice.objects.get().pk
        finance_client.post(f"/api/v1/invoices/{invoice_id}/issue/")
        finance_client.post(
            f"/api/v1/invoices/{invoice_id}/void/", {"reason": "dup"}, format="json"
        )
        response = finance_client.post(f"/api/v1/invoices/{invoice_id}/pay/", {}, format="json")
    assert response.status_code == 409
    assert Invoice.objects.get(pk=invoice_id).status == "void"


def test_issued_invoices_never_change_when_the_run_is_repeated(finance_client, march, domestic):
    with at("2027-04-01 09:00"):
        run_month(finance_client)
        invoice = Invoice.objects.get()
        finance_client.post(f"/api/v1/invoices/{invoice.pk}/issue/")
        long_lease(march, domestic, 2, "2027-04-01")  # new business does not touch March
        run_month(finance_client)
    invoice.refresh_from_db()
    assert invoice.subtotal == D("14040.00")
    assert Invoice.objects.filter(month=dt.date(2027, 3, 1)).count() == 1


def test_credit_notes_up_to_what_is_uncredited(finance_client, tenant_client, march):
    with at("2027-04-01 09:00"):
        run_month(finance_client)
        invoice_id = Invoice.objects.get().pk
        draft_note = finance_client.post(
            "/api/v1/credit-notes/",
            {"invoice": invoice_id, "amount": "10.00", "reason": "x", "reason_code": "allowance"},
            format="json",
        )  # fmt: skip
        assert draft_note.status_code == 409
        finance_client.post(f"/api/v1/invoices/{invoice_id}/issue/")
        first = finance_client.post(
            "/api/v1/credit-notes/",
            {"invoice": invoice_id, "amount": "14000.00", "reason": "SLA breach",
             "reason_code": "allowance"}, format="json",
        )  # fmt: skip
        assert first.status_code == 201, first.json()
        assert first.json()["number"] == "CN-2027-000001"
        too_much = finance_client.post(
            "/api/v1/credit-notes/",
            {"invoice": invoice_id, "amount": "882.41", "reason": "x", "reason_code": "allowance"},
            format="json",
        )  # fmt: skip
        assert too_much.status_code == 400
        assert "amount" in too_much.json()["error"]["fields"]
        rest = finance_client.post(
            "/api/v1/credit-notes/",
            {"invoice": invoice_id, "amount": "882.40", "reason": "x", "reason_code": "allowance"},
            format="json",
        )  # fmt: skip
        assert rest.json()["number"] == "CN-2027-000002"
    assert CreditNote.objects.count() == 2
    assert tenant_client.get("/api/v1/credit-notes/").json()["count"] == 2
    assert tenant_client.post(
        "/api/v1/credit-notes/",
        {"invoice": invoice_id, "amount": "1", "reason": "x", "reason_code": "allowance"},
        format="json",
    ).status_code == 403  # fmt: skip


def test_tenants_see_only_their_invoices_and_cannot_issue(
    finance_client, tenant_client, make_user, make_client, march
):
    with at("2027-04-01 09:00"):
        run_month(finance_client)
    invoice_id = Invoice.objects.get().pk
    assert tenant_client.post(f"/api/v1/invoices/{invoice_id}/issue/").status_code == 403
    stranger = make_client(make_user("tenant"))
    assert stranger.get(f"/api/v1/invoices/{invoice_id}/").status_code == 404
    assert stranger.get(f"/api/v1/invoices/{invoice_id}/pdf/").status_code == 404
    # not even a finance-only action tells a stranger that the invoice exists
    assert stranger.post(f"/api/v1/invoices/{invoice_id}/pay/").status_code == 404
    assert tenant_client.post("/api/v1/invoice-runs/", {"month": "2027-03"}).status_code == 403


@pytest.mark.parametrize("month", ["2027-13", "27-03", "", "March"])
def test_a_bad_month_is_a_400(finance_client, month):
    response = run_month(finance_client, month)
    assert response.status_code == 400
    assert "month" in response.json()["error"]["fields"]


def test_the_pdf_carries_seller_buyer_lines_tax_voucher_and_amount_due(finance_client, march):
    march.tax_id = "91420500MA4F0ZY01X"
    march.save()
    with at("2027-04-01 09:00"):
        run_month(finance_client)
        invoice_id = Invoice.objects.get().pk
        finance_client.post(f"/api/v1/invoices/{invoice_id}/issue/")
        response = finance_client.get(f"/api/v1/invoices/{invoice_id}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    for expected in (
        "INV-2027-000001", march.name, "91420500MA4F0ZY01X", "Seller", "Buyer", "14,040.00",
        "842.40", "Amount due", "CNY 14,882.40", "Compute-voucher deduction", "2027-03",
        "发票",
    ):  # fmt: skip
        assert expected in text, expected


def test_the_month_export_is_a_csv_of_invoices_and_lines(finance_client, march):
    with at("2027-04-01 09:00"):
        run_month(finance_client)
        response = finance_client.get("/api/v1/invoices/export/?month=2027-03")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = response.content.decode().strip().splitlines()
    assert rows[0].startswith("invoice_number,invoice_id,tenant_id,tenant")
    assert len(rows) == 2
    assert ",long_lease_fee," in rows[1]
    assert ",14040.00," in rows[1]


def test_the_pdf_dates_the_issue_in_operator_time(finance_client, march):
    with at("2027-04-01 00:30"):  # still 31 March in UTC
        run_month(finance_client)
        invoice_id = Invoice.objects.get().pk
        assert finance_client.post(f"/api/v1/invoices/{invoice_id}/issue/").status_code == 200
        response = finance_client.get(f"/api/v1/invoices/{invoice_id}/pdf/")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "Issued: 2027-04-01" in text


def test_a_month_that_has_not_begun_is_a_400_and_records_no_run(finance_client, march):
    with at("2027-03-20 10:00"):
        for month in ("2027-04", "9999-12"):
            response = run_month(finance_client, month)
            assert response.status_code == 400, response.json()
            assert "month" in response.json()["error"]["fields"]
    assert not InvoiceRun.objects.exists()


def test_a_month_is_issued_in_arrears_once_it_is_over(finance_client, march):
    with at("2027-03-20 10:00"):
        assert run_month(finance_client).status_code == 201  # a preview of the running month
        invoice_id = Invoice.objects.get().pk
        early = finance_client.post(f"/api/v1/invoices/{invoice_id}/issue/")
        assert early.status_code == 409
        assert "arrears" in early.json()["error"]["message"]
    assert Invoice.objects.get().status == "draft"
    with at("2027-04-01 00:00"):
        assert finance_client.post(f"/api/v1/invoices/{invoice_id}/issue/").status_code == 200


def test_issue_takes_no_body_and_refuses_a_broken_one(finance_client, march):
    with at("2027-04-01 09:00"):
        run_month(finance_client)
        invoice_id = Invoice.objects.get().pk
        url = f"/api/v1/invoices/{invoice_id}/issue/"
        for body in ('{"a":', '{"zz": 1}'):
            response = finance_client.generic("POST", url, body, content_type="application/json")
            assert response.status_code == 400, body
        assert Invoice.objects.get().status == "draft"
        assert finance_client.post(url).status_code == 200


def test_invoices_and_grants_name_what_they_point_at(finance_client, tenant_client, march,
                                                     domestic):  # fmt: skip
    with at("2027-04-01 09:00"):
        run_month(finance_client)
    invoice = tenant_client.get("/api/v1/invoices/").json()["results"][0]
    assert invoice["tenant_name"] == march.name
    assert {line["card_model_name"] for line in invoice["lines"]} == {domestic.name}
    programme = finance_client.post("/api/v1/voucher-programs/", {
        "issuer": "City", "name": "Cards 2027", "budget": "1000.00", "coverage_rate": "0.2000",
        "per_tenant_cap": "1000.00", "valid_from": "2027-01-01", "valid_to": "2027-12-31",
        "model_rates": [{"card_model": domestic.pk, "rate": "0.3000"}],
    }, format="json").json()  # fmt: skip
    assert programme["model_rates"][0]["card_model_name"] == domestic.name
    grant = finance_client.post(
        "/api/v1/voucher-grants/",
        {"program": programme["id"], "tenant": march.pk, "amount": "100.00"},
        format="json",
    ).json()
    assert (grant["program_name"], grant["tenant_name"]) == ("Cards 2027", march.name)
