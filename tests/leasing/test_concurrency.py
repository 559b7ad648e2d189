"""Real threads, real transactions: the database never double-books a card."""

import datetime as dt
from collections import Counter

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from rest_framework.test import APIClient

from leasing.models import Allocation, Lease
from tests.concurrency import run_concurrently
from tests.factories import (
    CardFactory,
    CardModelFactory,
    LeaseFactory,
    RackFactory,
    api_key,
    make_server_with_cards,
)

pytestmark = pytest.mark.django_db(transaction=True)

T0 = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def assert_no_overlapping_allocations() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM leasing_allocation a
            JOIN leasing_allocation b ON a.card_id = b.card_id AND a.id < b.id
            WHERE a.period && b.period
            """
        )
        assert cursor.fetchone()[0] == 0


def test_64_requests_for_the_last_8_cards_give_exactly_one_lease(make_user) -> None:
    model = CardModelFactory()
    rack = RackFactory()
    make_server_with_cards(rack, model)  # will be taken
    make_server_with_cards(rack, model)  # the last 8 free cards
    tokens = [api_key(make_user("tenant")) for _ in range(64)]
    first = APIClient()
    first.credentials(HTTP_AUTHORIZATION=f"Token {tokens[0]}")
    body = {"kind": "short", "card_model": model.pk, "card_count": 8}
    assert first.post("/api/v1/leases/", body, format="json").status_code == 201

    for round_number in range(10):

        def request(index: int) -> int:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {tokens[index]}")
            return client.post("/api/v1/leases/", body, format="json").status_code

        statuses = Counter(run_concurrently(64, request))
        assert statuses == Counter({201: 1, 409: 63}), f"round {round_number}: {statuses}"
        assert_no_overlapping_allocations()
        # Free the cards again for the next round: stop the winner.
        winner = Lease.objects.filter(status="active").latest("id")
        Allocation.objects.filter(lease=winner).delete()
        winner.status = "ended"
        winner.save()


def _allocate(card_id: int, lease, lower: dt.datetime, upper: dt.datetime) -> bool:
    try:
        with transaction.atomic():
            Allocation.objects.create(
                lease=lease, card_id=card_id, period=DateTimeTZRange(lower, upper, "[)")
            )
        return True
    except IntegrityError:
        return False


def test_overlapping_windows_on_one_card_one_wins() -> None:
    card = CardFactory()
    leases = [LeaseFactory(card_model=card.card_model) for _ in range(16)]
    windows = [(T0 + dt.timedelta(hours=i), T0 + dt.timedelta(hours=i + 24)) for i in range(16)]
    results = run_concurrently(16, lambda i: _allocate(card.pk, leases[i], *windows[i]))
    assert results.count(True) == 1
    assert_no_overlapping_allocations()


def test_adjacent_windows_on_one_card_all_win() -> None:
    card = CardFactory()
    leases = [LeaseFactory(card_model=card.card_model) for _ in range(8)]
    windows = [(T0 + dt.timedelta(hours=i), T0 + dt.timedelta(hours=i + 1)) for i in range(8)]
    results = run_concurrently(8, lambda i: _allocate(card.pk, leases[i], *windows[i]))
    assert results == [True] * 8
    assert_no_overlapping_allocations()
