"""Writes for tenants, users and their API tokens."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken

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
    token_ttl: dt.timedelta | None = None,
) -> tuple[User, str]:
    """Create a user of `role` (tenant users need a tenant) and its first API token; returns the
    user and the token's key, which is stored only as a digest and cannot be read again."""
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
    audit_record(
        actor=actor,
        action="user.create",
        instance=user,
        after={"username": username, "role": role, "tenant": tenant.pk if tenant else None},
    )
    issued = token_issue(actor=actor, user=user, ttl=token_ttl)
    return user, issued.key


# --- API tokens (django-rest-knox: a SHA-512 digest is stored, never the key) ------------------


@dataclass(frozen=True)
class IssuedToken:
    key: str  # shown once: only its digest is stored
    token: AuthToken

    @property
    def expiry(self) -> dt.datetime | None:
        return self.token.expiry


def token_default_ttl() -> dt.timedelta:
    return dt.timedelta(days=settings.API_TOKEN_TTL_DAYS)


def _token_audit(token: AuthToken) -> dict[str, Any]:
    """What the audit log keeps of a token: its lookup prefix (the key's first 15 of 64
    characters, as the admin shows it) and its expiry, never the key or the digest."""
    return {
        "token_key": token.token_key,
        "user": token.user_id,
        "expiry": token.expiry.isoformat() if token.expiry else None,
    }


@transaction.atomic
def token_issue(*, actor: Actor, user: User, ttl: dt.timedelta | None = None) -> IssuedToken:
    """A new API token for `user`, valid for `ttl` (default `API_TOKEN_TTL_DAYS`)."""
    if not user.is_active:
        raise InvalidInput("An inactive user cannot get a token.")
    lifetime = token_default_ttl() if ttl is None else ttl
    if lifetime <= dt.timedelta(0):
        raise InvalidInput("A token's lifetime must be positive.", fields={"ttl": ["Positive."]})
    token, key = AuthToken.objects.create(user=user, expiry=lifetime)
    audit_record(
        actor=actor,
        action="token.issue",
        object_type="knox.AuthToken",
        object_id=token.token_key,
        after=_token_audit(token),
    )
    return IssuedToken(key=key, token=token)


@transaction.atomic
def token_revoke(*, actor: Actor, token: AuthToken) -> None:
    """Revoke one token: the next request bearing it is a 401."""
    before = _token_audit(token)
    AuthToken.objects.filter(digest=token.digest).delete()
    audit_record(
        actor=actor,
        action="token.revoke",
        object_type="knox.AuthToken",
        object_id=token.token_key,
        before=before,
    )


@transaction.atomic
def tokens_revoke_all(*, actor: Actor, user: User) -> int:
    """Revoke every token of `user`; how many there were."""
    count, _ = AuthToken.objects.filter(user=user).delete()
    audit_record(
        actor=actor,
        action="token.revoke_all",
        instance=user,
        after={"revoked": count},
    )
    return count


def tokens_purge_expired() -> int:
    """Delete tokens past their expiry (they are refused already); how many. Platform upkeep,
    like the idempotency keys' purge: one audit row for the batch when there was any."""
    with transaction.atomic():
        count, _ = AuthToken.objects.filter(expiry__lte=timezone.now()).delete()
        if count:
            audit_record(
                actor=None,
                action="token.purge_expired",
                object_type="knox.AuthToken",
                after={"deleted": count},
            )
    return count
