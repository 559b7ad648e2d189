from __future__ import annotations

import time
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import reports
from analytics.services import range_validate, snapshots_recompute
from core.downloads import JSON_OR_CSV, csv_response, wants_csv
from core.permissions import roles
from core.roles import Role
from core.serializers import StrictSerializer

REPORT_READERS = (Role.OPERATOR, Role.FINANCE)


@extend_schema_field(
    {
        "oneOf": [{"type": "integer"}, {"type": "string"}],
        "nullable": True,
        "description": "the rack's, site's, card model's or tenant's id; the lease kind; "
        "`fleet`; null for revenue of a lease without a site",
    }
)
class GroupField(serializers.Field):
    def to_representation(self, value: Any) -> Any:
        return value


def _decimal(places: int, **kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=24, decimal_places=places, **kwargs)


class _ReportRowSerializer(serializers.Serializer):
    period = serializers.CharField(help_text="YYYY-MM-DD (granularity=day) or YYYY-MM")
    group = GroupField()
    group_name = serializers.CharField(allow_null=True)


class OccupancyRowSerializer(_ReportRowSerializer):
    cards_installed = serializers.IntegerField()
    cards_in_service = serializers.IntegerField()
    card_hours_available = _decimal(4)
    card_hours_leased = _decimal(4)
    card_hours_busy = _decimal(4)
    rental_rate = _decimal(4, allow_null=True)
    utilisation = _decimal(4, allow_null=True)
    racking_rate = _decimal(4, allow_null=True)


class RevenueRowSerializer(_ReportRowSerializer):
    amount = _decimal(2)


class RangeSerializer(StrictSerializer):
    from_ = serializers.DateField()
    to = serializers.DateField()

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        range_validate(attrs["from"], attrs["to"])
        return attrs


class ReportQuerySerializer(RangeSerializer):
    group_by = serializers.CharField()
    granularity = serializers.ChoiceField(choices=list(reports.GRANULARITIES), default="day")
    format = serializers.ChoiceField(choices=["json", "csv"], required=False)
    page = serializers.IntegerField(required=False)  # reports are not paginated; tolerated

    groups: dict[str, str] = {}

    def validate_group_by(self, value: str) -> str:
        if value not in self.groups:
            raise serializers.ValidationError(f"One of: {', '.join(self.groups)}.")
        return value


class OccupancyQuerySerializer(ReportQuerySerializer):
    groups = reports.OCCUPANCY_GROUPS


class RevenueQuerySerializer(ReportQuerySerializer):
    groups = reports.REVENUE_GROUPS


def _report(
    request: Request,
    query_class: type[ReportQuerySerializer],
    build: Any,
    columns: list[str],
    name: str,
) -> Response | HttpResponse:
    query = query_class(data=request.query_params.dict())
    query.is_valid(raise_exception=True)
    data = query.validated_data
    rows = build(
        day_from=data["from"],
        day_to=data["to"],
        group_by=data["group_by"],
        granularity=data["granularity"],
    )
    if wants_csv(request, data.get("format")):
        return csv_response(
            reports.rows_csv(rows, columns),
            f"{name}-{data['group_by']}-{data['from']}-{data['to']}.csv",
        )
    return Response(rows)


class OccupancyReportView(APIView):
    """Occupancy by day or month, per rack, site, card model or the fleet (JSON or CSV)."""

    permission_classes = [roles(read=REPORT_READERS)]
    renderer_classes = JSON_OR_CSV

    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, required=True),
            OpenApiParameter("to", OpenApiTypes.DATE, required=True),
            OpenApiParameter("group_by", enum=list(reports.OCCUPANCY_GROUPS), required=True),
            OpenApiParameter("granularity", enum=["day", "month"]),
            OpenApiParameter("format", enum=["json", "csv"]),
        ],
        responses=OccupancyRowSerializer(many=True),
    )
    def get(self, request: Request) -> Response | HttpResponse:
        return _report(
            request,
            OccupancyQuerySerializer,
            reports.occupancy_report,
            reports.OCCUPANCY_COLUMNS,
            "occupancy",
        )


class RevenueReportView(APIView):
    """Accrued revenue by day or month, per site, card model, lease kind or tenant."""

    permission_classes = [roles(read=REPORT_READERS)]
    renderer_classes = JSON_OR_CSV

    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, required=True),
            OpenApiParameter("to", OpenApiTypes.DATE, required=True),
            OpenApiParameter("group_by", enum=list(reports.REVENUE_GROUPS), required=True),
            OpenApiParameter("granularity", enum=["day", "month"]),
            OpenApiParameter("format", enum=["json", "csv"]),
        ],
        responses=RevenueRowSerializer(many=True),
    )
    def get(self, request: Request) -> Response | HttpResponse:
        return _report(
            request,
            RevenueQuerySerializer,
            reports.revenue_report,
            reports.REVENUE_COLUMNS,
            "revenue",
        )


class RecomputeView(APIView):
    """Recompute the snapshots of a range of days (inclusive); answers when they are in place."""

    permission_classes = [roles(write=REPORT_READERS)]

    @extend_schema(
        request=RangeSerializer,
        responses=inline_serializer(
            "RecomputeResult",
            {
                "status": serializers.CharField(),
                "from": serializers.DateField(),
                "to": serializers.DateField(),
                "seconds": serializers.FloatField(),
            },
        ),
    )
    def post(self, request: Request) -> Response:
        body = RangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        started = time.monotonic()  # wall time: the test clock may stand still
        run = snapshots_recompute(
            day_from=body.validated_data["from"],
            day_to=body.validated_data["to"],
            trigger="api",
            actor=request.user,
        )
        seconds = round(time.monotonic() - started, 3)
        return Response(
            {"status": run.status, "from": run.day_from, "to": run.day_to, "seconds": seconds},
            status=status.HTTP_200_OK,
        )
