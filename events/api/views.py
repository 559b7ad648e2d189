from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.idempotency import idempotent
from core.permissions import ALL_ROLES, roles
from core.roles import Role
from core.viewsets import FILTER_BACKENDS, TenantScopedViewSetMixin
from events import services
from events.api.filters import EventFilter
from events.api.serializers import (
    DeliverySerializer,
    EndpointCreateSerializer,
    EndpointSerializer,
    EndpointUpdateSerializer,
    EndpointWithSecretSerializer,
    EventSerializer,
)
from events.models import Event, WebhookEndpoint
from events.selectors import deliveries_of

UUID_PATTERN = "[0-9a-fA-F-]{36}"


class EventViewSet(
    TenantScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """The outbox, newest first: a tenant's own events; staff see every event."""

    serializer_class = EventSerializer
    permission_classes = [roles(read=ALL_ROLES)]
    filter_backends = FILTER_BACKENDS
    filterset_class = EventFilter
    ordering_fields = ["created"]
    ordering = ["-created", "-id"]
    lookup_value_regex = UUID_PATTERN
    queryset = Event.objects.select_related("tenant")


class WebhookEndpointViewSet(
    TenantScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Webhook endpoints. A tenant's receive its own events; staff endpoints (created by an
    admin, no tenant) receive every event. The signing secret is shown once: in the answer of
    creation and of `rotate-secret/`, and only to the endpoint's owner.

    Writes are a tenant user's on its own endpoints and an admin's (a staff endpoint is a copy
    of every tenant's events, sent off the platform); operator and finance read. Nobody but the
    tenant rotates a tenant's secret: the answer would hand staff the key that signs the
    tenant's webhooks."""

    serializer_class = EndpointSerializer
    permission_classes = [roles(read=ALL_ROLES, write=(Role.TENANT,))]
    filter_backends = FILTER_BACKENDS
    filterset_fields = ["active"]
    ordering_fields = ["id"]
    ordering = ["id"]
    queryset = WebhookEndpoint.objects.select_related("tenant")

    @extend_schema(request=EndpointCreateSerializer, responses={201: EndpointWithSecretSerializer})
    @idempotent
    def create(self, request: Request) -> Response:
        body = EndpointCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint = services.endpoint_create(
            actor=request.user,
            tenant=getattr(request.user, "tenant", None),  # staff: a staff endpoint
            **body.validated_data,
        )
        return Response(EndpointWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=EndpointUpdateSerializer, responses=EndpointSerializer)
    def partial_update(self, request: Request, pk: str) -> Response:
        body = EndpointUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        endpoint = services.endpoint_update(
            actor=request.user, endpoint=self.get_object(), **body.validated_data
        )
        return Response(EndpointSerializer(endpoint).data)

    @extend_schema(request=None, responses=EndpointWithSecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str) -> Response:
        endpoint = self.get_object()
        if endpoint.tenant_id != getattr(request.user, "tenant_id", None):
            self.permission_denied(request, message="Only its tenant rotates this secret.")
        endpoint = services.endpoint_rotate_secret(actor=request.user, endpoint=endpoint)
        return Response(EndpointWithSecretSerializer(endpoint).data)

    @extend_schema(responses=DeliverySerializer(many=True), filters=False)
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str) -> Response:
        """The endpoint's deliveries, newest first, each with its attempts."""
        page = self.paginate_queryset(deliveries_of(endpoint=self.get_object()))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(request=None, responses=DeliverySerializer)
    @action(
        detail=True,
        methods=["post"],
        url_path=r"deliveries/(?P<delivery_id>[0-9]+)/retry",
        url_name="delivery-retry",
    )
    def retry(self, request: Request, pk: str, delivery_id: str) -> Response:
        """Try a failed delivery again now (409 unless it failed)."""
        delivery = get_object_or_404(deliveries_of(endpoint=self.get_object()), pk=delivery_id)
        services.delivery_retry(actor=request.user, delivery=delivery)
        refreshed = deliveries_of(endpoint=delivery.endpoint).get(pk=delivery.pk)
        return Response(DeliverySerializer(refreshed).data)
