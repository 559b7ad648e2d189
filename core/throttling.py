from typing import Any

from rest_framework.throttling import SimpleRateThrottle


class TokenRateThrottle(SimpleRateThrottle):
    """Requests per token (one token per user), falling back to the client address."""

    scope = "token"

    def get_cache_key(self, request: Any, view: Any) -> str:
        auth = getattr(request, "auth", None)
        ident = getattr(auth, "key", None) or (
            f"user-{request.user.pk}" if request.user.is_authenticated else self.get_ident(request)
        )
        return self.cache_format % {"scope": self.scope, "ident": ident}
