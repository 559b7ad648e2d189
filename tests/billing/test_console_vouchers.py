"""The console's Vouchers page without a browser: finance sees every programme with budget,
granted, redeemed and left to grant (from one grouped query), a programme's grants and claims,
creates programmes and grants and moves claims on through the services (refusals in words,
nothing changed); a tenant user sees only their own grants, balances and redemptions (another
tenant's grant or programme is the 404 page); pages in a constant number of queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Tenant
from billing.models import Invoice, VoucherClaim, VoucherGrant, VoucherProgram
from billing.services.invoicing import invoice_issue, invoice_run
from billing.services.vouchers import voucher_grant_create, voucher_program_create
from core.roles import Role
from marketplace.models import CardModel
from tests.billing.conftest import long_lease
from tests.factories import TenantFactory, UserFactory
from tests.timing import at

pytestmark = pytest.mark.django_db

INDEX = reverse("billing-console:vouchers")
NEW = reverse("billing-console:voucher-program-new")
D = Decimal


def program_url(pk: int) -> str:
    return reverse("billing-console:voucher-program", args=[pk])


def grant_url(pk: int) -> str:
    return reverse("billing-console:voucher-grant", args=[pk])


def claim_url(pk: int, month: str = "2027-03") -> str:
    return reverse("billing-console:voucher-claim", args=[pk]) + f"?month={month}"


def make_program(domestic: CardModel | None = None, **overrides: Any) -> VoucherProgram:
    fields: dict[str, Any] = {
        "issuer": "成都市 Chengdu", "name": "2027 算力券", "budget": D("50000.00"),
        "coverage_rate": D("0.2000"), "per_tenant_cap": D("20000.00"),
        "valid_from": dt.date(2027, 1, 1), "valid_to": dt.date(2027, 12, 31),
        "lease_kinds": ["long", "short"], "max_term_months": 12, **overrides,
    }  # fmt: skip
    rates = [{"card_model": domestic, "rate": D("0.3000")}] if domestic else []
    with at("2027-01-05 09:00"):
        return voucher_program_create(actor=None, model_rates=rates, **fields)


def make_grant(program: VoucherProgram, tenant: Tenant, amount: str) -> VoucherGrant:
    with at("2027-01-06 09:00"):
        return voucher_grant_create(actor=None, program=program, tenant=tenant, amount=D(amount))


def issue_march(tenant: Tenant) -> Invoice:
    """March's invoice of `tenant`, issued on 1 April (its vouchers redeemed)."""
    with at("2027-04-01 09:00"):
        assert invoice_run(month=dt.date(2027, 3, 1)).status == "done"
        draft = Invoice.objects.get(tenant=tenant, month=dt.date(2027, 3, 1))
        return invoice_issue(actor=None, invoice=draft)


@pytest.fixture
def later() -> Iterator[None]:
    """The pages are requested on 10 April 2027 (operator time)."""
    with at("2027-04-10 10:00"):
        yield


def login(role: str, tenant: Tenant | None = None) -> Client:
    client = Client()
    client.force_login(UserFactory(role=role, tenant=tenant))
    return client


@pytest.fixture
def story(domestic: CardModel) -> dict[str, Any]:
    """A programme (20 %, 30 % on the domestic model); A granted 10,000 with a 2-card long
    lease whose March invoice redeemed 2,106.00; B granted 5,000 and nothing redeemed."""
    a, b = TenantFactory(name="Zhiyuan AI Lab"), TenantFactory(name="Beta Robotics")
    program = make_program(domestic)
    grant_a = make_grant(program, a, "10000.00")
    grant_b = make_grant(program, b, "5000.00")
    with at("2027-02-20 10:00"):
        long_lease(a, domestic, 2, "2027-03-01")
    invoice = issue_march(a)
    assert invoice.voucher_deduction == D("2106.00")  # 3510 × 2 at 30 %
    return {"a": a, "b": b, "program": program, "grant_a": grant_a, "grant_b": grant_b,
            "invoice": invoice}  # fmt: skip


# --- Finance --------------------------------------------------------------------------------


def test_finance_sees_each_programme_with_its_figures(story: dict[str, Any], later: None) -> None:
    response = login(Role.FINANCE).get(INDEX)
    assert response.status_code == 200
    [row] = response.context["rows"]
    program = row["program"]
    assert (program.budget, program.granted, program.redeemed) == (
        D("50000.00"), D("15000.00"), D("2106.00")
    )  # fmt: skip
    assert (program.left_to_grant, program.unredeemed, program.grant_count) == (
        D("35000.00"), D("12894.00"), 2
    )  # fmt: skip
    text = response.content.decode()
    shown = ["2027 算力券", "成都市 Chengdu", "¥50,000.00", "¥15,000.00", "¥2,106.00", "¥35,000.00",
             "20 %", "30 % on Ascend-910B", "2027-01-01 – 2027-12-31"]  # fmt: skip
    assert [item for item in shown if item not in text] == []


def test_a_programme_page_lists_its_grants_and_claims(story: dict[str, Any], later: None) -> None:
    response = login(Role.FINANCE).get(program_url(story["program"].pk))
    assert response.status_code == 200
    grants = {row["grant"].tenant.name: row["grant"] for row in response.context["grants"]}
    assert grants["Zhiyuan AI Lab"].remaining == D("7894.00")
    assert grants["Beta Robotics"].remaining == D("5000.00")
    [claim] = [item["claim"] for item in response.context["claims"]]
    assert (claim.month, claim.status, claim.redemptions, claim.total) == (
        dt.date(2027, 3, 1), "draft", 1, D("2106.00")
    )  # fmt: skip
    text = response.content.decode()
    assert "¥7,894.00" in text and "Beta Robotics" in text and "Draft" in text


def test_admin_sees_the_finance_pages_too(story: dict[str, Any], later: None) -> None:
    client = login(Role.ADMIN)
    assert client.get(INDEX).status_code == 200
    assert client.get(program_url(story["program"].pk)).status_code == 200
    assert client.get(claim_url(story["program"].pk)).status_code == 200


def test_no_programme_yet_says_create_one(later: None) -> None:
    response = login(Role.FINANCE).get(INDEX)
    text = response.content.decode()
    assert 'data-testid="no-programmes"' in text and NEW in text


def test_finance_creates_a_programme_through_the_service(later: None, domestic: Any) -> None:
    body = {
        "issuer": "宜昌市 Yichang", "name": "Yichang vouchers", "budget": "80000",
        "coverage_percent": "25", "per_tenant_cap": "30000", "valid_from": "2027-04-01",
        "valid_to": "2027-12-31", "lease_kinds": ["long"], "card_models": [domestic.pk],
        "max_term_months": "12",
    }  # fmt: skip
    response = login(Role.FINANCE).post(NEW, body)
    program = VoucherProgram.objects.get()
    assert response.status_code == 302 and response["Location"] == program_url(program.pk)
    assert (program.coverage_rate, program.budget, program.lease_kinds) == (
        D("0.2500"), D("80000.00"), ["long"]
    )  # fmt: skip
    assert list(program.card_models.all()) == [domestic]


def test_a_bad_programme_is_answered_beside_its_fields(later: None) -> None:
    body = {
        "issuer": "X", "name": "Y", "budget": "100", "coverage_percent": "120",
        "per_tenant_cap": "10", "valid_from": "2027-05-01", "valid_to": "2027-04-01",
        "lease_kinds": ["long"],
    }  # fmt: skip
    response = login(Role.FINANCE).post(NEW, body)
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"coverage_percent", "valid_to"}
    assert "The end is before the start." in response.content.decode()
    assert not VoucherProgram.objects.exists()


def test_finance_grants_vouchers_and_a_refusal_is_in_words(
    story: dict[str, Any], later: None
) -> None:
    client = login(Role.FINANCE)
    program = story["program"]
    url = reverse("billing-console:voucher-grant-new", args=[program.pk])
    # A holds 10,000 of a 20,000 cap: 10,000.01 more is over it
    refused = client.post(url, {"tenant": story["a"].pk, "amount": "10000.01"})
    assert refused.status_code == 200
    text = refused.content.decode()
    assert "over the programme&#x27;s per-tenant cap of 20000.00" in text
    assert "At most 10000.00." in text  # beside the amount field
    assert VoucherGrant.objects.count() == 2
    program.refresh_from_db()
    assert program.granted == D("15000.00")
    done = client.post(url, {"tenant": story["b"].pk, "amount": "2500.00"}, follow=True)
    assert "¥2,500.00 granted to Beta Robotics." in done.content.decode()
    program.refresh_from_db()
    assert program.granted == D("17500.00")


def test_a_claim_shows_its_redemptions_and_exports_csv(story: dict[str, Any], later: None) -> None:
    client = login(Role.FINANCE)
    response = client.get(claim_url(story["program"].pk))
    assert response.status_code == 200
    claim = response.context["claim"]
    assert claim.total == D("2106.00") and claim.status == "draft"
    text = response.content.decode()
    assert "INV-2027-000001" in text and "Zhiyuan AI Lab" in text and "Submit to the issuer" in text
    csv = client.get(claim_url(story["program"].pk) + "&format=csv")
    assert csv["Content-Type"].startswith("text/csv")
    assert "INV-2027-000001" in csv.content.decode() and "2106.00" in csv.content.decode()


def test_claims_move_on_through_the_service_and_refusals_change_nothing(
    story: dict[str, Any],
) -> None:
    program = story["program"]
    with at("2027-03-31 10:00"):  # March is not over: the claim is refused, in words
        client = login(Role.FINANCE)
        response = client.post(claim_url(program.pk), {"status": "submitted"})
        assert response.status_code == 200
        assert "2027-03 has not ended" in response.content.decode()
        assert not VoucherClaim.objects.exists()
        assert client.post(claim_url(program.pk), {}).context["error"]  # no action chosen
    with at("2027-04-10 10:00"):
        client = login(Role.FINANCE)
        response = client.post(claim_url(program.pk), {"status": "reimbursed"})
        assert "A draft claim cannot become reimbursed." in response.content.decode()
        response = client.post(claim_url(program.pk), {"status": "submitted"}, follow=True)
        assert "The claim is now Submitted." in response.content.decode()
        record = VoucherClaim.objects.get()
        assert (record.status, record.total) == ("submitted", D("2106.00"))
        assert "Mark reimbursed" in response.content.decode()
        client.post(claim_url(program.pk), {"status": "reimbursed"})
        record.refresh_from_db()
        assert record.status == "reimbursed" and record.reimbursed_at is not None
        page = client.get(program_url(program.pk)).content.decode()
        assert "Reimbursed" in page


def test_a_bad_month_goes_back_to_the_programme(story: dict[str, Any], later: None) -> None:
    response = login(Role.FINANCE).get(claim_url(story["program"].pk, "2027-13"), follow=True)
    assert "Choose a month as YYYY-MM." in response.content.decode()


# --- Tenants --------------------------------------------------------------------------------


def test_a_tenant_sees_its_own_grants_balances_and_redemptions(
    story: dict[str, Any], later: None
) -> None:
    response = login(Role.TENANT, story["a"]).get(INDEX)
    assert response.status_code == 200
    assert [row["grant"].pk for row in response.context["grants"]] == [story["grant_a"].pk]
    assert response.context["balance"] == D("7894.00")
    [redemption] = response.context["redemptions"]
    assert redemption.invoice.number == "INV-2027-000001" and redemption.amount == D("2106.00")
    text = response.content.decode()
    assert "¥10,000.00" in text and "¥2,106.00" in text and "¥7,894.00" in text
    assert "Beta Robotics" not in text and "¥5,000.00" not in text
    assert "¥50,000.00" not in text  # the programme's budget is finance's


def test_tenant_b_never_sees_as_grants(story: dict[str, Any], later: None) -> None:
    client = login(Role.TENANT, story["b"])
    response = client.get(INDEX)
    assert [row["grant"].pk for row in response.context["grants"]] == [story["grant_b"].pk]
    assert response.context["redemptions"] == []
    assert "INV-2027-000001" not in response.content.decode()
    other = client.get(grant_url(story["grant_a"].pk))
    assert other.status_code == 404 and b"Page not found" in other.content
    own = client.get(grant_url(story["grant_b"].pk))
    assert own.status_code == 200 and "¥5,000.00" in own.content.decode()
    # the programme page shows B only its own grants
    page = client.get(program_url(story["program"].pk))
    assert [row["grant"].pk for row in page.context["grants"]] == [story["grant_b"].pk]
    assert "Zhiyuan AI Lab" not in page.content.decode()


def test_a_programme_a_tenant_holds_no_grant_of_is_the_404_page(
    story: dict[str, Any], later: None
) -> None:
    other = make_program(name="Another programme")
    response = login(Role.TENANT, story["a"]).get(program_url(other.pk))
    assert response.status_code == 404


def test_a_tenant_without_vouchers_is_told_to_ask_the_operator(later: None) -> None:
    response = login(Role.TENANT, TenantFactory()).get(INDEX)
    assert 'data-testid="no-vouchers"' in response.content.decode()
    assert "ask the operator" in response.content.decode()


# --- Roles ----------------------------------------------------------------------------------


def test_roles(story: dict[str, Any], later: None) -> None:
    program = story["program"]
    staff_only = [NEW, claim_url(program.pk)]
    tenant = login(Role.TENANT, story["a"])
    for url in staff_only:
        assert tenant.get(url).status_code == 403
    grant_new = reverse("billing-console:voucher-grant-new", args=[program.pk])
    assert tenant.post(grant_new, {"tenant": story["a"].pk, "amount": "1"}).status_code == 403
    assert VoucherGrant.objects.count() == 2
    operator = login(Role.OPERATOR)
    for url in [INDEX, program_url(program.pk), grant_url(story["grant_a"].pk), *staff_only]:
        assert operator.get(url).status_code == 403
        response = Client().get(url)
        assert response.status_code == 302 and "/console/login/" in response["Location"]


# --- Queries --------------------------------------------------------------------------------


def test_pages_are_a_constant_number_of_queries(
    story: dict[str, Any], domestic: CardModel, django_assert_max_num_queries: Any
) -> None:
    program = story["program"]
    pages = {
        "finance index": (Role.FINANCE, None, INDEX),
        "programme": (Role.FINANCE, None, program_url(program.pk)),
        "claim": (Role.FINANCE, None, claim_url(program.pk)),
        "tenant index": (Role.TENANT, story["a"], INDEX),
        "grant": (Role.TENANT, story["a"], grant_url(story["grant_a"].pk)),
    }
    counts = {}
    with at("2027-04-10 10:00"):
        clients = {name: login(role, tenant) for name, (role, tenant, _) in pages.items()}
        for name, (_, _, url) in pages.items():
            with django_assert_max_num_queries(20) as captured:
                assert clients[name].get(url).status_code == 200
            counts[name] = len(captured.captured_queries)
    # more programmes, grants, tenants and redemptions
    for n in range(6):
        extra = make_program(domestic, name=f"Programme {n}")
        make_grant(extra, story["a"], "100.00")
        make_grant(program, TenantFactory(), "100.00")
    for _ in range(3):
        tenant = TenantFactory()
        make_grant(program, tenant, "1000.00")
        with at("2027-02-20 10:00"):
            long_lease(tenant, domestic, 1, "2027-03-01")
    with at("2027-04-01 09:00"):
        assert invoice_run(month=dt.date(2027, 3, 1)).status == "done"
        for draft in Invoice.objects.filter(status="draft", month=dt.date(2027, 3, 1)):
            invoice_issue(actor=None, invoice=draft)
    with at("2027-04-10 10:00"):
        for name, (_, _, url) in pages.items():
            with django_assert_max_num_queries(counts[name]):
                response = clients[name].get(url)
            assert response.status_code == 200
    assert len(response.context["redemptions"]) >= 1
    finance_rows = clients["finance index"].get(INDEX)
    assert len(finance_rows.context["rows"]) == 7
