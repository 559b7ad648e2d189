import datetime as dt

import django_filters
from django.db.models import Q, QuerySet

from core.exceptions import InvalidInput
from core.filters import FilterSet
from leasing.choices import LeaseKind, LeaseStatus
from leasing.models import Lease


class LeaseFilter(FilterSet):
    # No DISTINCT: a filter on the lease's own column cannot repeat rows.
    status = django_filters.MultipleChoiceFilter(choices=LeaseStatus.choices, distinct=False)
    kind = django_filters.ChoiceFilter(choices=LeaseKind.choices)
    active_at = django_filters.IsoDateTimeFilter(
        method="filter_active_at", label="holding cards at this instant"
    )

    class Meta:
        model = Lease
        fields = ["tenant", "status", "kind", "card_model", "site", "active_at"]

    def filter_active_at(
        self, queryset: QuerySet[Lease], name: str, value: dt.datetime
    ) -> QuerySet[Lease]:
        try:  # in UTC: PostgreSQL takes offsets up to ±15:59 only (+21:28 was a 500)
            instant = value.astimezone(dt.UTC)
        except OverflowError:
            raise InvalidInput(
                "active_at is out of range.", fields={"active_at": ["Out of range."]}
            ) from None
        return queryset.exclude(status="cancelled").filter(
            Q(start__lte=instant) & (Q(end__isnull=True) | Q(end__gt=instant))
        )
