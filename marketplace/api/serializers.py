from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.serializers import (
    MoneyField,
    StrictModelSerializer,
    StrictSerializer,
    UnitPriceField,
    name_of,
)
from marketplace.models import Card, CardModel, Rack, Server, Site


class SiteSerializer(StrictModelSerializer):
    class Meta:
        model = Site
        fields = ["id", "name", "code", "city", "province"]


class RackSerializer(StrictModelSerializer):
    site_name = name_of("site")
    power_kw = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=0, required=False)

    class Meta:
        model = Rack
        fields = ["id", "site", "site_name", "name", "status", "power_kw"]


class ServerSerializer(StrictModelSerializer):
    rack_name = name_of("rack")
    position = serializers.IntegerField(min_value=1, max_value=32767)

    class Meta:
        model = Server
        fields = ["id", "rack", "rack_name", "name", "position"]


class CardModelSerializer(StrictModelSerializer):
    hourly_rate = UnitPriceField(min_value=0)
    monthly_rate = UnitPriceField(min_value=0)
    bf16_tflops = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0)
    memory_gb = serializers.IntegerField(min_value=1, max_value=2_147_483_647)

    class Meta:
        model = CardModel
        fields = [
            "id",
            "vendor",
            "name",
            "memory_gb",
            "bf16_tflops",
            "domestic",
            "hourly_rate",
            "monthly_rate",
            "is_active",
        ]


class CardSerializer(StrictModelSerializer):
    capex_cost = MoneyField(min_value=0)
    server_name = name_of("server")
    card_model_name = name_of("card_model")

    class Meta:
        model = Card
        fields = [
            "id", "server", "server_name", "card_model", "card_model_name", "serial", "status",
            "capex_cost", "commissioned_on",
        ]  # fmt: skip
        staff_only_fields = ["capex_cost"]  # what the operator paid: never shown to tenants


class CapacityRowSerializer(serializers.Serializer):
    group = serializers.IntegerField()
    group_name = serializers.CharField()
    cards = serializers.IntegerField()
    cards_available = serializers.IntegerField()
    cards_in_maintenance = serializers.IntegerField()
    # exact (TFLOPS have 2 places), at least 3 places: "7.912", "0.8625"
    pflops = serializers.CharField(help_text="Σ bf16_tflops / 1000, exact, as a decimal string.")


class ImportResultSerializer(serializers.Serializer):
    rows = serializers.IntegerField()
    sites_created = serializers.IntegerField()
    racks_created = serializers.IntegerField()
    servers_created = serializers.IntegerField()
    cards_created = serializers.IntegerField()
    cards_unchanged = serializers.IntegerField()


class ImportRequestSerializer(StrictSerializer):
    file = serializers.FileField()


class FlexibleDateTimeField(serializers.DateTimeField):
    """A datetime, or a date meaning operator-local midnight."""

    def to_internal_value(self, value: Any) -> Any:
        import datetime as dt

        from core import clock

        if isinstance(value, str) and len(value) == 10:
            try:
                return clock.day_start(dt.date.fromisoformat(value))
            except ValueError:
                pass
        return super().to_internal_value(value)
