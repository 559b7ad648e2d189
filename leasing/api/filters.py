import django_filters
from django.db.models import Q, QuerySet

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
        self, queryset: QuerySet[Lease], name: str, value: object
    ) -> QuerySet[Lease]:
        return queryset.exclude(status="cancelled").filter(
            Q(start__lte=value) & (Q(end__isnull=True) | Q(end__gt=value))
        )
