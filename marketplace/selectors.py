"""Reads of inventory reused across apps: free cards, placement, capacity."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import accumulate
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum

from core import clock
from core.exceptions import NoCapacity
from core.prepared import prepared_cursor
from marketplace.choices import CardStatus, RackStatus
from marketplace.models import Card, Rack, Site


@dataclass
class ServerFree:
    server_id: int
    rack_id: int
    card_ids: list[int]

    @property
    def free(self) -> int:
        return len(self.card_ids)


@dataclass
class Placement:
    """The cards chosen for a request, grouped by server (in server id order)."""

    servers: list[tuple[int, list[int]]] = field(default_factory=list)

    @property
    def card_ids(self) -> list[int]:
        return [card for _, cards in self.servers for card in cards]

    @property
    def server_ids(self) -> list[int]:
        return [server for server, _ in self.servers]

    rack_ids: set[int] = field(default_factory=set)


# A card `c` that may be leased: allocatable (available, in a racked rack `r`) of one model,
# optionally at one site.
_ALLOCATABLE_CARD = """
    c.card_model_id = %(card_model)s::bigint
    AND c.status = %(available)s
    AND r.status = %(racked)s
    AND (%(site)s::bigint IS NULL OR r.site_id = %(site)s::bigint)
"""

# ... that is free: no allocation holds it during [start, end). Allocations live in leasing; the
# NOT EXISTS below and the one in `_FREE_CARDS_SQL` are the places inventory looks at them.
# This one probes card by card: what a walk that stops early wants. `end` may be NULL: an
# open-ended hold. An allocation [lo, hi) meets the window when lo < end and hi > start (an
# open-ended one's hi is infinity), written so that the probe is a range scan of the B-tree on
# (card, upper bound) (`leasing_allocation_card_upper`), the card's allocations still running at
# `start`, rather than of the exclusion constraint's GiST index on (card, period) with `&&`: the
# same answers, in half the database time (0.33 against 0.74 ms for a placement, 400 random
# requests on the bench fleet).
_FREE_CARD = f"""
    {_ALLOCATABLE_CARD}
    AND NOT EXISTS (
        SELECT 1 FROM leasing_allocation a
        WHERE a.card_id = c.id
            AND COALESCE(upper(a.period), 'infinity') > %(start)s
            AND (%(end)s::timestamptz IS NULL OR lower(a.period) < %(end)s)
    )
"""

# Every free card, a row per server (its cards in id order, so a few hundred rows rather than
# thousands). Every card of the model is looked at, so the allocations holding one over the
# window are found at once: the model's allocations ending at or after `start` (an allocation
# carries its card's model), one range scan of the index on (card_model, upper(period)) that
# also holds card and period, then anti-joined. Allocations that ended
# before `start` (the history, most of the table) are never read. `>=` (not `>`): a necessary
# condition for any bounds. Whether the period meets the window is then asked as "their
# intersection is not empty", which is `&&` but not a condition the planner can take to the
# GiST index: it would AND this scan with a bitmap of every model's allocations over the window
# (at 100,000 cards ~15 times slower than the range scan alone).
_FREE_CARDS_SQL = f"""
SELECT c.server_id, s.rack_id, array_agg(c.id ORDER BY c.id)
FROM marketplace_card c
JOIN marketplace_server s ON s.id = c.server_id
JOIN marketplace_rack r ON r.id = s.rack_id
WHERE {_ALLOCATABLE_CARD}
    AND NOT EXISTS (
        SELECT 1 FROM leasing_allocation a
        WHERE a.card_id = c.id
            AND a.card_model_id = %(card_model)s::bigint
            AND COALESCE(upper(a.period), 'infinity') > %(start)s
            AND NOT isempty(a.period * tstzrange(%(start)s, %(end)s, '[)'))
    )
GROUP BY c.server_id, s.rack_id
ORDER BY c.server_id
"""

# The first server, in (rack, server) id order, with `count` free cards: what `choose_placement`
# picks whenever one server can hold the request. Servers are walked in that order and the walk
# stops at the first that fits, rather than listing every free card of the model.
_ONE_SERVER_SQL = f"""
SELECT s.id, s.rack_id, f.cards
FROM marketplace_server s
JOIN marketplace_rack r ON r.id = s.rack_id
CROSS JOIN LATERAL (
    SELECT array_agg(c.id ORDER BY c.id) AS cards
    FROM marketplace_card c
    WHERE c.server_id = s.id AND {_FREE_CARD}
) f
WHERE cardinality(f.cards) >= %(count)s
ORDER BY s.rack_id, s.id
LIMIT 1
"""


def _free_params(
    card_model_id: int, site_id: int | None, start: dt.datetime, end: dt.datetime | None
) -> dict[str, Any]:
    return {
        "card_model": card_model_id,
        "site": site_id,
        "start": start,
        "end": end,
        "available": CardStatus.AVAILABLE,
        "racked": RackStatus.RACKED,
    }


def free_cards_by_server(
    *, card_model_id: int, site_id: int | None, start: dt.datetime, end: dt.datetime | None
) -> list[ServerFree]:
    """Free allocatable cards per server, in server id order (cards in id order)."""
    with connection.cursor() as cursor:
        cursor.execute(_FREE_CARDS_SQL, _free_params(card_model_id, site_id, start, end))
        return [ServerFree(server, rack, cards) for server, rack, cards in cursor.fetchall()]


def _min_servers(frees: list[int], count: int) -> int | None:
    """Fewest servers whose free cards add up to `count` (largest first), or None."""
    for index, total in enumerate(accumulate(sorted(frees, reverse=True)), start=1):
        if total >= count:
            return index
    return None


def _lowest_feasible_subset(servers: list[ServerFree], k: int, count: int) -> list[ServerFree]:
    """The k servers with the lexicographically lowest ids whose free cards reach `count`."""
    ordered = sorted(servers, key=lambda s: s.server_id)
    chosen: list[ServerFree] = []
    total = 0
    for index, server in enumerate(ordered):
        need = k - len(chosen) - 1
        if need < 0:
            break
        rest = sorted((s.free for s in ordered[index + 1 :]), reverse=True)[:need]
        if len(rest) == need and total + server.free + sum(rest) >= count:
            chosen.append(server)
            total += server.free
    return chosen


def choose_placement(servers: list[ServerFree], count: int) -> Placement | None:
    """Topology-aware, deterministic placement (docs/domain.md §Leases).

    Fewest servers first; then fewest racks; ties by lowest ids. With k the fewest servers that
    can hold `count` cards, we look for the fewest racks that hold k such servers (one rack at a
    time in rack id order; then the r racks with most free cards, r = 2, 3, …), and within
    them take the k servers with the lowest ids that fit. Cards are taken in id order, filling
    each chosen server before the next.
    """
    if count <= 0:
        return None
    k = _min_servers([s.free for s in servers], count)
    if k is None:
        return None
    by_rack: dict[int, list[ServerFree]] = defaultdict(list)
    for server in servers:
        by_rack[server.rack_id].append(server)

    chosen: list[ServerFree] = []
    for rack_id in sorted(by_rack):
        if _min_servers([s.free for s in by_rack[rack_id]], count) == k:
            chosen = _lowest_feasible_subset(by_rack[rack_id], k, count)
            break
    if not chosen:
        racks_by_free = sorted(by_rack, key=lambda r: (-sum(s.free for s in by_rack[r]), r))
        for r in range(2, len(racks_by_free) + 1):
            pool = [s for rack in racks_by_free[:r] for s in by_rack[rack]]
            if _min_servers([s.free for s in pool], count) == k:
                chosen = _lowest_feasible_subset(pool, k, count)
                break
    placement = Placement()
    remaining = count
    for server in sorted(chosen, key=lambda s: s.server_id):
        take = server.card_ids[: min(server.free, remaining)]
        placement.servers.append((server.server_id, take))
        placement.rack_ids.add(server.rack_id)
        remaining -= len(take)
    return placement if remaining == 0 else None


def placement_find(
    *,
    card_model_id: int,
    count: int,
    start: dt.datetime,
    end: dt.datetime | None,
    site_id: int | None = None,
) -> Placement:
    """The cards to allocate for a request, or `NoCapacity` saying how many are free.

    `choose_placement` over every free card, but first the common case it comes to when one
    server can hold the request (the fewest servers is then one: the first such server in rack
    and server id order), found by a walk that stops there."""
    if count > 0:
        params = {**_free_params(card_model_id, site_id, start, end), "count": count}
        with prepared_cursor(binary=True) as cursor:  # planned once per connection
            cursor.execute(_ONE_SERVER_SQL, params)
            row = cursor.fetchone()
        if row is not None:
            server_id, rack_id, cards = row
            return Placement(servers=[(server_id, sorted(cards)[:count])], rack_ids={rack_id})
    servers = free_cards_by_server(
        card_model_id=card_model_id, site_id=site_id, start=start, end=end
    )
    placement = choose_placement(servers, count)
    if placement is None:
        free = sum(s.free for s in servers)
        raise NoCapacity(
            f"Only {free} card(s) of this model are free for that period; {count} requested.",
            extra={"free": free, "requested": count},
        )
    return placement


# --- Capacity ---

CAPACITY_GROUPS = {
    "site": "server__rack__site_id",
    "rack": "server__rack_id",
    "card_model": "card_model_id",
}
_CAPACITY_GROUP_NAMES = {
    "site": "server__rack__site__name",
    "rack": "server__rack__name",
    "card_model": "card_model__name",
}


def capacity_by(group_by: str) -> list[dict[str, object]]:
    """Card counts and PFLOPS (Σ bf16_tflops / 1000) of installed cards, per group."""
    column, name = CAPACITY_GROUPS[group_by], _CAPACITY_GROUP_NAMES[group_by]
    queryset = Card.objects.installed()
    rows = (
        queryset.values(column, name)
        .annotate(
            cards=Count("id"),
            cards_available=Count("id", filter=Q(status=CardStatus.AVAILABLE)),
            cards_in_maintenance=Count("id", filter=Q(status=CardStatus.MAINTENANCE)),
            tflops=Sum("card_model__bf16_tflops"),
        )
        .order_by(column)
    )
    return [
        {
            "group": row[column],
            "group_name": row[name],
            "cards": row["cards"],
            "cards_available": row["cards_available"],
            "cards_in_maintenance": row["cards_in_maintenance"],
            "pflops": _pflops(row["tflops"]),
        }
        for row in rows
    ]


def _pflops(tflops: Decimal | None) -> Decimal:
    """Σ TFLOPS / 1000, exact (TFLOPS have 2 places), shown with at least 3 places: rack rows
    add up to their site's."""
    exact = ((tflops or Decimal(0)) / 1000).quantize(Decimal("0.00001")).normalize()
    places = -int(exact.as_tuple().exponent)
    return exact if places > 3 else exact.quantize(Decimal("0.001"))


def cards_leased_by(*, tenant_id: int) -> Q:
    """Cards a tenant's leases hold now or later (what a tenant may see), as a filter on cards.
    The allocations say it all: a cancelled lease has none, an ended one's are cut, a
    terminated one holds its cards until the termination takes effect."""
    holding = Q(allocations__lease__tenant_id=tenant_id) & (
        Q(allocations__period__endswith__gt=clock.now()) | Q(allocations__period__upper_inf=True)
    )
    return Q(pk__in=Card.objects.filter(holding).values("pk"))


def site_racks(*, site_id: int) -> QuerySet[Rack]:
    """A site's racks by name, each with how many servers and installed (not retired) cards it
    holds (`server_count`, `card_count`): one query, however many racks."""
    return (
        Rack.objects.filter(site_id=site_id)
        .annotate(
            server_count=Count("servers", distinct=True),
            card_count=Count(
                "servers__cards",
                filter=~Q(servers__cards__status=CardStatus.RETIRED),
                distinct=True,
            ),
        )
        .order_by("name", "id")
    )


# --- One object, for pages that show it (staff: no tenant scoping) ----------------------------


def site_get(*, pk: int) -> Site | None:
    return Site.objects.filter(pk=pk).first()


def rack_get(*, pk: int) -> Rack | None:
    """A rack with its site (one query)."""
    return Rack.objects.select_related("site").filter(pk=pk).first()


def card_get(*, pk: int) -> Card | None:
    """A card with its server, rack and site (one query)."""
    return Card.objects.select_related("server__rack__site").filter(pk=pk).first()
