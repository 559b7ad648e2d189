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

    class Meta:
        model = Event
        fields = ["type", "since"]

    def filter_since(
        self, queryset: QuerySet[Event], name: str, value: dt.datetime
    ) -> QuerySet[Event]:
        try:  # in UTC: PostgreSQL takes offsets up to ±15:59 only
            instant = value.astimezone(dt.UTC)
        except OverflowError:
            raise InvalidInput(
                "since is out of range.", fields={"since": ["Out of range."]}
            ) from None
        return queryset.filter(created__gte=instant)
