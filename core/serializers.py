"""Serializer bases. Input serializers reject fields they do not know (a typo is an error)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.clock import MONTH_PATTERN
from core.permissions import is_staff_user


class StrictFieldsMixin:
    """Unknown keys in the input are a 400, not silently ignored; so is a list longer than its
    bound in `max_items` (field name → most items), refused before any of its items is looked
    at (an id list is otherwise one query per id, however long the list)."""

    max_items: ClassVar[Mapping[str, int]] = {}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            known = set(self.fields)  # type: ignore[attr-defined]
            unknown = sorted(str(key) for key in data if key not in known)
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
            too_long = {
                name: [f"At most {limit} items."]
                for name, limit in self.max_items.items()
                if isinstance(data.get(name), list) and len(data[name]) > limit
            }
            if too_long:
                raise serializers.ValidationError(too_long)
        return super().to_internal_value(data)  # type: ignore[misc]


class IdField(serializers.PrimaryKeyRelatedField):
    """A related object by its integer id: 1.5 or true is a type error, not object 1."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool | float | Decimal):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if isinstance(data, int) and not 0 < data < 2**63:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


def viewer_is_staff(context: Mapping[str, Any]) -> bool:
    """Whether the request a serializer represents for is a staff user's (operator, finance,
    admin). No request (internal use) counts as not staff: what is staff-only stays out."""
    request = context.get("request")
    return request is not None and is_staff_user(getattr(request, "user", None))


# Serializer class → its staff-only fields, for the schema (core.schema marks them optional).
STAFF_ONLY_FIELDS: dict[type[Any], tuple[str, ...]] = {}


class StaffOnlyFieldsMixin:
    """Fields named in `Meta.staff_only_fields` are the operator's business (what it paid,
    totals across tenants): they are left out of what anyone but staff reads. The fields stay
    declared (input, schema); only the representation drops them."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names = tuple(getattr(getattr(cls, "Meta", None), "staff_only_fields", ()))
        if names:
            STAFF_ONLY_FIELDS[cls] = names

    def to_representation(self, instance: Any) -> Any:
        data = super().to_representation(instance)  # type: ignore[misc]
        names = STAFF_ONLY_FIELDS.get(type(self), ())
        if names and not viewer_is_staff(self.context):  # type: ignore[attr-defined]
            for name in names:
                data.pop(name, None)
        return data


@extend_schema_field({"type": "string", "pattern": MONTH_PATTERN, "example": "2026-11"})
class MonthField(serializers.DateField):
    """A month as `YYYY-MM` (the first day of the month inside)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("format", "%Y-%m")
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> Any:
        # not strftime: its %Y does not pad years before 1000 ("152-04" for 0152-04)
        if isinstance(value, dt.date) and self.format == "%Y-%m":
            return f"{value.year:04d}-{value.month:02d}"
        return super().to_representation(value)


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(  # type: ignore[assignment]
        help_text="field → messages; {} when not about fields"
    )


class ErrorSerializer(serializers.Serializer):
    """Every error's body."""

    error = ErrorDetailSerializer()


def name_of(relation: str, attribute: str = "name", **kwargs: Any) -> serializers.CharField:
    """The display name of a related object, beside its id (`card_model_name` next to
    `card_model`); null when there is no related object. Views select the relation
    (`select_related`, or a join of `.values()` rows), so it costs no query per row."""
    return serializers.CharField(
        source=f"{relation}.{attribute}", read_only=True, allow_null=True, **kwargs
    )


class StrictSerializer(StrictFieldsMixin, serializers.Serializer):
    pass


class StrictBooleanField(serializers.BooleanField):
    """JSON `true` or `false` only: "yes", "true" or 1 are errors, not a guess."""

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        self.fail("invalid", input=data)


class StrictModelSerializer(StrictFieldsMixin, StaffOnlyFieldsMixin, serializers.ModelSerializer):
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


@extend_schema_field({"type": "string", "nullable": True})
class ActorField(serializers.Field):
    """Who did something: a username when the viewer is staff or the actor is of the viewer's
    own tenant; a staff actor shown to a tenant is only its role (`operator`, `finance`,
    `admin`); null when the platform itself acted (a scheduled transition)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str | None:
        if value is None:
            return None
        if viewer_is_staff(self.context) or value.tenant_id is not None:
            return str(value.username)
        return str(value.role)
