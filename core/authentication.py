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
"""

from __future__ import annotations

import binascii
from hmac import compare_digest
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS
from rest_framework import exceptions


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
        candidates = get_token_model().objects.select_related("user", "user__tenant")
        for auth_token in candidates.filter(token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if not compare_digest(digest, auth_token.digest):
                continue
            if auth_token.expiry is not None and auth_token.expiry <= timezone.now():
                raise TokenExpired()
            if not auth_token.user.is_active:
                raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
            return auth_token.user, auth_token
        raise invalid


class TokenScheme(OpenApiAuthenticationExtension):
    """The schema's security scheme for `TokenAuthentication` (registered by being defined)."""

    target_class = TokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        definition: dict[str, Any] = build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix="Token"
        )
        return definition
