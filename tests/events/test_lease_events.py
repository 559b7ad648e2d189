"""Each lease change records its event, in its transaction, with the lease as the API shows it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from rest_framework.test import APIClient

from core.roles import Role
from events.models import Event
from leasing.choices import LeaseKind
from leasing.services import (
    card_swap,
    lease_cancel,
    lease_create,
    lease_renew,
    lease_stop,
    lease_terminate,
    leases_advance,
)
from marketplace.models import Card
from tests.factories import (
    CardModelFactory,
    RackFactory,
    TenantFactory,
    UserFactory,
    api_key,
    make_server_with_cards,
)

NOW = dt.datetime(2027, 3, 10, 4, 0, tzinfo=dt.UTC)


@pytest.fixture
def setup(db: None) -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        model = CardModelFactory(hourly_rate=Decimal("7.5000"), monthly_rate=Decimal("3900.0000"))
        rack = RackFactory()
        for _ in range(3):
            make_server_with_cards(rack, model)
        tenant = TenantFactory()
        user = UserFactory(role=Role.TENANT, tenant=tenant)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_key(user)}")
        yield model, tenant, user, client, traveller


def last(kind: str) -> Event:
    return Event.objects.filter(type=kind).order_by("-created").first()


def test_every_lease_change_records_its_event_with_the_lease_as_the_api_shows_it(setup) -> None:
    model, tenant, user, client, traveller = setup

    def api(pk: int) -> dict[str, Any]:
        return client.get(f"/api/v1/leases/{pk}/").json()

    short = lease_create(
        actor=user, tenant=tenant, kind=LeaseKind.SHORT, card_model=model, card_count=2
    )
    assert last("lease.created").data == api(short.pk)
    assert last("lease.created").tenant_id == tenant.pk
    card = Card.objects.get(pk=api(short.pk)["cards"][0])
    card_swap(actor=None, card=card, reason="fan")
    swapped = last("lease.card_swapped")
    assert swapped.data == api(short.pk) and card.pk not in swapped.data["cards"]
    lease_stop(actor=user, lease=short)
    assert last("lease.ended").data == api(short.pk)
    start = NOW + dt.timedelta(hours=2)
    later = lease_create(
        actor=user, tenant=tenant, kind=LeaseKind.SHORT, card_model=model, card_count=1,
        start=start, end=start + dt.timedelta(hours=1),
    )  # fmt: skip
    soon = lease_create(
        actor=user, tenant=tenant, kind=LeaseKind.SHORT, card_model=model, card_count=1,
        start=start, end=start + dt.timedelta(hours=1),
    )  # fmt: skip
    lease_cancel(actor=user, lease=later)
    assert last("lease.cancelled").data == api(later.pk)
    traveller.move_to(start)
    leases_advance()
    assert last("lease.activated").data == api(soon.pk)
    traveller.move_to(start + dt.timedelta(hours=1))
    leases_advance()
    assert last("lease.ended").data == api(soon.pk)
    long = lease_create(
        actor=user, tenant=tenant, kind=LeaseKind.LONG, card_model=model, card_count=2,
        start=dt.date(2027, 3, 15), term_months=12,
    )  # fmt: skip
    renewal = lease_renew(actor=user, lease=long)
    renewed = last("lease.renewed")
    assert renewed.data == api(renewal.pk) and renewed.data["renewed_from"] == long.pk
    lease_terminate(actor=user, lease=long, effective=dt.date(2027, 4, 1))
    assert last("lease.terminated").data == api(long.pk)
    assert last("lease.cancelled").data == api(renewal.pk)  # the renewal went with it
    types = sorted(set(Event.objects.values_list("type", flat=True)))
    assert types == [
        "lease.activated", "lease.cancelled", "lease.card_swapped", "lease.created",
        "lease.ended", "lease.renewed", "lease.terminated",
    ]  # fmt: skip
