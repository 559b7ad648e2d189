from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.http import StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.generics import RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from analytics import reports
from analytics.models import RecomputeRun
from analytics.services import (
    range_validate,
    recompute_is_long,
    snapshots_recompute,
    snapshots_recompute_start,
)
from core import clock
from core.downloads import (
    JSON_OR_CSV,
    csv_dict_stream,
    csv_response,
    csv_streaming_response,
    wants_csv,
)
from core.idempotency import idempotent
from core.permissions import roles
from core.queue import QUEUE_DOWN
from core.roles import Role
from core.runs import ABANDONED
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


def _json_stream(rows: Iterator[dict[str, Any]], batch: int = 2000) -> Iterator[str]:
    """A JSON array written `batch` rows at a time (one write each, not one per row), byte for
    byte what the JSON renderer writes at once (compact separators, UTF-8 text)."""
    pieces = ["["]
    for n, row in enumerate(rows):
        pieces.append(
            ("," if n else "") + json.dumps(row, ensure_ascii=False, separators=(",", ":"))
        )
        if len(pieces) >= batch:
            yield "".join(pieces)
            pieces = []
    pieces.append("]")
    yield "".join(pieces)


def _report(
    request: Request,
    query_class: type[ReportQuerySerializer],
    plan: Callable[..., reports.ReportPlan],
    columns: list[str],
    name: str,
) -> Response | HttpResponseBase:
    """A report: built in memory up to REPORT_STREAM_ROWS rows, streamed from a server-side
    cursor beyond (flat memory), refused beyond REPORT_MAX_ROWS (reports._rows_bound)."""
    query = query_class(data=request.query_params.dict())
    query.is_valid(raise_exception=True)
    data = query.validated_data
    report = plan(
        day_from=data["from"],
        day_to=data["to"],
        group_by=data["group_by"],
        granularity=data["granularity"],
    )
    streamed = report.count > settings.REPORT_STREAM_ROWS
    response: Response | HttpResponseBase
    if wants_csv(request, data.get("format")):
        filename = f"{name}-{data['group_by']}-{data['from']}-{data['to']}.csv"
        if streamed:
            response = csv_streaming_response(csv_dict_stream(columns, report.stream()), filename)
        else:
            response = csv_response(reports.rows_csv(report.all(), columns), filename)
    elif streamed:
        response = StreamingHttpResponse(
            _json_stream(report.stream()), content_type="application/json"
        )
    else:
        response = Response(report.all())
    # as of when the figures were read: reports may come from a replica that lags (core/replica)
    response["Report-As-Of"] = timezone.localtime(report.as_of, clock.operator_tz()).isoformat()
    return response


def _report_schema(groups: dict[str, str], rows: type[serializers.Serializer]) -> Any:
    return extend_schema_view(
        get=extend_schema(
            parameters=[
                OpenApiParameter("from", OpenApiTypes.DATE, required=True),
                OpenApiParameter("to", OpenApiTypes.DATE, required=True),
                OpenApiParameter("group_by", enum=list(groups), required=True),
                OpenApiParameter("granularity", enum=["day", "month"]),
                OpenApiParameter("format", enum=["json", "csv"]),
            ],
            responses=rows(many=True),
        )
    )


class _ReportView(APIView):
    """A report (`_report`): its subclass names the query, the plan, the CSV columns and the
    file's name."""

    permission_classes = [roles(read=REPORT_READERS)]
    renderer_classes = JSON_OR_CSV
    query_class: type[ReportQuerySerializer]
    plan: Callable[..., reports.ReportPlan]
    columns: list[str]
    name: str

    def get(self, request: Request) -> Response | HttpResponseBase:
        return _report(request, self.query_class, self.plan, self.columns, self.name)


@_report_schema(reports.OCCUPANCY_GROUPS, OccupancyRowSerializer)
class OccupancyReportView(_ReportView):
    """Occupancy by day or month, per rack, site, card model or the fleet (JSON or CSV)."""

    query_class = OccupancyQuerySerializer
    plan = staticmethod(reports.occupancy_plan)
    columns = reports.OCCUPANCY_COLUMNS
    name = "occupancy"


@_report_schema(reports.REVENUE_GROUPS, RevenueRowSerializer)
class RevenueReportView(_ReportView):
    """Accrued revenue by day or month, per site, card model, lease kind or tenant."""

    query_class = RevenueQuerySerializer
    plan = staticmethod(reports.revenue_plan)
    columns = reports.REVENUE_COLUMNS
    name = "revenue"


class RecomputeRunSerializer(serializers.ModelSerializer):
    """A recompute run: its days, status (`running`, `done`, `failed`) and timings."""

    from_ = serializers.DateField(source="day_from", read_only=True)
    to = serializers.DateField(source="day_to", read_only=True)
    seconds = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()

    class Meta:
        model = RecomputeRun
        fields = ["id", "status", "from_", "to", "trigger", "started_at", "finished_at"]
        fields += ["seconds", "error"]
        read_only_fields = fields

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields

    def get_seconds(self, run: RecomputeRun) -> float | None:
        """From start to finish (null while running); by the clock that stamped them."""
        if run.finished_at is None:
            return None
        return round((run.finished_at - run.started_at).total_seconds(), 3)

    def get_error(self, run: RecomputeRun) -> str:
        """Why a run failed, in words for a client (the cause itself is in the server log)."""
        if run.status != "failed":
            return ""
        if run.error in (ABANDONED, QUEUE_DOWN):
            return run.error
        return "The recompute failed; its days are as they were before it. Try again."


RECOMPUTE_ANSWER = inline_serializer(
    "RecomputeResult",
    {
        "id": serializers.IntegerField(),
        "status": serializers.ChoiceField(choices=["done", "running"]),
        "from": serializers.DateField(),
        "to": serializers.DateField(),
        "seconds": serializers.FloatField(
            required=False, help_text="time taken (synchronous runs only)"
        ),
    },
)


class RecomputeView(APIView):
    """Recompute the snapshots of a range of days (inclusive).

    Up to RECOMPUTE_SYNC_MAX_DAYS days (31 by default) in the request: 200 `done` once the rows
    are in place. A longer range goes to a worker: 202 `running` with a `Location` to poll
    (`reports/recompute/{id}/`); 503 when the task queue is down (nothing recorded).
    """

    permission_classes = [roles(write=REPORT_READERS)]

    @extend_schema(
        request=RangeSerializer,
        responses={
            200: RECOMPUTE_ANSWER,
            202: OpenApiResponse(
                RECOMPUTE_ANSWER,
                description="a long range, handed to a worker: poll the `Location` "
                "(reports/recompute/{id}/) until `done` or `failed`",
            ),
            503: OpenApiResponse(description="unavailable: the task queue is down; retry"),
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        body = RangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        day_from, day_to = body.validated_data["from"], body.validated_data["to"]
        if recompute_is_long(day_from, day_to):
            run = snapshots_recompute_start(day_from=day_from, day_to=day_to, actor=request.user)
            location = reverse("report-recompute-run", args=[run.pk], request=request)
            return Response(
                {"id": run.pk, "status": run.status, "from": run.day_from, "to": run.day_to},
                status=status.HTTP_202_ACCEPTED,
                headers={"Location": location},
            )
        started = time.monotonic()  # wall time: the test clock may stand still
        run = snapshots_recompute(
            day_from=day_from, day_to=day_to, trigger="api", actor=request.user
        )
        seconds = round(time.monotonic() - started, 3)
        return Response(
            {
                "id": run.pk,
                "status": run.status,
                "from": run.day_from,
                "to": run.day_to,
                "seconds": seconds,
            },
            status=status.HTTP_200_OK,
        )


class RecomputeRunView(RetrieveAPIView[RecomputeRun]):
    """A recompute run's status and timings (poll a long recompute's `Location`)."""

    permission_classes = [roles(read=REPORT_READERS)]
    queryset = RecomputeRun.objects.all()
    serializer_class = RecomputeRunSerializer
