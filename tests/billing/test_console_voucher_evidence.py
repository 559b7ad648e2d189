"""The console's claim evidence, programme edit and close, grant revoke (no browser): the same
services as the API, refusals in words beside the fields with nothing changed, staff only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from billing.models import Invoice, VoucherGrant, VoucherProgram
from billing.services.invoicing import invoice_pay, invoice_run
from core.roles import Role
from marketplace.models import CardModel
from tests.billing.conftest import long_lease
from tests.billing.test_console_vouchers import (
    claim_url,
    issue_march,
    login,
    make_grant,
    make_program,
    program_url,
)
from tests.factories import TenantFactory
from tests.timing import at

pytestmark = pytest.mark.django_db
D = Decimal


def edit_url(pk: int) -> str:
    return reverse("billing-console:voucher-program-edit", args=[pk])


def close_url(pk: int) -> str:
    return reverse("billing-console:voucher-program-close", args=[pk])


def revoke_url(pk: int) -> str:
    return reverse("billing-console:voucher-grant-revoke", args=[pk])


@pytest.fixture
def later() -> Iterator[None]:
    """The pages are requested on 10 April 2027 (operator time)."""
    with at("2027-04-10 10:00"):
        yield


@pytest.fixture
def story(domestic: CardModel) -> dict[str, Any]:
    """A programme claiming paid invoices only (20 %, 30 % on the domestic model); A granted
    10,000 with a 2-card long lease whose March invoice redeemed 3510 × 2 × 30 % = 2,106.00."""
    a = TenantFactory(name="Zhiyuan AI Lab", tax_id="91510100MA6CXXXX1K")
    program = make_program(domestic, requires_payment=True)
    grant = make_grant(program, a, "10000.00")
    with at("2027-02-20 10:00"):
        lease = long_lease(a, domestic, 2, "2027-03-01")
    invoice = issue_march(a)
    assert invoice.voucher_deduction == D("2106.00")
    return {"a": a, "program": program, "grant": grant, "lease": lease, "invoice": invoice}


def form_of(program: VoucherProgram, **changes: Any) -> dict[str, Any]:
    data = {
        "issuer": program.issuer, "name": program.name, "budget": program.budget,
        "per_tenant_cap": program.per_tenant_cap, "valid_from": program.valid_from,
        "valid_to": program.valid_to, **changes,
    }  # fmt: skip
    if program.requires_payment and "requires_payment" not in changes:
        data["requires_payment"] = "on"
    return data


# --- Claim evidence ---


def test_the_claim_page_shows_the_evidence_once_the_invoice_is_paid(
    story: dict[str, Any], later: None
) -> None:
    client = login(Role.FINANCE)
    program = story["program"]
    with at("2027-04-10 10:00"):
        before = client.get(claim_url(program.pk))
    assert before.context["claim"].rows == []
    text = before.content.decode()
    assert 'data-testid="requires-payment"' in text and "Paid invoices only" in text
    assert "paid in full" in text  # the empty state says why
    Invoice.objects.filter(pk=story["invoice"].pk).update(
        fapiao_number="24442000000012345678", fapiao_issued_on=dt.date(2027, 4, 2)
    )
    with at("2027-04-10 10:00"):
        invoice_pay(
            actor=None, invoice=story["invoice"], paid_on=dt.date(2027, 4, 8), reference="BK-77"
        )
        after = client.get(claim_url(program.pk))
    [item] = after.context["rows"]
    assert item["row"].amount == D("2106.00")
    text = after.content.decode()
    shown = [
        "Zhiyuan AI Lab", "91510100MA6CXXXX1K", "INV-2027-000001", "24442000000012345678",
        f"#{story['lease'].pk}", "Long lease", "Ascend-910B", "domestic",
        "2027-03-01 – 2028-03-01", "(12 months)", "1488 card-hours", "¥2,106.00", "2027-04-08",
        "BK-77", "format=csv",
    ]  # fmt: skip
    assert [item for item in shown if item not in text] == []


# --- Edit ---


def test_finance_edits_a_programme_and_a_budget_below_what_is_granted_changes_nothing(
    story: dict[str, Any],
    later: None,
) -> None:
    client = login(Role.FINANCE)
    program = story["program"]
    with at("2027-04-10 10:00"):
        page = client.get(edit_url(program.pk))
        assert page.status_code == 200
        assert page.context["form"].initial["budget"] == D("50000.00")
        refused = client.post(edit_url(program.pk), form_of(program, budget="9999.99", name="X"))
    assert refused.status_code == 200
    assert refused.context["form"].errors["budget"] == ["At least 10000.00: that much is granted."]
    assert "field-error" in refused.content.decode()
    program.refresh_from_db()
    assert (program.budget, program.name) == (D("50000.00"), "2027 算力券")
    with at("2027-04-10 10:00"):
        saved = client.post(
            edit_url(program.pk),
            form_of(program, budget="10000.00", issuer="四川省 Sichuan", requires_payment=""),
        )
    assert saved.status_code == 302 and saved["Location"] == program_url(program.pk)
    program.refresh_from_db()
    assert (program.budget, program.issuer, program.requires_payment) == (
        D("10000.00"), "四川省 Sichuan", False,
    )  # fmt: skip


# --- Close ---


def test_finance_closes_a_programme_and_it_takes_no_more_grants(
    story: dict[str, Any], later: None, domestic: CardModel
) -> None:
    client = login(Role.FINANCE)
    program = story["program"]
    with at("2027-04-10 10:00"):
        page = client.get(program_url(program.pk)).content.decode()
        assert 'data-testid="close-programme"' in page and "data-confirm" in page
        assert client.get(close_url(program.pk)).status_code == 405
        closed = client.post(close_url(program.pk))
        assert closed.status_code == 302
        page = client.get(program_url(program.pk)).content.decode()
    program.refresh_from_db()
    assert program.closed_at is not None
    assert 'data-testid="closed-note"' in page and 'data-testid="grant-form"' not in page
    assert 'data-testid="edit-programme"' not in page
    other = TenantFactory()
    with at("2027-04-10 10:00"):
        grant = client.post(
            reverse("billing-console:voucher-grant-new", args=[program.pk]),
            {"tenant": other.pk, "amount": "100.00"},
        )
        assert 'data-testid="grant-error"' in grant.content.decode()
        edit = client.get(edit_url(program.pk), follow=True)
        assert "no longer edited" in edit.content.decode()
        again = client.post(close_url(program.pk), follow=True)
        assert "closed already" in again.content.decode()
    assert VoucherGrant.objects.count() == 1
    # April's invoice redeems nothing from the closed programme
    with at("2027-05-01 09:00"):
        assert invoice_run(month=dt.date(2027, 4, 1)).status == "done"
    from billing.services.invoicing import invoice_issue

    april = Invoice.objects.get(month=dt.date(2027, 4, 1))
    with at("2027-05-01 09:00"):
        assert invoice_issue(actor=None, invoice=april).voucher_deduction == D("0.00")


# --- Revoke ---


def test_finance_revokes_a_grant_after_seeing_what_it_releases(
    story: dict[str, Any], later: None
) -> None:
    client = login(Role.FINANCE)
    grant = story["grant"]
    with at("2027-04-10 10:00"):
        detail = client.get(reverse("billing-console:voucher-grant", args=[grant.pk]))
        assert 'data-testid="revoke-grant"' in detail.content.decode()
        ask = client.get(revoke_url(grant.pk))
    assert ask.status_code == 200
    assert ask.context["release"] == D("7894.00")  # 10,000.00 − 2,106.00 redeemed
    assert "¥7,894.00" in ask.content.decode()
    with at("2027-04-10 10:00"):
        done = client.post(revoke_url(grant.pk), {"reason": "left Chengdu"}, follow=True)
    text = done.content.decode()
    assert "¥7,894.00 went back to the programme" in text
    assert 'data-testid="released"' in text
    grant.refresh_from_db()
    assert grant.revoked_at is not None and grant.redeemed == D("2106.00")
    assert VoucherProgram.objects.get().granted == D("2106.00")
    with at("2027-04-10 10:00"):
        page = client.get(program_url(story["program"].pk)).content.decode()
        assert 'data-testid="revoked"' in page
        again = client.get(revoke_url(grant.pk), follow=True)
    assert "revoked already" in again.content.decode()


def test_only_finance_edits_closes_and_revokes(story: dict[str, Any], later: None) -> None:
    program, grant = story["program"], story["grant"]
    tenant = login(Role.TENANT, story["a"])
    operator = login(Role.OPERATOR)
    with at("2027-04-10 10:00"):
        for client in (tenant, operator):
            assert client.get(edit_url(program.pk)).status_code == 403
            assert client.post(close_url(program.pk)).status_code == 403
            assert client.post(revoke_url(grant.pk), {"reason": "x"}).status_code == 403
        detail = tenant.get(reverse("billing-console:voucher-grant", args=[grant.pk]))
    assert 'data-testid="revoke-grant"' not in detail.content.decode()
    finance = login(Role.FINANCE)
    with at("2027-04-10 10:00"):
        assert finance.get(revoke_url(999999)).status_code == 404
        assert finance.get(edit_url(999999)).status_code == 404
    program.refresh_from_db()
    grant.refresh_from_db()
    assert program.closed_at is None and grant.revoked_at is None


def test_edit_and_revoke_pages_are_a_constant_number_of_queries(
    story: dict[str, Any], later: None, domestic: CardModel, django_assert_max_num_queries: Any
) -> None:
    client = login(Role.FINANCE)
    urls = [edit_url(story["program"].pk), revoke_url(story["grant"].pk)]
    counts = []
    with at("2027-04-10 10:00"):
        for url in urls:
            with django_assert_max_num_queries(20) as captured:
                assert client.get(url).status_code == 200
            counts.append(len(captured.captured_queries))
    for _ in range(4):
        make_grant(story["program"], TenantFactory(), "100.00")
    with at("2027-04-10 10:00"):
        for url, count in zip(urls, counts, strict=True):
            with django_assert_max_num_queries(count):
                assert client.get(url).status_code == 200


def test_a_new_programme_may_claim_paid_invoices_only(later: None) -> None:
    body = {
        "issuer": "宜昌市 Yichang", "name": "Yichang vouchers", "budget": "80000",
        "coverage_percent": "25", "per_tenant_cap": "30000", "valid_from": "2027-04-01",
        "valid_to": "2027-12-31", "lease_kinds": ["long"], "requires_payment": "on",
    }  # fmt: skip
    response = login(Role.FINANCE).post(reverse("billing-console:voucher-program-new"), body)
    assert response.status_code == 302
    assert VoucherProgram.objects.get().requires_payment is True
