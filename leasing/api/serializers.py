from __future__ import annotations

from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import OuterRef, Q
from rest_framework import serializers

from accounts.models import Tenant
from core.serializers import MoneyField, StrictSerializer, UnitPriceField
from leasing.choices import LeaseKind
from leasing.models import Allocation, Lease, LeaseEvent
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


def held_annotations() -> dict[str, Any]:
    """`cards` and `servers` of leases as SQL: the cards a lease holds at its end, in card
    order, and their servers (distinct, in order). An allocation is held at the end when its
    period is open-ended, or ends at or after the lease's end (never for an open-ended lease:
    the comparison with a null end is not true). One `ARRAY(SELECT …)` each, evaluated for the
    rows of the page only."""
    held = Q(period__upper_inf=True) | Q(period__endswith__gte=OuterRef("end"))
    allocations = Allocation.objects.filter(held, lease=OuterRef("pk"))
    return {
        "cards": ArraySubquery(allocations.order_by("card_id").values("card_id")),
        "servers": ArraySubquery(
            allocations.order_by("card__server_id").values("card__server_id").distinct()
        ),
    }


class LeaseSerializer(serializers.ModelSerializer):
    """A lease as the API shows it. `cards` and `servers` come from `held_annotations()`: the
    queryset must carry them (LeaseViewSet lists and shows leases from `.values()` rows)."""

    unit_price = UnitPriceField(read_only=True)
    termination_fee = MoneyField(read_only=True, allow_null=True)
    cards = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    servers = serializers.ListField(child=serializers.IntegerField(), read_only=True)

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
