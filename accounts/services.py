"""Writes for tenants and users."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction
from rest_framework.authtoken.models import Token

from accounts.models import Tenant, User
from core.actors import Actor
from core.audit import audit_record, snapshot
from core.exceptions import InvalidInput
from core.roles import Role


@transaction.atomic
def tenant_create(*, actor: Actor = None, name: str, **fields: Any) -> Tenant:
    tenant = Tenant.objects.create(name=name, **fields)
    audit_record(actor=actor, action="tenant.create", instance=tenant, after=snapshot(tenant))
    return tenant


@transaction.atomic
def tenant_update(*, actor: Actor, tenant: Tenant, **changes: Any) -> Tenant:
    before = snapshot(tenant)
    for field, value in changes.items():
        setattr(tenant, field, value)
    tenant.full_clean()
    tenant.save()
    audit_record(
        actor=actor, action="tenant.update", instance=tenant, before=before, after=snapshot(tenant)
    )
    return tenant


@transaction.atomic
def user_create(
    *,
    actor: Actor = None,
    username: str,
    role: str,
    tenant: Tenant | None = None,
    password: str | None = None,
) -> tuple[User, Token]:
    """Create a user of `role` (tenant users need a tenant) and its API token."""
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}.", fields={"role": ["Unknown role."]})
    if (role == Role.TENANT) != (tenant is not None):
        raise InvalidInput(
            "Tenant users need a tenant; staff users must not have one.",
            fields={"tenant": ["Required for tenant users only."]},
        )
    if User.objects.filter(username=username).exists():
        raise InvalidInput("This username is taken.", fields={"username": ["Already taken."]})
    user = User(
        username=username,
        role=role,
        tenant=tenant,
        is_staff=role == Role.ADMIN,
        is_superuser=role == Role.ADMIN,
    )
    user.set_password(password or secrets.token_urlsafe(24))
    user.save()
    token = Token.objects.create(user=user)
    audit_record(
        actor=actor,
        action="user.create",
        instance=user,
        after={"username": username, "role": role, "tenant": tenant.pk if tenant else None},
    )
    return user, token
