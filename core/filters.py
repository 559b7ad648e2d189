"""Filters shared by the list endpoints."""

from __future__ import annotations

from typing import Any

import django_filters
import django_filters.rest_framework
from django import forms
from django.core.exceptions import ValidationError
from django.db import models


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


class IdFilter(django_filters.NumberFilter):
    """An object by its integer id. An id that matches nothing gives no rows, as any other
    filter value would: not a 400 that would tell a tenant which ids exist elsewhere (a model
    choice filter validates against every row of the table)."""

    field_class = forms.IntegerField


class FilterSet(django_filters.rest_framework.FilterSet):
    """The API's filter sets: relations are filtered by id (`IdFilter`), booleans strictly."""

    FILTER_DEFAULTS = {
        **django_filters.rest_framework.FilterSet.FILTER_DEFAULTS,
        models.ForeignKey: {"filter_class": IdFilter},
        models.OneToOneField: {"filter_class": IdFilter},
        models.BooleanField: {"filter_class": BooleanFilter},
    }


class FilterBackend(django_filters.rest_framework.DjangoFilterBackend):
    """django-filter's backend, building `filterset_fields` filter sets on ours."""

    filterset_base = FilterSet
