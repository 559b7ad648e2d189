from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema_field

from billing.choices import InvoiceStatus
from billing.models import CreditNote, Invoice, UsageRecord, VoucherGrant
from core import clock
from core.clock import MONTH_PATTERN
from core.exceptions import InvalidInput
from core.filters import BooleanFilter, FilterSet


def month_param(value: Any) -> Any:
    """A `YYYY-MM` query or body value → the month's first day, or a 400 in the error body."""
    try:
        return clock.parse_month(value)
    except ValueError:
        raise InvalidInput("month must be YYYY-MM.", fields={"month": ["Bad month."]}) from None


@extend_schema_field({"type": "string", "pattern": MONTH_PATTERN, "example": "2026-11"})
class MonthFilter(django_filters.CharFilter):
    """`?month=YYYY-MM` on a date column holding the month's first day."""

    def filter(self, qs: Any, value: Any) -> Any:
        if not value:
            return qs
        return qs.filter(**{self.field_name: month_param(value)})


class UsageRecordFilter(FilterSet):
    metric = django_filters.CharFilter(field_name="metric__code")
    month = MonthFilter(field_name="month")
    invoiced = BooleanFilter(field_name="invoice", lookup_expr="isnull", exclude=True)

    class Meta:
        model = UsageRecord
        fields = ["lease", "card", "metric", "source", "month", "tenant", "invoiced"]


class VoucherGrantFilter(FilterSet):
    class Meta:
        model = VoucherGrant
        fields = ["program", "tenant"]


class InvoiceFilter(FilterSet):
    month = MonthFilter(field_name="month")
    status = django_filters.MultipleChoiceFilter(choices=InvoiceStatus.choices)

    class Meta:
        model = Invoice
        fields = ["tenant", "month", "status", "number"]


class CreditNoteFilter(FilterSet):
    class Meta:
        model = CreditNote
        fields = ["invoice"]
