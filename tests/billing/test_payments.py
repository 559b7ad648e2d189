"""Golden scenarios of partial payments, draft previews and credit notes, figures by hand.

The March invoice of every scenario: one long lease of 4 domestic cards at 3,510.00 a card-month
for its 12-month term, the whole month:
    subtotal = 4 × 3,510.00 = 14,040.00;  VAT 6 % = 842.40;  amount due = 14,882.40.
"""

import datetime as dt
import io

import pytest
from django.db import IntegrityError, transaction
from pypdf import PdfReader

from billing.models import CreditNote, Invoice, Payment, VoucherGrant, VoucherRedemption
from billing.services.vouchers import voucher_grant_create, voucher_program_create
from tests.billing.conftest import D, long_lease
from tests.timing import at

pytestmark = pytest.mark.django_db


@pytest.fixture
def march(tenant, domestic):
    with at("2027-02-20 10:00"):
        long_lease(tenant, domestic, 4, "2027-03-01")
    return tenant


def issued(client) -> int:
    with at("2027-04-01 09:00"):
        run = client.post("/api/v1/invoice-runs/", {"month": "2027-03"}, format="json")
        assert run.status_code == 201
        invoice_id = Invoice.objects.get().pk
        assert client.post(f"/api/v1/invoices/{invoice_id}/issue/").status_code == 200
    return invoice_id


def pay(client, invoice_id, **body):
    return client.post(f"/api/v1/invoices/{invoice_id}/pay/", body, format="json")


def figures(body) -> tuple:
    return (body["status"], body["amount_due"], body["amount_paid"], body["balance"],
            body["paid_on"], body["payment_reference"])  # fmt: skip


# --- 1. a partial, then the final payment ---


def test_a_partial_then_the_final_payment(finance_client, tenant_client, march):
    invoice_id = issued(finance_client)
    with at("2027-04-05 10:00"):
        first = pay(finance_client, invoice_id, amount="5000.00", paid_on="2027-04-05",
                    reference="BOC-1")  # fmt: skip
    assert first.status_code == 200, first.json()
    # 14,882.40 − 5,000.00 = 9,882.40 still open; not paid yet, so no paid_on
    assert figures(first.json()) == ("issued", "14882.40", "5000.00", "9882.40", None, "")
    with at("2027-04-10 10:00"):
        final = pay(finance_client, invoice_id, reference="BOC-2")  # amount: the balance
    assert final.status_code == 200, final.json()
    # 5,000.00 + 9,882.40 = 14,882.40: settled on the final payment's day, with its reference
    assert figures(final.json()) == ("paid", "14882.40", "14882.40", "0.00", "2027-04-10", "BOC-2")
    assert [(p["amount"], p["paid_on"], p["reference"]) for p in final.json()["payments"]] == [
        ("5000.00", "2027-04-05", "BOC-1"), ("9882.40", "2027-04-10", "BOC-2"),
    ]  # fmt: skip
    # the tenant reads the same
    mine = tenant_client.get(f"/api/v1/invoices/{invoice_id}/").json()
    assert figures(mine) == figures(final.json()) and len(mine["payments"]) == 2
    with at("2027-04-11 10:00"):
        again = pay(finance_client, invoice_id, amount="1.00")
    assert again.status_code == 409  # a paid invoice takes no more payments
    assert Payment.objects.count() == 2


def test_a_payment_above_the_balance_is_a_400_and_writes_nothing(finance_client, march):
    invoice_id = issued(finance_client)
    with at("2027-04-05 10:00"):
        pay(finance_client, invoice_id, amount="5000.00")
        over = pay(finance_client, invoice_id, amount="9882.41")  # one cent above 9,882.40
        zero = pay(finance_client, invoice_id, amount="0.00")
        bad = pay(finance_client, invoice_id, amount="lots")
        future = pay(finance_client, invoice_id, amount="1.00", paid_on="2027-04-06")
    assert over.status_code == 400
    assert over.json()["error"]["code"] == "over_balance"
    assert over.json()["error"]["fields"] == {"amount": ["At most 9882.40."]}
    for refused in (zero, bad, future):
        assert (refused.status_code == 400 and "amount" in refused.json()["error"]["fields"]) or (
            refused is future and "paid_on" in refused.json()["error"]["fields"]
        )
    invoice = Invoice.objects.get()
    assert (invoice.status, invoice.amount_paid, Payment.objects.count()) == (
        "issued", D("5000.00"), 1
    )  # fmt: skip


def test_an_invoice_with_a_payment_is_not_voided(finance_client, march):
    invoice_id = issued(finance_client)
    with at("2027-04-05 10:00"):
        pay(finance_client, invoice_id, amount="0.01")
        void = finance_client.post(
            f"/api/v1/invoices/{invoice_id}/void/", {"reason": "wrong"}, format="json"
        )
    assert void.status_code == 409
    assert void.json()["error"]["code"] == "invalid_state"
    assert Invoice.objects.get().status == "issued"


def test_credit_notes_and_payments_share_the_balance(finance_client, march):
    invoice_id = issued(finance_client)
    with at("2027-04-05 10:00"):
        pay(finance_client, invoice_id, amount="14000.00", paid_on="2027-04-05", reference="P1")
        # a credit note may take what is uncredited (14,882.40), paid or not; this one covers
        # the 882.40 still open: 14,882.40 − 882.40 − 14,000.00 = 0.00, settled by P1
        note = finance_client.post(
            "/api/v1/credit-notes/",
            {"invoice": invoice_id, "amount": "882.40", "reason": "SLA",
             "reason_code": "allowance"}, format="json",
        )  # fmt: skip
    assert note.status_code == 201, note.json()
    body = finance_client.get(f"/api/v1/invoices/{invoice_id}/").json()
    assert figures(body) == ("paid", "14882.40", "14000.00", "0.00", "2027-04-05", "P1")
    assert body["credited"] == "882.40"


def test_a_credit_note_leaves_less_to_pay(finance_client, march):
    invoice_id = issued(finance_client)
    with at("2027-04-05 10:00"):
        finance_client.post(
            "/api/v1/credit-notes/",
            {"invoice": invoice_id, "amount": "882.40", "reason": "SLA", "reason_code": "returned"},
            format="json",
        )  # fmt: skip
        over = pay(finance_client, invoice_id, amount="14000.01")
        assert over.status_code == 400
        paid = pay(finance_client, invoice_id)  # the balance: 14,882.40 − 882.40 = 14,000.00
    assert figures(paid.json()) == ("paid", "14882.40", "14000.00", "0.00", "2027-04-05", "")


def test_the_database_refuses_payments_beyond_the_balance_and_edits(finance_client, march):
    invoice_id = issued(finance_client)
    invoice = Invoice.objects.get(pk=invoice_id)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(invoice=invoice, amount=D("14882.41"), paid_on=dt.date(2027, 4, 2))
    payment = Payment.objects.create(
        invoice=invoice, amount=D("100.00"), paid_on=dt.date(2027, 4, 2)
    )
    invoice.refresh_from_db()
    assert invoice.amount_paid == D("100.00")  # kept by the trigger
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(amount=D("1.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).delete()
    # only a payment changes amount_paid: a stale save or a bulk update keeps it
    Invoice.objects.filter(pk=invoice_id).update(amount_paid=D("0.00"))
    stale = Invoice.objects.get(pk=invoice_id)
    Payment.objects.create(invoice=invoice, amount=D("50.00"), paid_on=dt.date(2027, 4, 2))
    stale.payment_reference = "edited"
    stale.save()  # amount_paid 100.00 in memory
    stale.refresh_from_db()
    assert (stale.amount_paid, stale.payment_reference) == (D("150.00"), "edited")


# --- 2. a draft's preview is what issuing gives ---


def test_a_drafts_preview_is_what_issuing_then_gives_with_two_programmes(
    finance_client, tenant_client, march
):
    # The city's programme (ends first) covers 30 % of the line: 0.3 × 14,040.00 = 4,212.00.
    # The district's covers 20 % of what the city left: 0.2 × (14,040.00 − 4,212.00) = 1,965.60,
    # but its grant holds 1,000.00: it pays 1,000.00. Deduction 4,212.00 + 1,000.00 = 5,212.00;
    # amount due 14,882.40 − 5,212.00 = 9,670.40 (VAT stays on the full subtotal).
    city = voucher_program_create(
        actor=None, issuer="Wuhan", name="city", budget=D("100000.00"), coverage_rate=D("0.3000"),
        per_tenant_cap=D("100000.00"), valid_from=dt.date(2027, 1, 1),
        valid_to=dt.date(2027, 6, 30), lease_kinds=["long"],
    )  # fmt: skip
    district = voucher_program_create(
        actor=None, issuer="Hongshan", name="district", budget=D("50000.00"),
        coverage_rate=D("0.2000"), per_tenant_cap=D("50000.00"), valid_from=dt.date(2027, 1, 1),
        valid_to=dt.date(2027, 12, 31), lease_kinds=["long"],
    )  # fmt: skip
    voucher_grant_create(actor=None, program=city, tenant=march, amount=D("20000.00"))
    voucher_grant_create(actor=None, program=district, tenant=march, amount=D("1000.00"))
    with at("2027-04-01 09:00"):
        finance_client.post("/api/v1/invoice-runs/", {"month": "2027-03"}, format="json")
    invoice_id = Invoice.objects.get().pk
    for client in (finance_client, tenant_client):
        draft = client.get(f"/api/v1/invoices/{invoice_id}/").json()
        listed = client.get("/api/v1/invoices/").json()["results"][0]
        for body in (draft, listed):
            assert (body["status"], body["preview"], body["voucher_deduction"],
                    body["amount_due"], body["balance"], body["redemptions"]) == (
                "draft", True, "5212.00", "9670.40", "9670.40", []
            )  # fmt: skip
    assert VoucherRedemption.objects.count() == 0  # a preview redeems nothing
    assert sum(g.redeemed for g in VoucherGrant.objects.all()) == 0
    export = finance_client.get("/api/v1/invoices/export/?month=2027-03").content.decode()
    assert ",5212.00,9670.40,true," in export
    draft_pdf = pdf_text(finance_client.get(f"/api/v1/invoices/{invoice_id}/pdf/").content)
    assert "preview" in draft_pdf and "9,670.40" in draft_pdf

    with at("2027-04-01 10:00"):
        body = finance_client.post(f"/api/v1/invoices/{invoice_id}/issue/").json()
    assert (body["status"], body["preview"], body["voucher_deduction"], body["amount_due"]) == (
        "issued", False, "5212.00", "9670.40"
    )  # fmt: skip
    assert sorted(r["amount"] for r in body["redemptions"]) == ["1000.00", "4212.00"]
    assert "preview" not in pdf_text(
        finance_client.get(f"/api/v1/invoices/{invoice_id}/pdf/").content
    )


def test_the_invoice_list_previews_drafts_in_a_bounded_number_of_queries(
    finance_client, domestic, django_assert_max_num_queries
):
    from accounts.models import Tenant

    programme = voucher_program_create(
        actor=None, issuer="Wuhan", name="city", budget=D("1000000.00"),
        coverage_rate=D("0.3000"), per_tenant_cap=D("100000.00"), valid_from=dt.date(2027, 1, 1),
        valid_to=dt.date(2027, 12, 31), lease_kinds=["long"],
    )  # fmt: skip

    def add_tenant(n):
        other = Tenant.objects.create(name=f"Tenant {n}")
        voucher_grant_create(actor=None, program=programme, tenant=other, amount=D("500.00"))
        with at("2027-02-20 10:00"):
            long_lease(other, domestic, 1, "2027-03-01")

    for n in range(2):
        add_tenant(n)
    with at("2027-04-01 09:00"):
        finance_client.post("/api/v1/invoice-runs/", {"month": "2027-03"}, format="json")
    with django_assert_max_num_queries(16) as counted:
        results = finance_client.get("/api/v1/invoices/").json()["results"]
    assert [r["voucher_deduction"] for r in results] == ["500.00", "500.00"]
    first = len(counted.captured_queries)
    for n in range(2, 6):
        add_tenant(n)
    with at("2027-04-01 09:30"):
        finance_client.post("/api/v1/invoice-runs/", {"month": "2027-03"}, format="json")
    with django_assert_max_num_queries(first):
        results = finance_client.get("/api/v1/invoices/").json()["results"]
    assert len(results) == 6 and all(r["preview"] for r in results)


# --- 3. credit notes: reason code, PDF ---


def pdf_text(content: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_a_credit_note_takes_a_reason_code_and_downloads_as_a_pdf(
    finance_client, tenant_client, march
):
    invoice_id = issued(finance_client)
    Invoice.objects.filter(pk=invoice_id).update(
        fapiao_number="12345678901234567890", fapiao_issued_on=dt.date(2027, 4, 2)
    )
    with at("2027-04-05 10:00"):
        bad = finance_client.post(
            "/api/v1/credit-notes/",
            {"invoice": invoice_id, "amount": "10.00", "reason": "x", "reason_code": "goodwill"},
            format="json",
        )  # fmt: skip
        missing = finance_client.post(
            "/api/v1/credit-notes/", {"invoice": invoice_id, "amount": "10.00", "reason": "x"},
            format="json",
        )  # fmt: skip
        assert bad.status_code == missing.status_code == 400
        assert "reason_code" in bad.json()["error"]["fields"]
        assert "reason_code" in missing.json()["error"]["fields"]
        assert CreditNote.objects.count() == 0
        created = finance_client.post(
            "/api/v1/credit-notes/",
            {"invoice": invoice_id, "amount": "100.00", "reason": "Two days down",
             "reason_code": "service_stopped"},
            format="json",
        )  # fmt: skip
    assert created.status_code == 201, created.json()
    note = created.json()
    assert (note["number"], note["reason_code"], note["amount"]) == (
        "CN-2027-000001", "service_stopped", "100.00"
    )  # fmt: skip
    for client in (finance_client, tenant_client):
        response = client.get(f"/api/v1/credit-notes/{note['id']}/pdf/")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
        text = pdf_text(response.content)
        for expected in ("CN-2027-000001", "INV-2027-000001", "12345678901234567890",
                         "Service stopped", "-100.00", "销售方", "购买方"):  # fmt: skip
            assert expected in text, expected
    # the invoice's PDF shows its fapiao number too
    invoice_pdf = pdf_text(finance_client.get(f"/api/v1/invoices/{invoice_id}/pdf/").content)
    assert "12345678901234567890" in invoice_pdf


def test_a_payment_retried_with_its_idempotency_key_is_recorded_once(finance_client, march):
    invoice_id = issued(finance_client)
    with at("2027-04-05 10:00"):
        first, again = (
            finance_client.post(
                f"/api/v1/invoices/{invoice_id}/pay/",
                {"amount": "100.00"},
                format="json",
                HTTP_IDEMPOTENCY_KEY="pay-once",
            )
            for _ in range(2)
        )
    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 1 and Invoice.objects.get().amount_paid == D("100.00")


def test_the_credit_note_pdf_embeds_its_fonts(finance_client, march):
    invoice_id = issued(finance_client)
    with at("2027-04-05 10:00"):
        note = finance_client.post(
            "/api/v1/credit-notes/",
            {"invoice": invoice_id, "amount": "1.00", "reason": "x", "reason_code": "allowance"},
            format="json",
        ).json()  # fmt: skip
    content = finance_client.get(f"/api/v1/credit-notes/{note['id']}/pdf/").content
    fonts = []
    for page in PdfReader(io.BytesIO(content)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            if "/DescendantFonts" in font:
                font = font["/DescendantFonts"][0].get_object()
            descriptor = font["/FontDescriptor"].get_object()
            assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor), font
            fonts.append(font["/BaseFont"])
    assert fonts
