"""Spend limits over the API: `me/budget/` (the tenant's own) and `tenants/{id}/budget/`
(staff read, finance writes) (docs/api.md §Spend limits)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.tenancy import OwnTenant, TenantInPath
from accounts.models import Tenant
from billing.models import Budget, BudgetAction
from billing.services import spend
from core.exceptions import NotFound
from core.permissions import STAFF, roles
from core.roles import Role
from core.serializers import ErrorSerializer

FINANCE = (Role.FINANCE,)
TENANT = (Role.TENANT,)


class BudgetInputSerializer(serializers.Serializer):
    monthly_limit = serializers.DecimalField(max_digits=14, decimal_places=2)
    warn_at = serializers.ListField(
        child=serializers.DecimalField(max_digits=5, decimal_places=4), required=False
    )
    action = serializers.ChoiceField(choices=BudgetAction.choices, required=False)


class BudgetSerializer(serializers.Serializer):
    tenant = serializers.IntegerField()
    monthly_limit = serializers.DecimalField(max_digits=14, decimal_places=2)
    warn_at = serializers.ListField(child=serializers.DecimalField(max_digits=5, decimal_places=4))
    action = serializers.CharField()
    month = serializers.CharField()
    as_of = serializers.DateTimeField()
    spend = serializers.DecimalField(max_digits=14, decimal_places=2)
    remaining = serializers.DecimalField(max_digits=14, decimal_places=2)
    burn = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text="CNY per hour of the running short leases"
    )
    runway_hours = serializers.DecimalField(
        max_digits=14, decimal_places=2, allow_null=True, help_text="null: nothing burns"
    )
    projected = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text="month-end spend at the burn"
    )
    reached = serializers.BooleanField()


def budget_payload(budget: Budget, row: spend.Spend | None) -> dict[str, Any]:
    assert row is not None  # the budget exists, so the pass has its row
    return BudgetSerializer(
        {
            "tenant": budget.tenant_id,
            "monthly_limit": budget.monthly_limit,
            "warn_at": budget.warn_at,
            "action": budget.action,
            "month": row.month.strftime("%Y-%m"),
            "as_of": row.as_of,
            "spend": row.spend,
            "remaining": row.remaining,
            "burn": row.burn,
            "runway_hours": row.runway_hours,
            "projected": row.projected,
            "reached": row.reached,
        }
    ).data


def _no_budget() -> NotFound:
    return NotFound(
        "No budget: no spend limit. PUT one (monthly_limit, warn_at, action).", code="no_budget"
    )


_RESPONSES = {200: BudgetSerializer, 400: ErrorSerializer, 404: ErrorSerializer}


class _BudgetView(APIView):
    """GET the budget with the month's spend (404 `no_budget`: no limit); PUT creates or
    replaces it; PATCH changes some of its fields."""

    def tenant(self, request: Request, **kwargs: Any) -> Tenant:
        raise NotImplementedError

    def _answer(self, request: Request, tenant: Tenant, *, partial: bool) -> Response:
        body = BudgetInputSerializer(data=request.data, partial=partial)
        body.is_valid(raise_exception=True)
        budget = spend.budget_save(
            actor=request.user, tenant=tenant, data=body.validated_data, partial=partial
        )
        return Response(budget_payload(budget, spend.tenant_spend(tenant)))

    @extend_schema(responses=_RESPONSES)
    def get(self, request: Request, **kwargs: Any) -> Response:
        tenant = self.tenant(request, **kwargs)
        budget = spend.budget_of(tenant)
        if budget is None:
            raise _no_budget()
        return Response(budget_payload(budget, spend.tenant_spend(tenant)))

    @extend_schema(request=BudgetInputSerializer, responses=_RESPONSES)
    def put(self, request: Request, **kwargs: Any) -> Response:
        return self._answer(request, self.tenant(request, **kwargs), partial=False)

    @extend_schema(request=BudgetInputSerializer, responses=_RESPONSES)
    def patch(self, request: Request, **kwargs: Any) -> Response:
        return self._answer(request, self.tenant(request, **kwargs), partial=True)


class MyBudgetView(OwnTenant, _BudgetView):
    """The signed-in tenant's spend limit and its month so far."""

    permission_classes = [roles(read=TENANT, write=TENANT)]
    staff_path = "tenants/{id}/budget/"


class TenantBudgetView(TenantInPath, _BudgetView):
    """Any tenant's spend limit: staff read it, finance sets it."""

    permission_classes = [roles(read=STAFF, write=FINANCE)]
