"""`business-cases/`: POST a site's inputs, get the stored business case back.

The rules: docs/domain.md §Business case.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from analytics import business_case as bc
from analytics.models import BusinessCase
from core.idempotency import idempotent
from core.permissions import roles
from core.roles import Role
from core.serializers import IdField, MoneyField, StrictSerializer, name_of
from marketplace.models import Site

ANALYSTS = (Role.OPERATOR, Role.FINANCE)  # admin always passes


def _rate_in(**kwargs: Any) -> serializers.DecimalField:
    """A rate as input: at most 4 places."""
    return serializers.DecimalField(max_digits=5, decimal_places=4, **kwargs)


# --- Input --------------------------------------------------------------------------------------


class _ItemInSerializer(StrictSerializer):
    """An item's types; its rules (category, not negative, how many) are the service's."""

    category = serializers.CharField(max_length=20)
    amount = MoneyField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=200)


class CapexItemInSerializer(_ItemInSerializer):
    category = serializers.CharField(max_length=20, help_text=" | ".join(bc.CAPEX_CATEGORIES))


class OpexItemInSerializer(_ItemInSerializer):
    category = serializers.CharField(max_length=20, help_text=" | ".join(bc.OPEX_CATEGORIES))
    amount = MoneyField(help_text="per year")


class BusinessCaseCreateSerializer(StrictSerializer):
    """The request's shape and types. The rules on the values (ranges, categories, how many,
    each utilisation once) are checked once, by `analytics.business_case.business_case_create`,
    which every caller goes through; its errors name the same fields."""

    # the service's bounds, checked before any item is (business_case_create checks them too)
    max_items = {"capex": bc.MAX_ITEMS, "opex": bc.MAX_ITEMS, "scenarios": bc.MAX_SCENARIOS}

    site = IdField(queryset=Site.objects.all())
    capex = CapexItemInSerializer(many=True, required=False)
    opex = OpexItemInSerializer(many=True, required=False)
    horizon_years = serializers.IntegerField(
        required=False, help_text=f"{bc.HORIZON_MIN} to {bc.HORIZON_MAX}; default 5"
    )
    scenarios = serializers.ListField(
        child=_rate_in(),
        required=False,
        help_text=(
            f"utilisations in (0, 1], each once, at most {bc.MAX_SCENARIOS}; default 0.70, 0.80, "
            "0.90 (`actual` is always added)"
        ),
    )
    long_share = _rate_in(
        required=False,
        allow_null=True,
        help_text="long leases' share of leased hours, 0 to 1; default: measured, else 0.7",
    )
    subsidy = MoneyField(required=False, help_text="one-off, year 0; not negative")
    discount_rate = _rate_in(required=False, help_text="0 to 1; default 0.08")


# --- Output (stored JSON: decimals are already strings of fixed places) -------------------------


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=None, decimal_places=2, read_only=True, **kwargs)


def _rate(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=None, decimal_places=4, read_only=True, **kwargs)


class ItemSerializer(serializers.Serializer):
    category = serializers.CharField(read_only=True)
    amount = _money()
    note = serializers.CharField(read_only=True)


class YearSerializer(serializers.Serializer):
    year = serializers.IntegerField(read_only=True)
    revenue = _money()
    opex = _money()
    capex = _money()
    subsidy = _money()
    cash_flow = _money()
    cumulative = _money()


class ScenarioSerializer(serializers.Serializer):
    # `label` shadows Field.label in the stubs only: declared fields are taken off the class.
    label = serializers.CharField(  # type: ignore[assignment]
        read_only=True, help_text='"70%" style, or "actual"'
    )
    utilisation = _rate()
    years = YearSerializer(many=True, read_only=True)
    spread = _money(help_text="Σ cash flows")
    npv = _money()
    irr = _rate(allow_null=True, help_text="null when the cash flows never change sign")
    payback_years = _rate(allow_null=True, help_text="null if never within the horizon")
    break_even_utilisation = _rate(allow_null=True, help_text="NPV = 0; null above 1")


class CapacitySerializer(serializers.Serializer):
    card_model = serializers.IntegerField(read_only=True)
    card_model_name = serializers.CharField(read_only=True)
    cards_in_service = serializers.IntegerField(read_only=True)
    capacity_hours = serializers.IntegerField(read_only=True, help_text="8760 × cards")
    hourly_rate = _rate()
    monthly_rate = _rate()
    long_monthly_fee = _rate(help_text="monthly_rate × (1 − 36-month discount)")
    revenue_at_full_utilisation = _money()


class DepreciationSerializer(serializers.Serializer):
    year = serializers.IntegerField(read_only=True)
    amount = _money()
    book_value = _money()


class MeasuredSerializer(serializers.Serializer):
    days = serializers.IntegerField(read_only=True)
    rental_rate = _rate(allow_null=True)
    long_share = _rate(allow_null=True)


class TotalsSerializer(serializers.Serializer):
    capex = _money()
    hardware_capex = _money()
    subsidy = _money()
    opex_per_year = _money()
    cards_in_service = serializers.IntegerField(read_only=True)
    capacity_hours = serializers.IntegerField(read_only=True)


class BusinessCaseSerializer(serializers.ModelSerializer):
    """The inputs as stored (defaults filled in; the posted utilisations as `utilisations`) and
    the results. `inputs` repeats the inputs exactly as a POST body would carry them."""

    site_name = name_of("site")
    created_by_name = name_of("created_by", "username")  # only staff read business cases
    capex = ItemSerializer(source="inputs.capex", many=True, read_only=True)
    opex = ItemSerializer(source="inputs.opex", many=True, read_only=True)
    horizon_years = serializers.IntegerField(source="inputs.horizon_years", read_only=True)
    utilisations = serializers.ListField(source="inputs.scenarios", child=_rate(), read_only=True)
    long_share = _rate(source="inputs.long_share")
    long_share_source = serializers.CharField(
        source="results.long_share_source",
        read_only=True,
        help_text="input | measured | default",
    )
    subsidy = _money(source="inputs.subsidy")
    discount_rate = _rate(source="inputs.discount_rate")
    scenarios = ScenarioSerializer(source="results.scenarios", many=True, read_only=True)
    capacity = CapacitySerializer(source="results.capacity", many=True, read_only=True)
    totals = TotalsSerializer(source="results.totals", read_only=True)
    long_lease_discount = _rate(source="results.long_lease_discount")
    measured = MeasuredSerializer(source="results.measured", read_only=True)
    depreciation_years = serializers.IntegerField(
        source="results.depreciation_years", read_only=True
    )
    depreciation = DepreciationSerializer(source="results.depreciation", many=True, read_only=True)
    notes = serializers.ListField(
        source="results.notes", child=serializers.CharField(), read_only=True
    )

    class Meta:
        model = BusinessCase
        fields = [
            "id", "site", "site_name", "created_by", "created_by_name", "created_at", "capex",
            "opex", "horizon_years",
            "utilisations", "long_share", "long_share_source", "subsidy", "discount_rate",
            "scenarios", "capacity", "totals", "long_lease_discount", "measured",
            "depreciation_years", "depreciation", "notes", "inputs",
        ]  # fmt: skip
        read_only_fields = fields


# --- Viewset ------------------------------------------------------------------------------------


class BusinessCaseViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Business cases per site. Operators and finance model them; tenants have no access.

    POST computes one from the inputs and the site's inventory and measured occupancy, stores
    it and answers 201 with the stored inputs and results. `?site=` filters the list.
    """

    queryset = BusinessCase.objects.select_related("site", "created_by")
    serializer_class = BusinessCaseSerializer
    permission_classes = [roles(read=ANALYSTS, write=ANALYSTS)]
    filterset_fields = ["site"]
    ordering = ["-id"]
    ordering_fields = ["id", "created_at"]

    @extend_schema(request=BusinessCaseCreateSerializer, responses={201: BusinessCaseSerializer})
    @idempotent
    def create(self, request: Request) -> Response:
        body = BusinessCaseCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        case = bc.business_case_create(actor=request.user, **body.validated_data)
        return Response(BusinessCaseSerializer(case).data, status=status.HTTP_201_CREATED)
