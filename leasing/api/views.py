from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.idempotency import idempotent
from core.permissions import ALL_ROLES, roles
from core.roles import Role
from core.viewsets import FILTER_BACKENDS, TenantScopedViewSetMixin, ValuesReadMixin
from leasing import services
from leasing.api.filters import LeaseFilter
from leasing.api.serializers import (
    HELD_LATERAL,
    AvailabilityQuerySerializer,
    AvailabilitySerializer,
    CardSwapSerializer,
    LeaseCreateSerializer,
    LeaseEventSerializer,
    LeaseSerializer,
    LeaseTerminateResultSerializer,
    ReasonSerializer,
    RenewSerializer,
    TerminateSerializer,
    held_cards,
)
from leasing.models import Lease
from leasing.selectors import availability_find
from marketplace.models import Card

LEASE_WRITERS = (Role.TENANT, Role.OPERATOR)


class LeaseViewSet(
    TenantScopedViewSetMixin,
    ValuesReadMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Leases. Tenants see and act on their own; operators see all and may act for a tenant."""

    # Lists, details and the answers of actions are `.values()` rows, with `cards` and
    # `servers` aggregated in SQL per lease (`HELD_LATERAL` in a list page's own statement,
    # `held_cards` for details and answers).

    serializer_class = LeaseSerializer
    permission_classes = [roles(read=ALL_ROLES, write=LEASE_WRITERS)]
    filter_backends = FILTER_BACKENDS
    filterset_class = LeaseFilter
    ordering_fields = ["id", "start", "end", "status"]
    ordering = ["id"]

    queryset = Lease.objects.all()

    computed_columns = ("cards", "servers")
    page_lateral = HELD_LATERAL  # a list page is one statement

    def complete_rows(self, rows: list[dict[str, Any]]) -> None:
        held = held_cards([row["id"] for row in rows])
        for row in rows:
            row["cards"], row["servers"] = held.get(row["id"], ([], []))

    def _respond(self, lease: Lease, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(self.represent(lease.pk), status=status_code)

    @extend_schema(request=LeaseCreateSerializer, responses={201: LeaseSerializer})
    @idempotent
    def create(self, request: Request) -> Response:
        serializer = LeaseCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        lease = services.lease_create(actor=request.user, **data)
        if lease.shown is not None:  # rendered for its event a moment ago, in this transaction
            return Response(lease.shown, status=status.HTTP_201_CREATED)
        return self._respond(lease, status.HTTP_201_CREATED)

    @extend_schema(request=ReasonSerializer, responses=LeaseSerializer)
    @action(detail=True, methods=["post"])
    def stop(self, request: Request, pk: str) -> Response:
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        lease = services.lease_stop(
            actor=request.user,
            lease=self.get_object(),
            reason=body.validated_data.get("reason", ""),
        )
        return self._respond(lease)

    @extend_schema(request=TerminateSerializer, responses=LeaseTerminateResultSerializer)
    @action(detail=True, methods=["post"])
    def terminate(self, request: Request, pk: str) -> Response:
        body = TerminateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        termination = services.lease_terminate(
            actor=request.user,
            lease=self.get_object(),
            effective=body.validated_data["effective"],
            reason=body.validated_data.get("reason", ""),
        )
        renewal = termination.cancelled_renewal
        body_out = self.represent(termination.lease.pk)
        body_out["cancelled_renewal"] = renewal.pk if renewal is not None else None
        return Response(body_out)

    @extend_schema(request=RenewSerializer, responses={201: LeaseSerializer})
    @action(detail=True, methods=["post"])
    @idempotent
    def renew(self, request: Request, pk: str) -> Response:
        body = RenewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        renewal = services.lease_renew(
            actor=request.user,
            lease=self.get_object(),
            term_months=body.validated_data.get("term_months"),
        )
        return self._respond(renewal, status.HTTP_201_CREATED)

    @extend_schema(request=ReasonSerializer, responses=LeaseSerializer)
    @action(
        detail=True,
        methods=["post"],
        permission_classes=[roles(write=(Role.TENANT, Role.OPERATOR, Role.FINANCE))],
    )
    def cancel(self, request: Request, pk: str) -> Response:
        """Cancel a reserved lease before it starts; its cards are released. Tenants cancel
        their short reservations; a long lease is a commitment, ended by `terminate` (with its
        fee) unless staff cancel it."""
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        lease = services.lease_cancel(
            actor=request.user,
            lease=self.get_object(),
            reason=body.validated_data.get("reason", ""),
        )
        return self._respond(lease)

    @extend_schema(responses=LeaseEventSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"])
    def events(self, request: Request, pk: str) -> Response:
        lease = self.get_object()
        events = lease.events.select_related("actor").order_by("at", "id")
        page = self.paginate_queryset(events)
        return self.get_paginated_response(
            LeaseEventSerializer(page, many=True, context=self.get_serializer_context()).data
        )


class CardMaintenanceView(APIView):
    """Put a card into maintenance; leases holding it get a free card of the same model."""

    permission_classes = [roles(write=(Role.OPERATOR,))]

    @extend_schema(request=ReasonSerializer, responses=CardSwapSerializer)
    def post(self, request: Request, pk: int) -> Response:
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        card = get_object_or_404(Card, pk=pk)
        result = services.card_swap(
            actor=request.user, card=card, reason=body.validated_data.get("reason", "")
        )
        return Response(CardSwapSerializer(result).data)


class AvailabilityView(APIView):
    """Can `count` cards of a model be placed over a window, on which servers, at what price."""

    permission_classes = [roles(read=ALL_ROLES)]

    @extend_schema(parameters=[AvailabilityQuerySerializer], responses=AvailabilitySerializer)
    def get(self, request: Request) -> Response:
        query = AvailabilityQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        data = query.validated_data
        site = data.get("site")
        result = availability_find(
            card_model=data["card_model"],
            count=data["count"],
            kind=data["kind"],
            site_id=site.pk if site else None,
            start=data["start"],
            end=data["end"],
            term_months=data.get("term_months"),
        )
        return Response(AvailabilitySerializer(result).data)
