from __future__ import annotations

from django.conf import settings
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import InvalidInput
from core.idempotency import idempotent
from core.parsers import CSVBodyParser
from core.permissions import ALL_ROLES, STAFF, roles
from core.roles import Role
from core.viewsets import AuditedModelViewSet, TenantScopedViewSetMixin, Writes
from marketplace import selectors, services
from marketplace.api import filters
from marketplace.api.serializers import (
    CapacityRowSerializer,
    CardModelSerializer,
    CardSerializer,
    ImportRequestSerializer,
    ImportResultSerializer,
    RackSerializer,
    ServerSerializer,
    SiteSerializer,
)
from marketplace.models import Card, CardModel, Rack, Server, Site

OPERATORS = (Role.OPERATOR,)


class SiteViewSet(AuditedModelViewSet):
    """Sites. Everyone reads them (a lease may ask for a site); operators manage them."""

    queryset = Site.objects.all()
    serializer_class = SiteSerializer
    permission_classes = [roles(read=ALL_ROLES, write=OPERATORS)]
    search_fields = ["name", "code", "city", "province"]
    ordering_fields = ["id", "name", "code"]
    ordering = ["id"]
    writes = Writes("site", services.site_create, services.site_update, services.site_delete)


class RackViewSet(AuditedModelViewSet):
    queryset = Rack.objects.select_related("site")
    serializer_class = RackSerializer
    permission_classes = [roles(read=STAFF, write=OPERATORS)]
    filterset_class = filters.RackFilter
    search_fields = ["name"]
    ordering_fields = ["id", "name", "site"]
    ordering = ["id"]
    writes = Writes("rack", services.rack_create, services.rack_update, services.rack_delete)


class ServerViewSet(AuditedModelViewSet):
    queryset = Server.objects.select_related("rack")
    serializer_class = ServerSerializer
    permission_classes = [roles(read=STAFF, write=OPERATORS)]
    filterset_class = filters.ServerFilter
    search_fields = ["name"]
    ordering_fields = ["id", "name", "position"]
    ordering = ["id"]
    writes = Writes(
        "server", services.server_create, services.server_update, services.server_delete
    )


class CardModelViewSet(AuditedModelViewSet):
    """The catalogue: card models and their prices. Everyone reads; operators manage."""

    queryset = CardModel.objects.all()
    serializer_class = CardModelSerializer
    permission_classes = [roles(read=ALL_ROLES, write=OPERATORS)]
    filterset_class = filters.CardModelFilter
    search_fields = ["vendor", "name"]
    ordering_fields = ["id", "name", "hourly_rate", "monthly_rate"]
    ordering = ["id"]
    writes = Writes(
        "card_model",
        services.card_model_create,
        services.card_model_update,
        services.card_model_delete,
    )


class CardViewSet(TenantScopedViewSetMixin, AuditedModelViewSet):
    """Cards. Staff see all; a tenant sees only the cards its leases hold (reserved or active)."""

    queryset = Card.objects.select_related("server", "card_model")
    serializer_class = CardSerializer
    permission_classes = [roles(read=ALL_ROLES, write=OPERATORS)]
    filterset_class = filters.CardFilter
    search_fields = ["serial"]
    ordering_fields = ["id", "serial", "commissioned_on"]
    ordering = ["id"]
    writes = Writes("card", services.card_create, services.card_update, services.card_delete)

    def tenant_filter(self, tenant_id: int) -> Q:
        return selectors.cards_leased_by(tenant_id=tenant_id)


class CapacityView(APIView):
    """Cards and PFLOPS (Σ bf16_tflops / 1000) of installed cards by site, rack or card model."""

    permission_classes = [roles(read=STAFF)]

    @extend_schema(
        parameters=[
            OpenApiParameter("group_by", enum=list(selectors.CAPACITY_GROUPS), default="site")
        ],
        responses=CapacityRowSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        group_by = request.query_params.get("group_by", "site")
        if group_by not in selectors.CAPACITY_GROUPS:
            raise InvalidInput(
                f"group_by must be one of {', '.join(selectors.CAPACITY_GROUPS)}.",
                fields={"group_by": ["Unknown group."]},
            )
        rows = selectors.capacity_by(group_by)
        return Response(CapacityRowSerializer(rows, many=True).data)


class InventoryImportView(APIView):
    """Import cards from CSV: a `text/csv` body or the multipart field `file`. All or nothing.

    Columns: site, rack, server, position, card_model, serial, capex_cost, commissioned_on
    [, status]. Missing sites (by code), racks and servers are created. Bad rows come back as
    `error.errors: [{row, field, reason}]` and nothing is written. Importing the same file again
    changes nothing; with an `Idempotency-Key` a retry replays the first answer.

        curl --data-binary @cards.csv -H 'Content-Type: text/csv' .../inventory/import/
        curl -F file=@cards.csv .../inventory/import/
    """

    permission_classes = [roles(write=OPERATORS)]
    parser_classes = [CSVBodyParser, MultiPartParser, FormParser]

    @property
    def csv_max_bytes(self) -> int:
        return int(settings.INVENTORY_IMPORT_MAX_BYTES)

    @extend_schema(
        request={
            "text/csv": OpenApiTypes.BINARY,
            "multipart/form-data": ImportRequestSerializer,
        },
        responses=ImportResultSerializer,
    )
    @idempotent
    def post(self, request: Request) -> Response:
        result = services.inventory_import(actor=request.user, content=self._content(request))
        return Response(ImportResultSerializer(result).data, status=status.HTTP_201_CREATED)

    def _content(self, request: Request) -> bytes:
        """The CSV's bytes, from the body or the multipart file; the service checks the size."""
        if isinstance(request.data, bytes):
            return request.data
        if (request.content_type or "").startswith(CSVBodyParser.media_type):
            return b""  # an empty body is never parsed: the service says "empty_file"
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidInput(
                "Send the CSV as a text/csv body or as the multipart field 'file'.",
                fields={"file": ["Required."]},
            )
        if upload.size and upload.size > self.csv_max_bytes:
            raise InvalidInput(
                f"The file is larger than {self.csv_max_bytes} bytes.", code="file_too_large"
            )
        return bytes(upload.read())
