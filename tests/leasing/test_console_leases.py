"""The console's Leases page without a browser: the tenant's own leases only (another tenant's
lease in a stop URL is the 404 page), tenant role only, a page in a constant number of queries,
a quote from the availability selector, taking a lease through lease_create (refusals in words)
and stopping one through lease_stop; CSRF on every POST."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from core.roles import Role
from leasing.models import Lease, LeaseEvent
from leasing.services import lease_create, lease_termination_quote
from marketplace.models import CardModel
from tests.factories import LeaseFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db

LEASES = reverse("leasing-console:leases")
QUOTE = reverse("leasing-console:quote")
TAKE = reverse("leasing-console:take")


@pytest.fixture
def tenant_user() -> Any:
    tenant = TenantFactory(name="Zhiyuan AI Lab")
    return UserFactory(username="li.na", role=Role.TENANT, tenant=tenant)


@pytest.fixture
def client_a(frozen_now: Any, tenant_user: Any) -> Client:
    """Logged in at the frozen time (a session opened earlier would have expired by then)."""
    client = Client()
    client.force_login(tenant_user)
    return client


def _short(user: Any, model: CardModel, count: int = 2) -> Lease:
    return lease_create(
        actor=user, tenant=user.tenant, kind="short", card_model=model, card_count=count
    )


def test_the_page_lists_the_tenants_leases_newest_first(
    client_a: Client, tenant_user: Any, model: CardModel, fleet: Any, frozen_now: Any
) -> None:
    first = _short(tenant_user, model)
    frozen_now.shift(dt.timedelta(minutes=5))
    second = _short(tenant_user, model, count=3)
    LeaseFactory(card_model=model)  # another tenant's
    response = client_a.get(LEASES)
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [row["lease"].pk for row in rows] == [second.pk, first.pk]
    text = response.content.decode()
    assert model.name in text and "¥7.50" in text and "Active" in text
    # operator time: 12:05 in Shanghai (04:05 UTC)
    assert "2027-03-10 12:05" in text


def test_a_page_is_a_constant_number_of_queries(
    client_a: Client,
    tenant_user: Any,
    model: CardModel,
    django_assert_max_num_queries: Any,
) -> None:
    LeaseFactory(tenant=tenant_user.tenant, card_model=model)
    with django_assert_max_num_queries(8) as one:
        assert client_a.get(LEASES).status_code == 200
    for _ in range(30):
        LeaseFactory(tenant=tenant_user.tenant, card_model=model)
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client_a.get(LEASES)
    assert len(response.context["rows"]) == 31


def test_the_list_is_paginated_by_fifty(
    client_a: Client, tenant_user: Any, model: CardModel
) -> None:
    for _ in range(51):
        LeaseFactory(tenant=tenant_user.tenant, card_model=model)
    assert len(client_a.get(LEASES).context["rows"]) == 50
    assert len(client_a.get(LEASES + "?page=2").context["rows"]) == 1


def test_staff_get_the_403_page_and_anonymous_the_login(frozen_now: Any) -> None:
    for role in (Role.OPERATOR, Role.FINANCE, Role.ADMIN):
        client = Client()
        client.force_login(UserFactory(role=role))
        response = client.get(LEASES)
        assert response.status_code == 403
        assert b"Not allowed" in response.content
    response = Client().get(LEASES)
    assert response.status_code == 302 and "/console/login/" in response["Location"]


def test_a_quote_comes_from_the_availability_selector(
    client_a: Client, model: CardModel, fleet: Any, frozen_now: Any
) -> None:
    response = client_a.get(QUOTE, {"card_model": model.pk, "card_count": 2, "hours": 3})
    assert response.status_code == 200
    availability = response.context["availability"]
    assert availability.available
    assert availability.quote.amount == Decimal("45.00")  # 7.50 × 2 cards × 3 hours
    text = response.content.decode()
    assert "¥7.50" in text and "¥45.00" in text and "Take this lease" in text


def test_a_quote_beyond_the_fleet_says_not_available(
    client_a: Client, model: CardModel, fleet: Any, frozen_now: Any
) -> None:
    response = client_a.get(QUOTE, {"card_model": model.pk, "card_count": 17, "hours": 1})
    assert not response.context["availability"].available
    assert "Not available" in response.content.decode()
    assert "Take this lease" not in response.content.decode()


def test_a_bad_form_is_answered_in_words(client_a: Client, model: CardModel) -> None:
    response = client_a.get(QUOTE, {"card_model": model.pk, "card_count": 0, "hours": 1})
    assert response.status_code == 200
    assert "Cards: Ensure this value is greater than or equal to 1." in response.content.decode()


def test_taking_a_lease_creates_it_through_the_service(
    client_a: Client, tenant_user: Any, model: CardModel, fleet: Any, frozen_now: Any
) -> None:
    response = client_a.post(TAKE, {"card_model": model.pk, "card_count": 2, "hours": 3})
    assert response.status_code == 200
    assert response["HX-Trigger"] == "leases-changed"
    lease = Lease.objects.get(tenant=tenant_user.tenant)
    assert (lease.kind, lease.status, lease.card_count) == ("short", "active", 2)
    assert lease.end is not None and lease.end - lease.start == dt.timedelta(hours=3)
    assert lease.allocations.count() == 2  # placed by lease_create
    assert LeaseEvent.objects.filter(lease=lease, reason="created").exists()
    assert f"Lease #{lease.pk} is taken." in response.content.decode()


def test_a_refused_lease_is_shown_in_words(
    client_a: Client, model: CardModel, fleet: Any, frozen_now: Any
) -> None:
    response = client_a.post(TAKE, {"card_model": model.pk, "card_count": 17, "hours": 1})
    assert response.status_code == 200
    assert "HX-Trigger" not in response
    assert "more than the 16 installed card(s)" in response.content.decode()
    assert not Lease.objects.exists()


def test_stop_ends_the_lease_and_rerenders_its_row(
    client_a: Client, tenant_user: Any, model: CardModel, fleet: Any, frozen_now: Any
) -> None:
    lease = _short(tenant_user, model)
    frozen_now.shift(dt.timedelta(minutes=30))
    response = client_a.post(reverse("leasing-console:stop", args=[lease.pk]))
    assert response.status_code == 200
    lease.refresh_from_db()
    assert lease.status == "ended"
    text = response.content.decode()
    assert f'id="lease-{lease.pk}"' in text and "Ended" in text and 'data-testid="stop"' not in text


def test_another_tenants_lease_in_a_stop_url_is_the_404_page(
    client_a: Client, model: CardModel, fleet: Any, frozen_now: Any
) -> None:
    other = UserFactory(role=Role.TENANT, tenant=TenantFactory())
    lease = _short(other, model)
    response = client_a.post(reverse("leasing-console:stop", args=[lease.pk]))
    assert response.status_code == 404
    assert b"Page not found" in response.content
    lease.refresh_from_db()
    assert lease.status == "active"


def test_every_post_needs_the_csrf_token(
    frozen_now: Any, tenant_user: Any, model: CardModel, fleet: Any
) -> None:
    lease = _short(tenant_user, model)
    client = Client(enforce_csrf_checks=True)
    client.force_login(tenant_user)
    stop = reverse("leasing-console:stop", args=[lease.pk])
    assert (
        client.post(TAKE, {"card_model": model.pk, "card_count": 1, "hours": 1}).status_code == 403
    )
    assert client.post(stop).status_code == 403
    assert Lease.objects.count() == 1
    lease.refresh_from_db()
    assert lease.status == "active"
    # with the page's token (htmx sends it as X-CSRFToken) the same POST goes through
    client.get(LEASES)
    token = client.cookies["csrftoken"].value
    assert client.post(stop, HTTP_X_CSRFTOKEN=token).status_code == 200


# --- Terminating a long lease -------------------------------------------------------------------


def _long(user: Any, model: CardModel) -> Lease:
    """A 2-card, 12-month long lease from today (2027-03-10)."""
    model.refresh_from_db()  # the fixture's rates are strings until read back
    return lease_create(
        actor=user, tenant=user.tenant, kind="long", card_model=model, card_count=2,
        start=dt.date(2027, 3, 10), term_months=12,
    )  # fmt: skip


def _terminate_url(lease: Lease) -> str:
    return reverse("leasing-console:terminate", args=[lease.pk])


def test_a_long_lease_row_offers_terminate_and_a_short_one_does_not(
    client_a: Client, tenant_user: Any, model: CardModel, fleet: Any
) -> None:
    long, short = _long(tenant_user, model), _short(tenant_user, model)
    rows = {row["lease"].pk: row for row in client_a.get(LEASES).context["rows"]}
    assert rows[long.pk]["can_terminate"] and not rows[short.pk]["can_terminate"]
    assert _terminate_url(long) in client_a.get(LEASES).content.decode()


def test_the_quote_shown_is_the_services_fee(
    client_a: Client, tenant_user: Any, model: CardModel, fleet: Any
) -> None:
    lease = _long(tenant_user, model)
    first = client_a.get(_terminate_url(lease))  # the button: tomorrow's quote
    assert first.context["quote"].effective == dt.date(2027, 3, 11)
    response = client_a.get(_terminate_url(lease), {"effective": "2027-09-01"})
    quote = response.context["quote"]
    expected = lease_termination_quote(lease=lease, effective=dt.date(2027, 9, 1))
    assert (quote.fee, quote.end) == (expected.fee, expected.end)
    assert quote.fee > 0
    text = response.content.decode()
    assert f"¥{expected.fee:,.2f}" in text and "2027-09-01 00:00" in text
    lease.refresh_from_db()
    assert lease.status == "active" and lease.termination_fee is None  # a quote changes nothing


def test_confirming_terminates_the_lease_with_the_quoted_fee(
    client_a: Client, tenant_user: Any, model: CardModel, fleet: Any
) -> None:
    lease = _long(tenant_user, model)
    quoted = client_a.get(_terminate_url(lease), {"effective": "2027-09-01"}).context["quote"]
    response = client_a.post(_terminate_url(lease), {"effective": "2027-09-01", "reason": "moving"})
    assert response.status_code == 200
    assert response["HX-Trigger"] == "leases-changed"
    lease.refresh_from_db()
    assert (lease.status, lease.termination_fee, lease.terminated_on) == (
        "terminated",
        quoted.fee,
        dt.date(2027, 9, 1),
    )
    assert LeaseEvent.objects.filter(lease=lease, reason="moving").exists()
    assert f"¥{quoted.fee:,.2f}" in response.content.decode()
    row = next(r for r in client_a.get(LEASES).context["rows"] if r["lease"].pk == lease.pk)
    assert row["status_label"] == "Terminated" and not row["can_terminate"]
    text = client_a.get(LEASES).content.decode()
    assert f"Fee ¥{quoted.fee:,.2f}" in text


def test_a_refused_termination_is_shown_in_words_and_changes_nothing(
    client_a: Client, tenant_user: Any, model: CardModel, fleet: Any
) -> None:
    lease = _long(tenant_user, model)
    response = client_a.post(_terminate_url(lease), {"effective": "2027-03-10"})  # today
    assert response.status_code == 200 and "HX-Trigger" not in response
    assert "Termination takes effect after today." in response.content.decode()
    quote = client_a.get(_terminate_url(lease), {"effective": "2028-04-01"})  # after its end
    assert "before its end (2028-03-10)" in quote.content.decode()
    assert "confirm-terminate" not in quote.content.decode()
    lease.refresh_from_db()
    assert lease.status == "active" and lease.termination_fee is None
    short = _short(tenant_user, model)
    refused = client_a.post(_terminate_url(short), {"effective": "2027-03-11"})
    assert "Only long leases are terminated" in refused.content.decode()


def test_another_tenants_lease_in_a_terminate_url_is_the_404_page(
    client_a: Client, model: CardModel, fleet: Any
) -> None:
    other = UserFactory(role=Role.TENANT, tenant=TenantFactory())
    lease = _long(other, model)
    assert client_a.get(_terminate_url(lease)).status_code == 404
    response = client_a.post(_terminate_url(lease), {"effective": "2027-09-01"})
    assert response.status_code == 404 and b"Page not found" in response.content
    lease.refresh_from_db()
    assert lease.status == "active"
