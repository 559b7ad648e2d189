"""An allocation's card model is its card's, kept by the database whoever writes the row."""

import datetime as dt

import pytest
from django.db import connection

from leasing.models import Allocation
from tests.factories import CardFactory, CardModelFactory, LeaseFactory

START = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
END = dt.datetime(2030, 2, 1, tzinfo=dt.UTC)


def _card_model_of(allocation_id: int) -> int:
    return Allocation.objects.values_list("card_model_id", flat=True).get(pk=allocation_id)


@pytest.mark.django_db
def test_an_allocation_takes_its_cards_model_however_it_is_inserted() -> None:
    card = CardFactory()
    other = CardModelFactory()
    lease = LeaseFactory(card_model=card.card_model)
    created = Allocation.objects.create(lease=lease, card=card, period=(START, END))
    [bulk] = Allocation.objects.bulk_create(
        [Allocation(lease=lease, card=card, period=(END, END + dt.timedelta(days=1)))]
    )
    with connection.cursor() as cursor:
        # a writer that names another model (or none, as COPY does) is overruled
        cursor.execute(
            "INSERT INTO leasing_allocation (lease_id, card_id, period, card_model_id) "
            "VALUES (%s, %s, %s, %s) RETURNING id",
            [lease.pk, card.pk, f"[{END + dt.timedelta(days=2)},)", other.pk],
        )
        [raw] = cursor.fetchone()
    for pk in (created.pk, bulk.pk, raw):
        assert _card_model_of(pk) == card.card_model_id


@pytest.mark.django_db
def test_moving_an_allocation_to_another_card_or_saving_it_whole_keeps_it_right() -> None:
    card = CardFactory.create()
    elsewhere = CardFactory.create()  # another model
    allocation = Allocation.objects.create(
        lease=LeaseFactory(card_model=card.card_model), card=card, period=(START, END)
    )
    allocation.card = elsewhere
    allocation.save()  # writes the stale (unknown) card_model too
    assert _card_model_of(allocation.pk) == elsewhere.card_model_id
    Allocation.objects.filter(pk=allocation.pk).update(card_model=card.card_model)
    assert _card_model_of(allocation.pk) == elsewhere.card_model_id


@pytest.mark.django_db
def test_a_cards_allocations_follow_a_change_of_its_model() -> None:
    card = CardFactory.create()
    untouched = CardFactory(card_model=card.card_model)
    lease = LeaseFactory(card_model=card.card_model)
    Allocation.objects.create(lease=lease, card=card, period=(START, END))
    Allocation.objects.create(lease=lease, card=card, period=(END, None))
    kept = Allocation.objects.create(lease=lease, card=untouched, period=(START, END))
    new_model = CardModelFactory.create()
    card.card_model = new_model
    card.save()
    moved = Allocation.objects.filter(card=card).values_list("card_model_id", flat=True)
    assert set(moved) == {new_model.pk}
    assert _card_model_of(kept.pk) == untouched.card_model_id


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_the_allocations_there_are() -> None:
    from django.db.migrations.executor import MigrationExecutor

    before = [("leasing", "0004_lease_id_tenant")]
    after = MigrationExecutor(connection).loader.graph.leaf_nodes()  # every app's latest
    MigrationExecutor(connection).migrate(before)
    try:
        cards = [CardFactory.create() for _ in range(3)]  # three models
        lease = LeaseFactory(card_model=cards[0].card_model)
        with connection.cursor() as cursor:
            for card in cards:
                cursor.execute(
                    "INSERT INTO leasing_allocation (lease_id, card_id, period) "
                    "VALUES (%s, %s, tstzrange(%s, %s))",
                    [lease.pk, card.pk, START, END],
                )
    finally:
        MigrationExecutor(connection).migrate(after)
    filled = dict(Allocation.objects.values_list("card_id", "card_model_id"))
    assert filled == {card.pk: card.card_model_id for card in cards}
