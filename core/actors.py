"""Who performs a write: a signed-in user, an anonymous request's user, or the platform itself.

Services take `actor: Actor`. Views pass `request.user`; scheduled tasks, demos and other
platform work pass `None`. Only an authenticated user is recorded as the author of a write
(`accounts.actors.acting_user` gives it as the user model, for foreign keys).
"""

from __future__ import annotations

from typing import Any, TypeAlias

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

Actor: TypeAlias = AbstractBaseUser | AnonymousUser | None


def acting_user_pk(actor: Actor) -> Any:
    """The primary key of the user to record as a write's author, or `None` for the platform
    and anonymous callers."""
    return actor.pk if actor is not None and actor.is_authenticated else None
