"""Tenant scoping is enforced, not remembered.

Every API view reachable from the URL conf that shows tenant-owned rows derives from
`TenantScopedViewSetMixin`; the mixin refuses a subclass that overrides `get_queryset`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework import mixins, viewsets
from rest_framework.views import APIView

from accounts.models import Tenant
from core.viewsets import (
    AuditedModelViewSet,
    ReadOnlyScopedViewSet,
    TenantScopedViewSetMixin,
    ValuesReadMixin,
)
from leasing.models import Allocation, Lease
from marketplace.models import Card

# Views over tenant-owned data that do not derive from the scoped base, each with the reason:
# only staff may reach them (their permission classes refuse tenant users). None today: the
# staff-only viewsets (servers, invoice runs, business cases) are over rows no tenant owns.
STAFF_ONLY: dict[str, str] = {}

# DRF views without a queryset: each says here why it shows no tenant-owned rows unscoped.
NO_QUERYSET = {
    "core.api.root.ApiRootView": "links only",
    "core.api.root.SchemaView": "the OpenAPI schema",
    "core.api.root.DocsView": "the API docs page",
    "core.api.views.TestClockView": "the test clock, no tenant data",
    "accounts.api.views.MeView": "the caller's own user and tenant",
    "billing.api.fapiao.MyBillingProfileView": "the caller's own tenant's billing profile",
    "billing.api.fapiao.TenantBillingProfileView": "finance only: any tenant's billing profile",
    "billing.api.budgets.MyBudgetView": "the caller's own tenant's budget",
    "billing.api.budgets.TenantBudgetView": "staff only: any tenant's budget",
    "accounts.api.views.TokenObtainView": "a token for the password's own user",
    "accounts.api.views.LogoutView": "revokes the caller's own token",
    "accounts.api.views.LogoutAllView": "revokes the caller's own tokens",
    "marketplace.api.views.CapacityView": "staff only: capacity of the whole fleet",
    "marketplace.api.views.InventoryImportView": "operators only: imports cards",
    "leasing.api.views.AvailabilityView": "free cards and prices, no tenant's rows",
    "leasing.api.views.CardMaintenanceView": "operators only: swaps a card out",
    "analytics.api.reports.OccupancyReportView": "staff only: fleet-wide report",
    "analytics.api.reports.RevenueReportView": "staff only: fleet-wide report",
    "analytics.api.reports.RecomputeView": "staff only: recomputes the reports",
}


def _name(cls: type[Any]) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _view_classes(
    patterns: list[URLPattern | URLResolver] | None = None,
) -> Iterator[type[APIView]]:
    """Every DRF view class the URL conf reaches (viewsets once per class)."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from _view_classes(pattern.url_patterns)
            continue
        cls = getattr(pattern.callback, "cls", None)
        if isinstance(cls, type) and issubclass(cls, APIView):
            yield cls


def _reaches(model: type[models.Model], target: type[models.Model], depth: int = 3) -> bool:
    """`model` is `target` or leads to it through foreign keys (forward only). A user is not
    followed: a row a user made (`created_by`, `actor`) is not its tenant's for that."""
    if model is target:
        return True
    if depth == 0 or model is get_user_model():
        return False
    return any(
        _reaches(field.related_model, target, depth - 1)
        for field in model._meta.get_fields()
        if field.is_relation and (field.many_to_one or field.one_to_one) and field.concrete
    )


def _held_by_a_lease(model: type[models.Model]) -> bool:
    """Rows a lease holds through its allocations (cards): reached through lease → tenant. An
    allocation's other references are not held: its lease, and its card's model (a copy, kept
    for the availability index)."""
    return any(
        field.related_model is model
        for field in Allocation._meta.get_fields()
        if field.is_relation
        and field.many_to_one
        and field.concrete
        and field.name not in ("lease", "card_model")
    )


def tenant_owned(model: type[models.Model]) -> bool:
    """A tenant's rows: the tenant itself, rows leading to a tenant, or rows a lease holds."""
    return _reaches(model, Tenant) or _held_by_a_lease(model)


def test_the_rule_finds_tenant_owned_models() -> None:
    from billing.models import CreditNote, Metric, UsageRecord
    from marketplace.models import CardModel, Site

    assert all(tenant_owned(m) for m in (Tenant, Lease, UsageRecord, CreditNote, Card))
    assert not any(tenant_owned(m) for m in (Site, CardModel, Metric))


def test_every_view_over_tenant_data_is_tenant_scoped() -> None:
    classes = set(_view_classes())
    assert len(classes) > 10  # the walk found the API
    unscoped, unexplained = [], []
    for cls in classes:
        name = _name(cls)
        queryset = getattr(cls, "queryset", None)
        if queryset is None:
            if name not in NO_QUERYSET:
                unexplained.append(name)
            continue
        if (
            tenant_owned(queryset.model)
            and not issubclass(cls, TenantScopedViewSetMixin)
            and name not in STAFF_ONLY
        ):
            unscoped.append(name)
    assert not unscoped, f"views over tenant data without the scoped base: {sorted(unscoped)}"
    assert not unexplained, f"views without a queryset, unexplained: {sorted(unexplained)}"


def test_the_allow_lists_name_only_views_that_exist() -> None:
    names = {_name(cls) for cls in _view_classes()}
    assert set(STAFF_ONLY) <= names
    assert set(NO_QUERYSET) <= names


def test_card_and_tenant_viewsets_are_scoped() -> None:
    from accounts.api.views import TenantViewSet
    from marketplace.api.views import CardViewSet

    assert issubclass(CardViewSet, TenantScopedViewSetMixin)
    assert issubclass(TenantViewSet, TenantScopedViewSetMixin)


@pytest.mark.parametrize("base", [TenantScopedViewSetMixin, ReadOnlyScopedViewSet])
def test_a_scoped_viewset_may_not_override_get_queryset(base: type[Any]) -> None:
    with pytest.raises(TypeError, match="safely_get_queryset"):

        class Leaky(base):
            def get_queryset(self) -> Any:
                return Lease.objects.all()


def test_a_subclass_of_a_subclass_may_not_override_it_either() -> None:
    class Scoped(TenantScopedViewSetMixin, AuditedModelViewSet):
        queryset = Lease.objects.all()

    with pytest.raises(TypeError, match="bypass tenant scoping"):

        class Leaky(Scoped):
            def get_queryset(self) -> Any:
                return Lease.objects.all()


def test_values_reads_come_after_the_scoping_in_a_viewsets_bases() -> None:
    """ValuesReadMixin caches its class's queryset: it must be the unscoped one, below the
    scoping in the method order, or the first caller's tenant filter would serve everyone."""
    with pytest.raises(TypeError, match="before ValuesReadMixin"):

        class Leaky(ValuesReadMixin, TenantScopedViewSetMixin, viewsets.GenericViewSet):
            queryset = Lease.objects.all()

    class Scoped(TenantScopedViewSetMixin, ValuesReadMixin, viewsets.GenericViewSet):
        queryset = Lease.objects.all()


def test_the_hook_receives_the_scoped_queryset(rf: Any, tenant_user: Any, operator: Any) -> None:
    from tests.factories import LeaseFactory

    seen: list[set[int]] = []

    class Leases(TenantScopedViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
        queryset = Lease.objects.all()

        def safely_get_queryset(self, queryset: Any) -> Any:
            seen.append(set(queryset.values_list("pk", flat=True)))
            return queryset.order_by("-id")

    mine = {LeaseFactory(tenant=tenant_user.tenant).pk for _ in range(2)}
    theirs = LeaseFactory().pk

    def listed(user: Any) -> list[int]:
        view = Leases()
        view.request = rf.get("/")
        view.request.user = user
        return list(view.get_queryset().values_list("pk", flat=True))

    assert listed(tenant_user) == sorted(mine, reverse=True)
    assert seen[-1] == mine  # scoped before the hook saw it
    assert listed(operator) == sorted({*mine, theirs}, reverse=True)
