"""Token authentication: hashed, expiring tokens (django-rest-knox) in one query.

Only a SHA-512 digest of each key is stored (knox's `AuthToken`: `digest`, the key's first 15
characters as `token_key` to find it by, `expiry`). A request's token is read with its user and
the user's tenant in one joined query, and nothing is cached between requests, so a revoked
token, a deactivated user or a changed role takes effect on the very next request, in every
worker.

Knox's own check would cost more queries per request: for each candidate row it lists the
user's other tokens to delete expired ones. Here an expired token is refused with
`token_expired` and left for the daily purge (`accounts.purge_expired_tokens`), so a request
only reads.

The lookup is one prepared statement (core.prepared) built once from the three models' columns:
PostgreSQL planned the three-table join in ~0.8 ms for a 0.1 ms execution, and the ORM spent
about as long compiling it, on every request.
"""

from __future__ import annotations

import binascii
from hmac import compare_digest
from typing import Any

from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS
from rest_framework import exceptions

from core.prepared import binary_safe, prepared_cursor


class TokenExpired(exceptions.AuthenticationFailed):
    default_detail = _("The token has expired: get a new one.")
    default_code = "token_expired"


class TokenAuthentication(KnoxTokenAuthentication):
    """`Authorization: Token <key>`."""

    def authenticate_credentials(self, token: bytes) -> tuple[Any, Any]:
        invalid = exceptions.AuthenticationFailed(_("Invalid token."))
        try:
            key = token.decode("ascii")
            digest = hash_token(key)
        except (UnicodeDecodeError, TypeError, binascii.Error) as exc:
            raise invalid from exc
        for auth_token in tokens_by_key(key[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if not compare_digest(digest, auth_token.digest):
                continue
            if auth_token.expiry is not None and auth_token.expiry <= timezone.now():
                raise TokenExpired()
            if not auth_token.user.is_active:
                raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
            return auth_token.user, auth_token
        raise invalid


class _Lookup:
    """The token lookup as SQL: the token's, its user's and the user's tenant's columns (all of
    each model's concrete fields, as `select_related("user", "user__tenant")` reads them)."""

    def __init__(self) -> None:
        token_model = get_token_model()
        user_model = token_model._meta.get_field("user").related_model
        tenant_model = user_model._meta.get_field("tenant").related_model
        self.parts: list[tuple[type[models.Model], list[models.Field[Any, Any]]]] = [
            (model, list(model._meta.concrete_fields))
            for model in (token_model, user_model, tenant_model)
        ]
        quote = connection.ops.quote_name
        columns = ", ".join(
            f"{alias}.{quote(field.column)}"
            for alias, (_, fields) in zip("tuc", self.parts, strict=True)
            for field in fields
        )
        self.binary = all(binary_safe(f) for _, fields in self.parts for f in fields)
        token_table, user_table, tenant_table = (quote(m._meta.db_table) for m, _ in self.parts)
        self.sql = (
            f"SELECT {columns} FROM {token_table} t "
            f"JOIN {user_table} u ON u.{quote('id')} = t.{quote('user_id')} "
            f"LEFT JOIN {tenant_table} c ON c.{quote('id')} = u.{quote('tenant_id')} "
            f"WHERE t.{quote('token_key')} = %s"
        )

    def instances(self, row: tuple[Any, ...]) -> Any:
        """The token of `row`, its user and the user's tenant attached as select_related does."""
        made: list[models.Model | None] = []
        start = 0
        for model, fields in self.parts:
            values = row[start : start + len(fields)]
            start += len(fields)
            if values[0] is None:  # no tenant (staff)
                made.append(None)
                continue
            made.append(model.from_db(connection.alias, [f.attname for f in fields], values))
        token, user, tenant = made
        type(token).user.field.set_cached_value(token, user)  # type: ignore[union-attr]
        type(user).tenant.field.set_cached_value(user, tenant)  # type: ignore[union-attr]
        return token


_lookup: _Lookup | None = None


def tokens_by_key(token_key: str) -> list[Any]:
    """The tokens whose `token_key` is `token_key`, each with its user and the user's tenant
    (one prepared statement)."""
    global _lookup
    if _lookup is None:
        _lookup = _Lookup()
    with prepared_cursor(binary=_lookup.binary) as cursor:
        cursor.execute(_lookup.sql, [token_key])
        rows = cursor.fetchall()
    return [_lookup.instances(row) for row in rows]


class TokenScheme(OpenApiAuthenticationExtension):
    """The schema's security scheme for `TokenAuthentication` (registered by being defined)."""

    target_class = TokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        definition: dict[str, Any] = build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix="Token"
        )
        return definition
