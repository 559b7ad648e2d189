"""Filters shared by the list endpoints."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError


class _StrictNullBooleanField(forms.NullBooleanField):
    """`true`/`false` (and Django's other spellings); anything else is an error, not "all"."""

    widget = forms.TextInput  # the select widgets turn unknown values into None before us

    def to_python(self, value: Any) -> Any:  # True, False or None (no filter)
        if value in (None, ""):
            return None
        result = super().to_python(value)
        if result is None:
            raise ValidationError("Use true or false.", code="invalid")
        return result

    def validate(self, value: Any) -> None:
        pass


class BooleanFilter(django_filters.BooleanFilter):
    field_class = _StrictNullBooleanField
