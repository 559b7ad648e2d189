import datetime as dt
from decimal import Decimal

import pytest

from billing.models import VoucherGrant, VoucherProgram
from tests.billing.conftest import long_lease
from tests.timing import at

pytestmark = pytest.mark.django_db

PROGRAMME = {
    "issuer": "成都市 Chengdu", "name": "2027 算力券", "budget": "50000.00",
    "coverage_rate": "0.2000", "per_tenant_cap": "20000.00", "valid_from": "2027-01-01",
    "valid_to": "2027-12-31", "lease_kinds": ["long", "short"], "max_term_months": 12,
}  # fmt: skip


@pytest.fixture
def programme(finance_client, domestic):
    body = {**PROGRAMME, "model_rates": [{"card_model": domestic.pk, "rate": "0.3000"}]}
    response = finance_client.post("/api/v1/voucher-programs/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def grant(client, programme, tenant, amount, **extra):
    body = {"program": programme["id"], "tenant": tenant.pk, "amount": amount, **extra}
    return client.post("/api/v1/voucher-grants/", body, format="json")


def test_a_programme_with_model_rates(programme, domestic):
    assert programme["model_rates"] == [
        {"card_model": domestic.pk, "card_model_name": domestic.name, "rate": "0.3000"}
    ]
    assert programme["granted"] == "0.00"


@pytest.mark.parametrize(
    ("field", "value"),
    [("coverage_rate", "0"), ("coverage_rate", "1.5"), ("budget", "-1"), ("valid_to", "2026-01-01"),
     ("lease_kinds", ["medium"])],
)  # fmt: skip
def test_bad_programmes_are_400s(finance_client, field, value):
    response = finance_client.post(
        "/api/v1/voucher-programs/", {**PROGRAMME, field: value}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not VoucherProgram.objects.exists()


def test_grants_respect_the_per_tenant_cap_and_the_budget(finance_client, programme, make_user):
    a, b, c = (make_user("tenant").tenant for _ in range(3))
    assert grant(finance_client, programme, a, "15000.00").status_code == 201
    over_cap = grant(finance_client, programme, a, "5000.01")
    assert over_cap.status_code == 409
    assert over_cap.json()["error"]["code"] == "over_tenant_cap"
    assert "amount" in over_cap.json()["error"]["fields"]
    assert grant(finance_client, programme, b, "20000.00").status_code == 201
    over_budget = grant(finance_client, programme, c, "15000.01")
    assert over_budget.status_code == 409
    assert over_budget.json()["error"]["code"] == "over_budget"
    assert "amount" in over_budget.json()["error"]["fields"]
    assert VoucherGrant.objects.count() == 2
    assert (
        finance_client.get(f"/api/v1/voucher-programs/{programme['id']}/").json()["granted"]
        == "35000.00"
    )


def test_a_grant_window_must_lie_inside_the_programme(finance_client, programme, tenant):
    response = grant(finance_client, programme, tenant, "100.00", valid_from="2026-12-31")
    assert response.status_code == 400
    assert not VoucherGrant.objects.exists()


def test_tenants_see_their_grants_with_balance(finance_client, tenant_client, programme, tenant):
    grant(finance_client, programme, tenant, "1000.00")
    body = tenant_client.get("/api/v1/voucher-grants/").json()["results"][0]
    assert (body["amount"], body["redeemed"], body["remaining"]) == ("1000.00", "0.00", "1000.00")
    assert grant(tenant_client, programme, tenant, "1.00").status_code == 403


def test_a_programme_for_one_year_terms_does_not_cover_a_three_year_lease(
    finance_client, programme, tenant, domestic
):
    grant(finance_client, programme, tenant, "10000.00")
    with at("2027-02-20 10:00"):
        long_lease(tenant, domestic, 1, "2027-03-01", term=36)
    with at("2027-04-01 09:00"):
        finance_client.post("/api/v1/invoice-runs/", {"month": "2027-03"}, format="json")
        invoice_id = finance_client.get("/api/v1/invoices/").json()["results"][0]["id"]
        issued = finance_client.post(f"/api/v1/invoices/{invoice_id}/issue/").json()
    assert issued["voucher_deduction"] == "0.00"
    assert issued["redemptions"] == []


def test_claims_list_redemptions_export_csv_and_move_through_their_states(
    finance_client, programme, tenant, domestic
):
    grant(finance_client, programme, tenant, "10000.00")
    with at("2027-02-20 10:00"):
        long_lease(tenant, domestic, 2, "2027-03-01")
    with at("2027-04-01 09:00"):
        finance_client.post("/api/v1/invoice-runs/", {"month": "2027-03"}, format="json")
        invoice_id = finance_client.get("/api/v1/invoices/").json()["results"][0]["id"]
        finance_client.post(f"/api/v1/invoices/{invoice_id}/issue/")
    url = f"/api/v1/voucher-programs/{programme['id']}/claims/"
    with at("2027-03-31 09:00"):  # the month is not over: nothing to claim yet
        early = finance_client.post(url, {"month": "2027-03", "status": "submitted"}, format="json")
        assert early.status_code == 409
    claim = finance_client.get(url, {"month": "2027-03"}).json()
    # 3510 × 2 = 7020.00 at the domestic rate of 30 % = 2106.00
    assert claim["status"] == "draft"
    assert claim["total"] == "2106.00"
    [row] = claim["rows"]
    assert {key: row[key] for key in ("tenant", "tenant_name", "invoice", "invoice_number")} == {
        "tenant": tenant.pk, "tenant_name": tenant.name, "invoice": invoice_id,
        "invoice_number": "INV-2027-000001",
    }  # fmt: skip
    assert row["amount"] == "2106.00"
    csv_response = finance_client.get(url, {"month": "2027-03", "format": "csv"})
    assert csv_response["Content-Type"].startswith("text/csv")
    assert ",INV-2027-000001,," in csv_response.content.decode()
    assert ",2106.00,," in csv_response.content.decode()
    with at("2027-04-02 09:00"):
        submitted = finance_client.post(
            url, {"month": "2027-03", "status": "submitted"}, format="json"
        )
    assert submitted.json()["status"] == "submitted"
    # the issuer is being asked for that money now: voiding would hand it out twice
    void = finance_client.post(
        f"/api/v1/invoices/{invoice_id}/void/", {"reason": "wrong"}, format="json"
    )
    assert void.status_code == 409
    assert "claim" in void.json()["error"]["message"]
    assert finance_client.get(url, {"month": "2027-03"}).json()["rows"] == claim["rows"]
    wrong = finance_client.post(url, {"month": "2027-03", "status": "submitted"}, format="json")
    assert wrong.status_code == 409
    done = finance_client.post(url, {"month": "2027-03", "status": "reimbursed"}, format="json")
    assert done.json()["status"] == "reimbursed"
    assert finance_client.get(url, {"month": "2027-3"}).status_code == 400


def test_late_card_time_of_a_month_is_covered_by_that_months_grant_after_it_ended(
    finance_client, programme, tenant, domestic
):
    from billing.choices import LineKind
    from billing.models import Invoice, InvoiceLine
    from billing.pricebook import builtin_metric_id
    from billing.services.vouchers import vouchers_apply
    from leasing.services import lease_create, lease_stop

    march = grant(
        finance_client, programme, tenant, "1000.00", valid_from="2027-03-01", valid_to="2027-03-31"
    ).json()
    with at("2027-03-10 10:00"):
        short = lease_create(actor=None, tenant=tenant, kind="short", card_model=domestic,
                             card_count=1)  # fmt: skip
    with at("2027-03-10 12:00"):
        lease_stop(actor=None, lease=short)
    # March's card time reached June's invoice as a prior-period line
    invoice = Invoice.objects.create(
        tenant=tenant, month=dt.date(2027, 6, 1), currency="CNY", tax_rate="0.0600"
    )
    InvoiceLine.objects.create(
        invoice=invoice, kind=LineKind.PRIOR_PERIOD, lease=short, card_model=domestic,
        metric_id=builtin_metric_id("card_minutes"), lease_kind="short", description="late",
        quantity="2", unit="card-hour", unit_price="7.5000", amount="15.00",
        period_start=dt.date(2027, 3, 1), period_end=dt.date(2027, 4, 1),
    )  # fmt: skip
    with at("2027-07-01 09:00"):
        assert vouchers_apply(invoice=invoice) == Decimal("4.50")  # 15.00 × 0.30 (domestic)
    assert VoucherGrant.objects.get(pk=march["id"]).redeemed == Decimal("4.50")


@pytest.mark.parametrize(
    ("field", "items"),
    [
        ("card_models", lambda model: [model.pk] * 101),
        ("model_rates", lambda model: [{"card_model": model.pk, "rate": "0.1000"}] * 101),
        ("lease_kinds", lambda model: ["long", "short", "long"]),
    ],
)
def test_a_programme_naming_too_many_models_is_a_400_before_any_is_looked_up(
    finance_client, domestic, field, items, django_assert_max_num_queries
):
    body = {**PROGRAMME, field: items(domestic)}
    with django_assert_max_num_queries(6):  # auth and session, not a query per item
        response = finance_client.post("/api/v1/voucher-programs/", body, format="json")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "invalid"
    limit = {"lease_kinds": 2}.get(field, 100)
    assert error["fields"] == {field: [f"At most {limit} items."]}
    assert not VoucherProgram.objects.exists()


def test_a_programme_of_a_hundred_models_is_accepted(finance_client, domestic):
    body = {**PROGRAMME, "card_models": [domestic.pk] * 100}
    response = finance_client.post("/api/v1/voucher-programs/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["card_models"] == [domestic.pk]
