"""Reads for leases: availability (can a request be placed over a window, and at what price).

Selectors take validated windows (`leasing.terms.lease_window`, applied at the edge) and never
raise a validation error.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from accounts.models import Tenant
from leasing.choices import LeaseKind
from leasing.models import Allocation, Lease
from leasing.terms import Quote, minute_floor, quote_long, quote_short
from marketplace.models import Card, CardModel, Server
from marketplace.selectors import choose_placement, free_cards_by_server


@dataclass
class Availability:
    available: bool
    card_count: int
    free_cards: int
    start: dt.datetime
    end: dt.datetime | None
    servers: list[dict[str, object]]
    quote: Quote


def _named_servers(servers: list[tuple[int, list[int]]]) -> list[dict[str, object]]:
    """`{id, name, cards}` per placed server, the names from one query."""
    names = dict(
        Server.objects.filter(pk__in=[sid for sid, _ in servers]).values_list("pk", "name")
    )
    return [{"id": sid, "name": names[sid], "cards": cards} for sid, cards in servers]


def availability_find(
    *,
    card_model: CardModel,
    count: int,
    kind: LeaseKind,
    start: dt.datetime,
    end: dt.datetime | None,
    site_id: int | None = None,
    term_months: int | None = None,
) -> Availability:
    """Can `count` cards be placed over the validated window [start, end), on which servers,
    and at what price.

    A short request without `end` is checked as open-ended (as a lease without an end would
    hold its cards) and quoted per hour.
    """
    servers = free_cards_by_server(
        card_model_id=card_model.pk, site_id=site_id, start=start, end=end
    )
    placement = choose_placement(servers, count)
    if kind == LeaseKind.LONG:
        assert term_months is not None
        quote = quote_long(card_model, count, term_months)
    else:
        # open-ended: one hour from the start's whole minute (the quote widens like the bill)
        hour_end = minute_floor(start) + dt.timedelta(hours=1)
        quote = quote_short(card_model, count, start, end or hour_end)
    return Availability(
        available=placement is not None,
        card_count=count,
        free_cards=sum(s.free for s in servers),
        start=start,
        end=end,
        servers=_named_servers(placement.servers) if placement else [],
        quote=quote,
    )


def leases_of_tenant(*, tenant: Tenant) -> QuerySet[Lease]:
    """A tenant's leases, newest first, with what a list shows of their card model and site
    (one query per page, whatever its length)."""
    return (
        Lease.objects.filter(tenant=tenant)
        .select_related("card_model", "site")
        .order_by("-start", "-id")
    )


def card_models_offered() -> QuerySet[CardModel]:
    """The card models a lease may be taken on (retired ones are not offered)."""
    return CardModel.objects.filter(is_active=True).order_by("vendor", "name")


def rack_servers_with_cards(*, rack_id: int, at: dt.datetime) -> list[Server]:
    """A rack's servers by position, each with its cards in order (`server.card_list`, with
    their card model), and each card's allocation held at `at` with its lease and tenant
    (`card.held_now`: none or one). Three queries, however many servers and cards."""
    held = Allocation.objects.filter(period__contains=at).select_related("lease__tenant")
    cards = (
        Card.objects.select_related("card_model")
        .order_by("id")
        .prefetch_related(Prefetch("allocations", queryset=held, to_attr="held_now"))
    )
    return list(
        Server.objects.filter(rack_id=rack_id)
        .order_by("position", "id")
        .prefetch_related(Prefetch("cards", queryset=cards, to_attr="card_list"))
    )


@dataclass(frozen=True)
class SwapDescribed:
    """One lease moved off a card by `card_swap`: the lease (with its tenant) and the card it
    holds now (with its server)."""

    lease: Lease
    card_in: Card


def swaps_described(swaps: list[dict[str, int]]) -> list[SwapDescribed]:
    """`card_swap`'s swaps with their leases, tenants, cards and servers (two queries)."""
    leases = Lease.objects.select_related("tenant").in_bulk([s["lease"] for s in swaps])
    cards = Card.objects.select_related("server").in_bulk([s["card_in"] for s in swaps])
    return [SwapDescribed(lease=leases[s["lease"]], card_in=cards[s["card_in"]]) for s in swaps]
