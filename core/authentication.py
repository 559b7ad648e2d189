"""Token authentication in one query, with nothing cached between requests.

Each request reads its token with the user (and the user's tenant) in one joined query, so a
deleted token, a deactivated user or a changed role takes effect on the very next request, in
every worker. An earlier per-process cache of token → user saved that query but let revoked
access linger for up to 30 seconds per worker; the join keeps the cost at one query.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication as DRFTokenAuthentication
from rest_framework.authtoken.models import Token


class TokenAuthentication(DRFTokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        try:
            token = Token.objects.select_related("user", "user__tenant").get(key=key)
        except Token.DoesNotExist as exc:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from exc
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return token.user, token
