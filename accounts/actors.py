"""The user behind an `Actor`, as the user model (for `created_by`-style foreign keys)."""

from __future__ import annotations

from accounts.models import User
from core.actors import Actor


def acting_user(actor: Actor) -> User | None:
    """The user to record as a write's author: `None` for the platform and anonymous callers."""
    if isinstance(actor, User) and actor.is_authenticated:
        return actor
    return None
