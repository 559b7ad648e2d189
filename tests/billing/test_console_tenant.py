"""The console's Usage and Invoices pages for tenant users, without a browser: this month's
figures are the invoice preview's (the invoice run's lines and the issuing rule's vouchers, the
same as the API's draft once the month is run) and nothing is stored; the invoices list is the
tenant's own, newest first; another tenant's invoice is the 404 page; every page in a constant
number of queries; the PDF link (the API's) answers the session with a PDF."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from billing.models import Invoice, UsageRecord, VoucherRedemption
from billing.services.invoicing import invoice_issue, invoice_run
from billing.services.usage import usage_records_ingest
from billing.services.vouchers import (
    voucher_grant_create,
    voucher_program_create,
    vouchers_preview,
)
from core import clock
from core.roles import Role
from leasing.services import lease_create, lease_stop
from tests.factories import TenantFactory, UserFactory
from tests.timing import at

pytestmark = pytest.mark.django_db

D = Decimal
USAGE = reverse("billing-console:usage")
INVOICES = reverse("billing-console:invoices")


def _invoice_url(invoice: Invoice) -> str:
    return reverse("billing-console:invoice", args=[invoice.pk])


@pytest.fixture
def user(tenant: Any) -> Any:
    return UserFactory(username="li.na", role=Role.TENANT, tenant=tenant)


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def month_of_use(tenant: Any, domestic: Any) -> dict[str, Any]:
    """March 2027 so far: a 2-card long lease from 03-01, a short lease of 3 hours on 03-10
    (stopped), a storage record, and a voucher grant covering 30 % of the domestic cards."""
    programme = voucher_program_create(
        actor=None, issuer="宜昌市 Yichang", name="2027 compute vouchers", budget=D("100000.00"),
        coverage_rate=D("0.2000"), per_tenant_cap=D("20000.00"), valid_from=dt.date(2027, 1, 1),
        valid_to=dt.date(2027, 12, 31), lease_kinds=["long", "short"],
        model_rates=[{"card_model": domestic, "rate": D("0.3000")}],
    )  # fmt: skip
    voucher_grant_create(actor=None, program=programme, tenant=tenant, amount=D("1000.00"))
    with at("2027-03-01 00:00"):
        long = lease_create(
            actor=None, tenant=tenant, kind="long", card_model=domestic, card_count=2,
            start=dt.date(2027, 3, 1), term_months=12,
        )  # fmt: skip
    with at("2027-03-10 09:00"):
        short = lease_create(
            actor=None, tenant=tenant, kind="short", card_model=domestic, card_count=2
        )
    with at("2027-03-10 12:00"):
        lease_stop(actor=None, lease=short, reason="done")
    with at("2027-03-10 12:00"):
        result = usage_records_ingest(
            records=[
                {
                    "source": "ceph-meter",
                    "external_id": "r-1",
                    "lease": long.pk,
                    "metric": "storage_tb_hours",
                    "quantity": "10",
                    "start": "2027-03-10T00:00:00Z",
                    "end": "2027-03-10T01:00:00Z",
                }
            ],
            atomic=True,
            tenant_id=None,
        )
    assert not result.errors, result.errors
    return {"long": long, "short": short, "programme": programme}


def _figures(lines: list[Any]) -> list[tuple[Any, ...]]:
    return [(x.kind, x.lease_id, x.quantity, x.unit_price, x.amount) for x in lines]


def test_usage_figures_are_what_the_invoice_run_and_the_issuing_rule_say(
    user: Any, month_of_use: dict[str, Any], finance: Any
) -> None:
    with at("2027-03-20 10:00"):
        stored = (Invoice.objects.count(), UsageRecord.objects.count())
        response = _client(user).get(USAGE)
        assert response.status_code == 200
        assert (Invoice.objects.count(), UsageRecord.objects.count()) == stored  # nothing kept
        preview = response.context["preview"]
        # the API's draft of the running month, and the voucher preview of it
        api = APIClient()
        api.force_authenticate(finance)
        assert (
            api.post("/api/v1/invoice-runs/", {"month": "2027-03"}, format="json").status_code
            == 201
        )
        tenant_api = APIClient()
        tenant_api.force_authenticate(user)
        body = tenant_api.get("/api/v1/invoices/?month=2027-03").json()["results"][0]
        draft = Invoice.objects.get(pk=body["id"])
        expected_deduction = vouchers_preview(invoice=draft)
        draft_page = _client(user).get(_invoice_url(draft))  # the draft: the same preview
        assert draft_page.context["voucher_deduction"] == expected_deduction
    assert _figures(preview.lines) == _figures(list(draft.lines.order_by("id")))
    assert [(x["kind"], x["amount"]) for x in body["lines"]] == [
        (x.kind, str(x.amount)) for x in preview.lines
    ]
    kinds = [x.kind for x in preview.lines]
    assert kinds == ["long_lease_fee", "short_lease_usage", "metered_usage"]
    assert (str(preview.subtotal), str(preview.tax)) == (body["subtotal"], body["tax"])
    assert preview.voucher_deduction == expected_deduction > 0
    assert preview.amount_due == D(body["subtotal"]) + D(body["tax"]) - expected_deduction
    assert not VoucherRedemption.objects.exists()  # a preview redeems nothing
    text = response.content.decode()
    assert "Ascend-910B" in text and "2027 compute vouchers" in text
    assert f"{preview.amount_due:,.2f}" in text and "Usage and charges in 2027-03 so far" in text


def test_a_running_short_lease_counts_to_the_minute_now(user: Any, domestic: Any) -> None:
    with at("2027-03-10 09:00"):
        lease_create(
            actor=None, tenant=user.tenant, kind="short", card_model=domestic, card_count=2
        )
    with at("2027-03-10 11:30"):
        response = _client(user).get(USAGE)
    (line,) = response.context["preview"].lines
    assert (line.kind, line.quantity, line.amount) == ("short_lease_usage", D("5"), D("37.50"))
    assert not UsageRecord.objects.exists() and not Invoice.objects.exists()


def test_no_usage_says_to_take_a_short_lease(user: Any) -> None:
    with at("2027-03-10 09:00"):
        response = _client(user).get(USAGE)
    text = response.content.decode()
    assert 'data-testid="no-usage"' in text and "take a short lease" in text
    assert reverse("leasing-console:leases") in text


def test_the_usage_page_is_a_constant_number_of_queries(
    user: Any, domestic: Any, django_assert_max_num_queries: Any
) -> None:
    with at("2027-03-01 00:00"):
        lease_create(
            actor=None, tenant=user.tenant, kind="long", card_model=domestic, card_count=1,
            start=dt.date(2027, 3, 1), term_months=12,
        )  # fmt: skip
    with at("2027-03-10 09:00"):
        client = _client(user)
    with at("2027-03-10 09:00"), django_assert_max_num_queries(30) as one:
        client.get(USAGE)
    with at("2027-03-01 00:00"):
        for _ in range(5):
            lease_create(
                actor=None, tenant=user.tenant, kind="long", card_model=domestic, card_count=1,
                start=dt.date(2027, 3, 1), term_months=12,
            )  # fmt: skip
    with at("2027-03-10 09:00"), django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(USAGE)
    assert len(response.context["lines"]) == 6


def _invoiced(tenant: Any, model: Any, months: list[str]) -> list[Invoice]:
    with at("2027-01-01 00:00"):
        lease_create(
            actor=None, tenant=tenant, kind="long", card_model=model, card_count=1,
            start=dt.date(2027, 1, 1), term_months=12,
        )  # fmt: skip
    invoices = []
    with at("2027-07-02 09:00"):
        for month in months:
            assert invoice_run(month=clock.parse_month(month)).status == "done"
            draft = Invoice.objects.get(tenant=tenant, month=clock.parse_month(month))
            invoices.append(invoice_issue(actor=None, invoice=draft))
    return invoices


def test_the_invoices_list_is_the_tenants_own_newest_first(user: Any, domestic: Any) -> None:
    mine = _invoiced(user.tenant, domestic, ["2027-01", "2027-02"])
    other = TenantFactory(name="Other Co")
    with at("2027-01-01 00:00"):
        lease_create(
            actor=None, tenant=other, kind="long", card_model=domestic, card_count=1,
            start=dt.date(2027, 1, 1), term_months=12,
        )  # fmt: skip
    with at("2027-07-02 09:00"):
        assert invoice_run(month=dt.date(2027, 3, 1)).status == "done"  # a draft for both
        response = _client(user).get(INVOICES)
    rows = response.context["rows"]
    march = Invoice.objects.get(tenant=user.tenant, month=dt.date(2027, 3, 1))
    assert [row["invoice"].pk for row in rows] == [march.pk, mine[1].pk, mine[0].pk]
    text = response.content.decode()
    assert mine[0].number in text and "Other Co" not in text
    assert f"/api/v1/invoices/{mine[0].pk}/pdf/" in text
    assert f"{mine[0].amount_due:,.2f}" in text


def test_an_invoice_page_shows_its_lines_and_another_tenants_is_the_404_page(
    user: Any, domestic: Any
) -> None:
    (january,) = _invoiced(user.tenant, domestic, ["2027-01"])
    with at("2027-07-02 09:00"):
        client = _client(user)
        response = client.get(_invoice_url(january))
        assert response.status_code == 200
        assert len(response.context["lines"]) == 1
        text = response.content.decode()
        assert january.number in text and "Long-lease fee" in text
        assert f"{january.amount_due:,.2f}" in text
        other = UserFactory(role=Role.TENANT, tenant=TenantFactory())
        missing = _client(other).get(_invoice_url(january))
    assert missing.status_code == 404
    assert b"Page not found" in missing.content


def test_the_pdf_link_answers_the_session_with_the_tenants_pdf_only(
    user: Any, domestic: Any
) -> None:
    (january,) = _invoiced(user.tenant, domestic, ["2027-01"])
    with at("2027-07-02 09:00"):
        response = _client(user).get(f"/api/v1/invoices/{january.pk}/pdf/")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
        other = UserFactory(role=Role.TENANT, tenant=TenantFactory())
        assert _client(other).get(f"/api/v1/invoices/{january.pk}/pdf/").status_code == 404


def test_invoice_pages_are_a_constant_number_of_queries(
    user: Any, domestic: Any, django_assert_max_num_queries: Any
) -> None:
    (first,) = _invoiced(user.tenant, domestic, ["2027-01"])
    with at("2027-07-02 09:00"):
        client = _client(user)
        with django_assert_max_num_queries(6) as list_one:
            client.get(INVOICES)
        with django_assert_max_num_queries(8) as page_one:
            client.get(_invoice_url(first))
    many = _invoiced(user.tenant, domestic, ["2027-02", "2027-03", "2027-04"])  # 2 leases now
    with at("2027-07-02 09:00"):
        with django_assert_max_num_queries(len(list_one.captured_queries)):
            assert len(client.get(INVOICES).context["rows"]) == 4
        with django_assert_max_num_queries(len(page_one.captured_queries)):
            assert len(client.get(_invoice_url(many[-1])).context["lines"]) == 2


def test_staff_get_the_403_page_and_anonymous_the_login() -> None:
    for role in (Role.OPERATOR, Role.FINANCE, Role.ADMIN):
        client = _client(UserFactory(role=role))
        for url in (USAGE, INVOICES):
            assert client.get(url).status_code == 403
    response = Client().get(USAGE)
    assert response.status_code == 302 and "/console/login/" in response["Location"]
