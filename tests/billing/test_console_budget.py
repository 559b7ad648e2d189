"""The console's Budget page without a browser: the empty state, saving a budget (as PUT
me/budget/), errors by field with nothing saved, the month so far with its progress bar, staff
refused, and a constant number of queries whatever the tenant's leases."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Tenant
from billing.models import Budget
from core.roles import Role
from leasing.services import lease_create
from tests.factories import CardModelFactory, RackFactory, UserFactory, make_server_with_cards
from tests.timing import at

pytestmark = pytest.mark.django_db

PAGE = reverse("billing-console:budget")


@pytest.fixture
def model(db: None) -> Any:
    model = CardModelFactory(hourly_rate=Decimal("12.5000"), monthly_rate=Decimal("3900.0000"))
    make_server_with_cards(RackFactory(), model)
    return model


@pytest.fixture
def march_10th() -> Iterator[None]:
    with at("2027-03-10 12:00"):
        yield


@pytest.fixture
def web(tenant: Tenant, march_10th: None) -> Client:
    client = Client()
    client.force_login(UserFactory(role=Role.TENANT, tenant=tenant))
    return client


def test_the_empty_state_then_a_saved_budget_and_its_month(
    web: Client, tenant: Tenant, model: Any
) -> None:
    page = web.get(PAGE)
    assert page.status_code == 200 and b'data-testid="budget-empty"' in page.content
    assert b'data-testid="budget-link"' in web.get(reverse("billing-console:usage")).content
    with at("2027-03-10 08:00"):
        lease_create(actor=None, tenant=tenant, kind="short", card_model=model, card_count=1)
    saved = web.post(PAGE, {"monthly_limit": "100.00", "warn_at": "50, 80", "action": "stop"})
    assert saved.status_code == 302
    budget = Budget.objects.get(tenant=tenant)
    assert (budget.monthly_limit, budget.warn_at, budget.action) == (
        Decimal("100.00"),
        [Decimal("0.5"), Decimal("0.8")],
        "stop",
    )
    page = web.get(PAGE)
    row = page.context["row"]
    assert (row.spend, row.burn, row.remaining, row.runway_hours) == (
        Decimal("50.00"),
        Decimal("12.50"),
        Decimal("50.00"),
        Decimal("4.00"),
    )
    assert page.context["used_percent"] == 50
    assert page.context["form"].initial["warn_at"] == "50, 80"
    assert b'data-testid="budget-bar"' in page.content and "¥50.00" in page.content.decode()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"monthly_limit": "-5", "warn_at": "50", "action": "notify"}, "monthly_limit"),
        ({"monthly_limit": "100", "warn_at": "150", "action": "notify"}, "warn_at"),
        ({"monthly_limit": "100", "warn_at": "fifty", "action": "notify"}, "warn_at"),
        ({"monthly_limit": "100", "warn_at": "50, nan", "action": "notify"}, "warn_at"),
        ({"monthly_limit": "100", "warn_at": "infinity", "action": "notify"}, "warn_at"),
        ({"monthly_limit": "100", "warn_at": "50", "action": "explode"}, "action"),
    ],
)
def test_errors_show_by_field_and_nothing_is_saved(web: Client, body: dict, field: str) -> None:
    page = web.post(PAGE, body)
    assert page.status_code == 200
    assert page.context["form"].errors[field]
    assert not Budget.objects.exists()


def test_staff_get_the_403_page(march_10th: None) -> None:
    client = Client()
    client.force_login(UserFactory(role=Role.FINANCE))
    assert client.get(PAGE).status_code == 403


def test_the_page_is_a_constant_number_of_queries(
    web: Client, tenant: Tenant, model: Any, django_assert_max_num_queries: Any
) -> None:
    Budget.objects.create(tenant=tenant, monthly_limit=Decimal("1000.00"), action="notify")
    with at("2027-03-10 08:00"):
        lease_create(actor=None, tenant=tenant, kind="short", card_model=model, card_count=1)
    with django_assert_max_num_queries(30) as one:
        web.get(PAGE)
    with at("2027-03-10 09:00"):
        for _ in range(3):
            lease_create(actor=None, tenant=tenant, kind="short", card_model=model, card_count=1)
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert web.get(PAGE).context["row"].burn == Decimal("50.00")
