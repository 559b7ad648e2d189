"""Topology-aware placement: fewest servers, then fewest racks, ties by lowest ids."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.exceptions import NoCapacity
from marketplace.selectors import ServerFree, choose_placement, placement_find
from tests.factories import CardModelFactory, RackFactory, SiteFactory, make_server_with_cards

START = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
END = dt.datetime(2027, 2, 1, tzinfo=dt.UTC)


def _place(model, count, site=None):
    return placement_find(
        card_model_id=model.pk, count=count, start=START, end=END, site_id=site.pk if site else None
    )


@pytest.mark.django_db
def test_eight_cards_land_on_one_free_eight_card_server() -> None:
    model = CardModelFactory()
    rack = RackFactory()
    make_server_with_cards(rack, model, cards=6)
    full, full_cards = make_server_with_cards(rack, model, cards=8)
    placement = _place(model, 8)
    assert placement.server_ids == [full.pk]
    assert placement.card_ids == [c.pk for c in full_cards]


@pytest.mark.django_db
def test_a_lease_needing_two_servers_prefers_two_in_one_rack() -> None:
    model = CardModelFactory()
    rack_a, rack_b = RackFactory(), RackFactory()
    make_server_with_cards(rack_a, model)  # lowest server id, alone in its rack
    b1, _ = make_server_with_cards(rack_b, model)
    b2, _ = make_server_with_cards(rack_b, model)
    placement = _place(model, 12)
    assert placement.server_ids == [b1.pk, b2.pk]
    assert placement.rack_ids == {rack_b.pk}
    assert len(placement.card_ids) == 12


@pytest.mark.django_db
def test_maintenance_retired_and_planned_rack_cards_are_never_chosen() -> None:
    model = CardModelFactory()
    racked = RackFactory()
    planned = RackFactory(status="planned")
    _, planned_cards = make_server_with_cards(planned, model)
    _, cards = make_server_with_cards(racked, model)
    cards[0].status = "maintenance"
    cards[0].save()
    cards[1].status = "retired"
    cards[1].save()
    placement = _place(model, 6)
    chosen = set(placement.card_ids)
    assert chosen == {c.pk for c in cards[2:]}
    assert not chosen & {c.pk for c in planned_cards}
    with pytest.raises(NoCapacity) as excinfo:
        _place(model, 7)
    assert excinfo.value.extra == {"free": 6, "requested": 7}


@pytest.mark.django_db
def test_other_models_and_other_sites_are_not_chosen() -> None:
    model, other_model = CardModelFactory(), CardModelFactory()
    here, there = SiteFactory(), SiteFactory()
    make_server_with_cards(RackFactory(site=there), model)
    server, _ = make_server_with_cards(RackFactory(site=here), model)
    make_server_with_cards(RackFactory(site=here), other_model)
    assert _place(model, 8, site=here).server_ids == [server.pk]


@pytest.mark.django_db
def test_placement_is_deterministic() -> None:
    model = CardModelFactory()
    for _ in range(3):
        rack = RackFactory()
        for n in (3, 8, 5):
            make_server_with_cards(rack, model, cards=n)
    first = _place(model, 13)
    for _ in range(5):
        assert _place(model, 13).servers == first.servers


def test_ties_go_to_the_lowest_ids() -> None:
    servers = [ServerFree(s, 1, [s * 10 + i for i in range(8)]) for s in (5, 3, 9)]
    placement = choose_placement(servers, 4)
    assert placement is not None
    assert placement.servers == [(3, [30, 31, 32, 33])]


def test_fewest_servers_beats_fewest_racks() -> None:
    # Rack 1 could hold 10 cards only on three servers; racks 2+3 hold them on two.
    servers = [
        ServerFree(1, 1, list(range(100, 104))),
        ServerFree(2, 1, list(range(200, 204))),
        ServerFree(3, 1, list(range(300, 304))),
        ServerFree(4, 2, list(range(400, 408))),
        ServerFree(5, 3, list(range(500, 504))),
    ]
    placement = choose_placement(servers, 10)
    assert placement is not None
    assert placement.server_ids == [1, 4]  # two servers (two racks), lowest ids
    assert placement.rack_ids == {1, 2}


free_lists = st.lists(st.tuples(st.integers(1, 4), st.integers(0, 8)), min_size=1, max_size=12)


@given(free_lists, st.integers(1, 40))
def test_placement_takes_exactly_count_free_cards_on_the_fewest_servers(layout, count) -> None:
    servers = [
        ServerFree(index + 1, rack, [(index + 1) * 100 + c for c in range(free)])
        for index, (rack, free) in enumerate(layout)
        if free
    ]
    total = sum(s.free for s in servers)
    placement = choose_placement(servers, count)
    if count > total:
        assert placement is None
        return
    assert placement is not None
    ids = placement.card_ids
    assert len(ids) == count == len(set(ids))
    all_free = {c for s in servers for c in s.card_ids}
    assert set(ids) <= all_free
    fewest = next(
        k
        for k in range(1, len(servers) + 1)
        if sum(sorted((s.free for s in servers), reverse=True)[:k]) >= count
    )
    assert len(placement.server_ids) == fewest


@pytest.mark.django_db
def test_the_one_server_walk_places_exactly_as_the_full_rule() -> None:
    """`placement_find` answers the common case (one server holds the request) by a walk that
    stops at the first server that fits; over random fleets, with cards held, in maintenance
    and in planned racks, it must choose exactly what `choose_placement` chooses over every
    free card."""
    import random

    from leasing.models import Allocation, Lease
    from marketplace.selectors import free_cards_by_server
    from tests.factories import TenantFactory

    rnd = random.Random(20261130)
    model = CardModelFactory()
    racks = [RackFactory(status=rnd.choice(["racked", "racked", "planned"])) for _ in range(5)]
    cards = []
    for _ in range(14):
        _, made = make_server_with_cards(rnd.choice(racks), model, cards=rnd.choice([4, 8, 8]))
        cards += made
    for card in rnd.sample(cards, 8):
        card.status = "maintenance"
        card.save()
    lease = Lease.objects.create(
        tenant=TenantFactory(), kind="short", card_model=model, card_count=1, status="active",
        start=START, unit_price=1,
    )  # fmt: skip
    held = rnd.sample(cards, 30)
    Allocation.objects.bulk_create(
        Allocation(lease=lease, card_id=card.pk, period=(START, END)) for card in held
    )
    for count in range(1, 21):
        servers = free_cards_by_server(card_model_id=model.pk, site_id=None, start=START, end=END)
        expected = choose_placement(servers, count)
        if expected is None:
            with pytest.raises(NoCapacity):
                _place(model, count)
        else:
            assert _place(model, count).servers == expected.servers, count


@pytest.mark.django_db
def test_free_cards_found_by_the_models_allocations_are_those_probed_card_by_card() -> None:
    """`free_cards_by_server` finds the busy cards by one scan of the model's allocations
    ending at or after the start, the placement walk (`_FREE_CARD`) by bounds on each card's
    allocations; over random fleets, holds (ending before, at and after the window's edges,
    open-ended, on other models) and windows (open-ended too), both must list exactly the cards
    that no allocation overlapping the window (`&&`, the exclusion constraint's own operator)
    holds."""
    import random

    from django.db import connection

    from leasing.models import Allocation
    from marketplace.selectors import _FREE_CARD, _free_params, free_cards_by_server
    from tests.factories import LeaseFactory

    probed_sql = f"""
        SELECT c.id, c.server_id, s.rack_id
        FROM marketplace_card c
        JOIN marketplace_server s ON s.id = c.server_id
        JOIN marketplace_rack r ON r.id = s.rack_id
        WHERE {_FREE_CARD}
        ORDER BY c.server_id, c.id
    """

    overlap_sql = probed_sql.replace(
        _FREE_CARD,
        _FREE_CARD.split("AND NOT EXISTS")[0]
        + """AND NOT EXISTS (SELECT 1 FROM leasing_allocation a WHERE a.card_id = c.id
                 AND a.period && tstzrange(%(start)s, %(end)s, '[)'))""",
    )

    def probed(model_id, site_id, start, end, sql=probed_sql):
        with connection.cursor() as cursor:
            cursor.execute(sql, _free_params(model_id, site_id, start, end))
            return cursor.fetchall()

    rnd = random.Random(20261201)
    hour = dt.timedelta(hours=1)
    for fleet in range(3):
        models = [CardModelFactory() for _ in range(2)]
        sites = [SiteFactory() for _ in range(2)]
        racks = [
            RackFactory(site=rnd.choice(sites), status=rnd.choice(["racked", "racked", "planned"]))
            for _ in range(4)
        ]
        cards = []
        for _ in range(10):
            _, made = make_server_with_cards(
                rnd.choice(racks), rnd.choice(models), cards=rnd.choice([4, 8])
            )
            cards += made
        for card in rnd.sample(cards, 6):
            card.status = rnd.choice(["maintenance", "retired"])
            card.save()
        lease = LeaseFactory(card_model=models[0])
        allocations = []
        for card in cards:
            at = START - 48 * hour
            for _ in range(rnd.randrange(4)):  # a card's holds never overlap
                at += rnd.randrange(0, 400) * hour
                length = rnd.randrange(1, 400) * hour
                end = None if rnd.random() < 0.1 else at + length
                allocations.append(Allocation(lease=lease, card=card, period=(at, end)))
                if end is None:
                    break
                at = end
        Allocation.objects.bulk_create(allocations)
        edges = sorted({START, END, *(a.period[0] for a in allocations)})
        for _ in range(40):
            start = rnd.choice(edges) + rnd.choice([-hour, dt.timedelta(0), hour])
            later = [edge for edge in edges if edge > start]
            draw = rnd.random()
            if draw < 0.2:
                end = None
            elif draw < 0.5 and later:  # ending where a hold starts: it does not meet it
                end = rnd.choice(later)
            else:
                end = start + rnd.randrange(1, 500) * hour
            model = rnd.choice(models)
            site = rnd.choice([None, *sites])
            site_id = site.pk if site else None
            found = [
                (card, server.server_id, server.rack_id)
                for server in free_cards_by_server(
                    card_model_id=model.pk, site_id=site_id, start=start, end=end
                )
                for card in server.card_ids
            ]
            free = probed(model.pk, site_id, start, end, overlap_sql)
            assert found == free, (fleet, start, end)
            assert probed(model.pk, site_id, start, end) == free, (fleet, start, end)
