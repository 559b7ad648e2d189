"""Reads for leases: availability (can a request be placed over a window, and at what price).

Selectors take validated windows (`leasing.terms.lease_window`, applied at the edge) and never
raise a validation error.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet

from accounts.models import Tenant
from leasing.choices import LeaseKind
from leasing.models import Lease
from leasing.terms import Quote, minute_floor, quote_long, quote_short
from marketplace.models import CardModel, Server
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
