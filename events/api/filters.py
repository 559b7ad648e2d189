import datetime as dt

import django_filters
from django.db.models import QuerySet

from core.exceptions import InvalidInput
from core.filters import FilterSet
from events.choices import EventType
from events.models import Event


class EventFilter(FilterSet):
    type = django_filters.MultipleChoiceFilter(choices=EventType.choices, distinct=False)
    since = django_filters.IsoDateTimeFilter(
        method="filter_since", label="recorded at or after this instant"
    )

    until = django_filters.IsoDateTimeFilter(
        method="filter_until", label="recorded before this instant"
    )

    class Meta:
        model = Event
        fields = ["type", "since", "until"]

    def filter_since(
        self, queryset: QuerySet[Event], name: str, value: dt.datetime
    ) -> QuerySet[Event]:
        return queryset.filter(created__gte=_utc(value, name))

    def filter_until(
        self, queryset: QuerySet[Event], name: str, value: dt.datetime
    ) -> QuerySet[Event]:
        return queryset.filter(created__lt=_utc(value, name))


def _utc(value: dt.datetime, name: str) -> dt.datetime:
    try:  # in UTC: PostgreSQL takes offsets up to ±15:59 only
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise InvalidInput(f"{name} is out of range.", fields={name: ["Out of range."]}) from None
