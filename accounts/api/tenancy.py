"""Which tenant a per-tenant resource (`me/…/` and `tenants/{id}/…/`) is about: one rule for every
such pair of views (a budget, a billing profile)."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from rest_framework.exceptions import NotFound
from rest_framework.request import Request

from accounts.models import Tenant


class OwnTenant:
    """`me/<resource>/`: the signed-in user's tenant. `staff_path` names where staff go instead
    (an admin passes every role check but belongs to no tenant: 404 `no_tenant`)."""

    staff_path = "tenants/{id}/…/"

    def tenant(self, request: Request, **kwargs: Any) -> Tenant:
        user: Any = request.user
        if user.tenant_id is None:
            raise NotFound(
                f"You belong to no tenant: staff use {self.staff_path}.", code="no_tenant"
            )
        return Tenant.objects.get(pk=user.tenant_id)


class TenantInPath:
    """`tenants/{tenant_id}/<resource>/`: the tenant the path names (404 when none)."""

    def tenant(self, request: Request, **kwargs: Any) -> Tenant:
        return get_object_or_404(Tenant, pk=kwargs["tenant_id"])
