"""Serializer bases. Input serializers reject fields they do not know (a typo is an error)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from rest_framework import serializers


class StrictFieldsMixin:
    """Unknown keys in the input are a 400, not silently ignored."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            known = set(self.fields)  # type: ignore[attr-defined]
            unknown = sorted(str(key) for key in data if key not in known)
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)  # type: ignore[misc]


class IdField(serializers.PrimaryKeyRelatedField):
    """A related object by its integer id: 1.5 or true is a type error, not object 1."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool | float | Decimal):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if isinstance(data, int) and not 0 < data < 2**63:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


class StrictSerializer(StrictFieldsMixin, serializers.Serializer):
    pass


class StrictModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    serializer_related_field = IdField


class MoneyField(serializers.DecimalField):
    """A money amount as a JSON string with 2 places."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(**kwargs)


class UnitPriceField(serializers.DecimalField):
    """A unit price as a JSON string with 4 places."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 4)
        super().__init__(**kwargs)
