from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from accounts.models import Tenant
from core import clock
from core.prepared import prepared_cursor
from core.serializers import (
    ActorField,
    IdField,
    MoneyField,
    StrictSerializer,
    UnitPriceField,
    name_of,
)
from core.viewsets import PageLateral, instance_row, represent_rows, values_plan
from leasing.choices import LeaseKind
from leasing.models import Lease, LeaseEvent
from leasing.terms import LONG_TERMS, lease_window
from marketplace.api.serializers import FlexibleDateTimeField
from marketplace.models import CardModel, Site


class LeaseCreateSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=LeaseKind.choices)
    card_model = IdField(queryset=CardModel.objects.all())
    site = IdField(queryset=Site.objects.all(), required=False, allow_null=True)
    card_count = serializers.IntegerField(min_value=1)
    start = FlexibleDateTimeField(required=False, allow_null=True)
    end = serializers.DateTimeField(required=False, allow_null=True)
    term_months = serializers.ChoiceField(choices=LONG_TERMS, required=False, allow_null=True)
    tenant = IdField(queryset=Tenant.objects.all(), required=False)

    def validate_kind(self, value: str) -> LeaseKind:
        return LeaseKind(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        user = self.context["request"].user
        if user.tenant_id is not None:
            if "tenant" in attrs:
                raise serializers.ValidationError(
                    {"tenant": ["Tenant users lease for their own tenant; do not send tenant."]}
                )
            attrs["tenant"] = user.tenant
        elif "tenant" not in attrs:
            raise serializers.ValidationError({"tenant": ["Staff must name the tenant."]})
        if attrs["kind"] == LeaseKind.LONG and not attrs.get("term_months"):
            raise serializers.ValidationError({"term_months": ["Required for long leases."]})
        return attrs


class TerminateSerializer(StrictSerializer):
    effective = serializers.DateField()
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class ReasonSerializer(StrictSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class RenewSerializer(StrictSerializer):
    term_months = serializers.ChoiceField(choices=LONG_TERMS, required=False)


# The cards each lease holds at its end, in card order, and their servers (distinct, in order).
# An allocation is held at the end when its period is open-ended, or ends at or after the
# lease's end (never for an open-ended lease: the comparison with a null end is not true).
# A LATERAL subquery per lease `{row}` keeps the plan to index lookups per lease (~10
# allocations each): a join of the whole page's allocations was planned as hash joins over every
# lease and card, 5x slower. A list page joins it to its own rows (`HELD_LATERAL`).
_HELD = """
    SELECT coalesce(array_agg(a.card_id ORDER BY a.card_id), '{{}}') AS cards,
           coalesce(array_agg(DISTINCT c.server_id ORDER BY c.server_id), '{{}}') AS servers
    FROM leasing_allocation a
    JOIN marketplace_card c ON c.id = a.card_id
    WHERE a.lease_id = {row}.id AND (upper_inf(a.period) OR upper(a.period) >= {row}."end")
"""
HELD_LATERAL = PageLateral(_HELD.format(row="p"), ("cards", "servers"))
_HELD_SQL = f"""
SELECT l.id, h.cards, h.servers
FROM leasing_lease l
CROSS JOIN LATERAL ({_HELD.format(row="l")}) h
WHERE l.id = ANY(%s::bigint[])
"""


def held_cards(lease_ids: Collection[int]) -> dict[int, tuple[list[int], list[int]]]:
    """`(cards, servers)` of each of `lease_ids` (empty lists when it holds none), in one
    query."""
    if not lease_ids:
        return {}
    with prepared_cursor(binary=True) as cursor:  # planned once per connection, not once a page
        cursor.execute(_HELD_SQL, [list(lease_ids)])
        return {lease: (cards or [], servers or []) for lease, cards, servers in cursor.fetchall()}


# LeaseViewSet represents `.values()` rows with these fields (core.viewsets.ValuesReadMixin),
# `cards` and `servers` from `HELD_LATERAL` (a list page) or `held_cards()`; to serialize a
# Lease instance, set `lease.cards, lease.servers = held_cards([lease.pk])[lease.pk]` first.
class LeaseSerializer(serializers.ModelSerializer):
    tenant_name = name_of("tenant")
    card_model_name = name_of("card_model")
    site_name = name_of("site")
    unit_price = UnitPriceField(read_only=True)
    termination_fee = MoneyField(read_only=True, allow_null=True)
    cards = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    servers = serializers.ListField(child=serializers.IntegerField(), read_only=True)

    class Meta:
        model = Lease
        fields = [
            "id",
            "tenant",
            "tenant_name",
            "kind",
            "card_model",
            "card_model_name",
            "site",
            "site_name",
            "card_count",
            "status",
            "start",
            "end",
            "term_months",
            "unit_price",
            "cards",
            "servers",
            "termination_fee",
            "terminated_on",
            "renewed_from",
            "created_at",
        ]
        read_only_fields = fields


def lease_payloads(lease_ids: Collection[int]) -> dict[int, dict[str, Any]]:
    """Each of `lease_ids` exactly as the API's lease list shows it (two queries for any
    number): the `data` of the lease events (leasing.services records them). Times in the
    operator's zone, as the API renders them, whether a request or a worker asks."""
    if not lease_ids:
        return {}
    columns = [col.column for col in values_plan(LeaseSerializer) if col.column not in _COMPUTED]
    rows = list(Lease.objects.filter(pk__in=list(lease_ids)).values(*columns))
    held = held_cards([row["id"] for row in rows])
    for row in rows:
        row["cards"], row["servers"] = held.get(row["id"], ([], []))
    with timezone.override(clock.operator_tz()):
        return {item["id"]: item for item in represent_rows(LeaseSerializer, rows)}


_COMPUTED = ("cards", "servers")


def lease_payload_created(
    lease: Lease, cards: Collection[int], servers: Collection[int]
) -> dict[str, Any]:
    """`lease_payloads([lease.pk])[lease.pk]` of a lease this transaction has just created on
    `cards` (on `servers`), from the instance in hand with its tenant, card model and site:
    no query. A new lease holds every card it was given."""
    row = instance_row(LeaseSerializer, lease, computed=_COMPUTED)
    row["cards"], row["servers"] = sorted(cards), sorted(set(servers))
    with timezone.override(clock.operator_tz()):
        return represent_rows(LeaseSerializer, [row])[0]


class LeaseTerminateResultSerializer(LeaseSerializer):
    """The terminated lease, and the renewal cancelled with it (null when there was none)."""

    cancelled_renewal = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta(LeaseSerializer.Meta):
        fields = [*LeaseSerializer.Meta.fields, "cancelled_renewal"]
        read_only_fields = fields


class LeaseEventSerializer(serializers.ModelSerializer):
    actor = ActorField()

    class Meta:
        model = LeaseEvent
        fields = ["id", "at", "actor", "from_status", "to_status", "reason", "data"]


class CardSwapSerializer(serializers.Serializer):
    card = serializers.IntegerField()
    status = serializers.CharField()
    swaps = serializers.ListField(child=serializers.DictField())


class AvailabilityQuerySerializer(StrictSerializer):
    card_model = IdField(queryset=CardModel.objects.all())
    site = IdField(queryset=Site.objects.all(), required=False, allow_null=True)
    count = serializers.IntegerField(min_value=1, max_value=100000)
    kind = serializers.ChoiceField(choices=LeaseKind.choices, required=False)
    term_months = serializers.ChoiceField(choices=LONG_TERMS, required=False)
    start = FlexibleDateTimeField(required=False)
    end = FlexibleDateTimeField(required=False)
    format = serializers.CharField(required=False, max_length=16)  # DRF's renderer switch, ignored

    def validate_kind(self, value: str) -> LeaseKind:
        return LeaseKind(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs.get("kind") or (LeaseKind.LONG if "term_months" in attrs else LeaseKind.SHORT)
        attrs["kind"] = kind
        if kind == LeaseKind.LONG:
            if "term_months" not in attrs:
                raise serializers.ValidationError({"term_months": ["Required for long leases."]})
            if "end" in attrs:
                raise serializers.ValidationError(
                    {"end": ["A long lease ends after its term; give term_months."]}
                )
        elif "term_months" in attrs:
            raise serializers.ValidationError({"term_months": ["Only for long leases."]})
        start, end = attrs.get("start"), attrs.get("end")
        if start and end and end <= start:  # said first, before the horizon of a far start
            raise serializers.ValidationError({"end": ["Must be after start."]})
        # the lease rules say which window the request holds (InvalidInput when they refuse it)
        attrs["start"], attrs["end"] = lease_window(
            kind=kind, start=start, end=end, term_months=attrs.get("term_months")
        )
        return attrs


class QuoteSerializer(serializers.Serializer):
    kind = serializers.CharField()
    unit_price = UnitPriceField()
    amount = MoneyField()


class AvailabilityServerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    cards = serializers.ListField(child=serializers.IntegerField())


class AvailabilitySerializer(serializers.Serializer):
    available = serializers.BooleanField()
    card_count = serializers.IntegerField()
    free_cards = serializers.IntegerField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField(allow_null=True)
    servers = AvailabilityServerSerializer(many=True)
    quote = QuoteSerializer()
