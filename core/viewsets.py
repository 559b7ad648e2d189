"""Viewset bases.

Every viewset that shows tenant data derives from `TenantScopedViewSetMixin`: its queryset is
filtered by the caller's tenant before anything else sees it, so scoping cannot be forgotten.
Another tenant's object is simply not in the queryset: a 404.
"""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from rest_framework import mixins, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from core.audit import audit_record, snapshot
from core.idempotency import idempotent
from core.permissions import user_role
from core.roles import Role


def scope_to_tenant(
    queryset: models.QuerySet[Any], user: Any, tenant_field: str = "tenant"
) -> models.QuerySet[Any]:
    """Tenant users see their tenant's rows; staff see everything; anyone else nothing."""
    role = user_role(user)
    if role == Role.TENANT:
        return queryset.filter(**{tenant_field: user.tenant_id})
    if role in {Role.OPERATOR, Role.FINANCE, Role.ADMIN}:
        return queryset
    return queryset.none()


class TenantScopedViewSetMixin:
    """Filters `get_queryset()` by the caller's tenant through `tenant_field`."""

    tenant_field = "tenant"

    def get_queryset(self) -> models.QuerySet[Any]:
        queryset = super().get_queryset()  # type: ignore[misc]
        return scope_to_tenant(queryset, self.request.user, self.tenant_field)  # type: ignore[attr-defined]


class AuditedModelViewSet(viewsets.ModelViewSet):
    """CRUD for reference data: idempotent create, every write audit-logged atomically."""

    audit_name: str = ""

    def _action_name(self, verb: str) -> str:
        name = self.audit_name or self.get_queryset().model._meta.model_name
        return f"{name}.{verb}"

    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer: Any) -> None:
        with transaction.atomic():
            instance = serializer.save()
            audit_record(
                actor=self.request.user,
                action=self._action_name("create"),
                instance=instance,
                after=snapshot(instance),
            )

    def perform_update(self, serializer: Any) -> None:
        with transaction.atomic():
            before = snapshot(serializer.instance)
            instance = serializer.save()
            audit_record(
                actor=self.request.user,
                action=self._action_name("update"),
                instance=instance,
                before=before,
                after=snapshot(instance),
            )

    def perform_destroy(self, instance: Any) -> None:
        with transaction.atomic():
            before = snapshot(instance)
            pk = instance.pk
            instance.delete()
            audit_record(
                actor=self.request.user,
                action=self._action_name("delete"),
                object_type=instance._meta.label,
                object_id=pk,
                before=before,
            )


class ReadOnlyScopedViewSet(
    TenantScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    pass
