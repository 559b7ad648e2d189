from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.models import Tenant
from core.serializers import MoneyField, StrictSerializer, UnitPriceField
from leasing.choices import LeaseKind
from leasing.models import Lease, LeaseEvent
from marketplace.api.serializers import FlexibleDateTimeField
from marketplace.models import CardModel, Site
from marketplace.pricing import LONG_TERMS


class LeaseCreateSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=LeaseKind.choices)
    card_model = serializers.PrimaryKeyRelatedField(queryset=CardModel.objects.all())
    site = serializers.PrimaryKeyRelatedField(
        queryset=Site.objects.all(), required=False, allow_null=True
    )
    card_count = serializers.IntegerField(min_value=1)
    start = FlexibleDateTimeField(required=False, allow_null=True)
    end = serializers.DateTimeField(required=False, allow_null=True)
    term_months = serializers.ChoiceField(choices=LONG_TERMS, required=False, allow_null=True)
    tenant = serializers.PrimaryKeyRelatedField(queryset=Tenant.objects.all(), required=False)

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


class LeaseSerializer(serializers.ModelSerializer):
    unit_price = UnitPriceField(read_only=True)
    termination_fee = MoneyField(read_only=True, allow_null=True)
    cards = serializers.SerializerMethodField()
    servers = serializers.SerializerMethodField()

    class Meta:
        model = Lease
        fields = [
            "id",
            "tenant",
            "kind",
            "card_model",
            "site",
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

    def _held(self, lease: Lease) -> list[tuple[int, int]]:
        """(card, server) pairs the lease holds at its end; from prefetched allocations."""
        pairs = []
        for allocation in lease.allocations.all():
            upper = allocation.period.upper
            if upper is None or (lease.end is not None and upper >= lease.end):
                pairs.append((allocation.card_id, allocation.card.server_id))
        return sorted(pairs)

    def get_cards(self, lease: Lease) -> list[int]:
        return [card for card, _ in self._held(lease)]

    def get_servers(self, lease: Lease) -> list[int]:
        return sorted({server for _, server in self._held(lease)})


class LeaseEventSerializer(serializers.ModelSerializer):
    actor: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = LeaseEvent
        fields = ["id", "at", "actor", "from_status", "to_status", "reason", "data"]


class CardSwapSerializer(serializers.Serializer):
    card = serializers.IntegerField()
    status = serializers.CharField()
    swaps = serializers.ListField(child=serializers.DictField())
