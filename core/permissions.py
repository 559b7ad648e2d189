"""Role checks. Roles: tenant, operator, finance, admin (admin may do everything)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS, BasePermission

from core.roles import Role


def user_role(user: Any) -> str | None:
    if not user or not user.is_authenticated:
        return None
    return getattr(user, "role", None)


def is_staff_user(user: Any) -> bool:
    return user_role(user) in {Role.OPERATOR, Role.FINANCE, Role.ADMIN}


class RolePermission(BasePermission):
    """Grants reads to `read_roles` and writes to `write_roles`; admin always passes."""

    read_roles: frozenset[str] = frozenset()
    write_roles: frozenset[str] = frozenset()

    def has_permission(self, request: Any, view: Any) -> bool:
        role = user_role(request.user)
        if role is None:
            return False
        if role == Role.ADMIN:
            return True
        allowed = self.read_roles if request.method in SAFE_METHODS else self.write_roles
        return role in allowed


def roles(*, read: tuple[str, ...] = (), write: tuple[str, ...] = ()) -> type[RolePermission]:
    """A permission class: `permission_classes = [roles(read=(...), write=(...))]`."""
    return type(
        "RolePermission_" + "_".join(sorted(set(read) | set(write))),
        (RolePermission,),
        {"read_roles": frozenset(read), "write_roles": frozenset(write)},
    )


ALL_ROLES = (Role.TENANT, Role.OPERATOR, Role.FINANCE, Role.ADMIN)
STAFF = (Role.OPERATOR, Role.FINANCE, Role.ADMIN)


class IsAdminRole(RolePermission):
    pass


class ApiDocsAccess(BasePermission):
    """The schema, Swagger UI and the API listing: anyone when `API_DOCS_PUBLIC` is on (`make
    run`, the tests), an authenticated user (token or session) otherwise."""

    def has_permission(self, request: Any, view: Any) -> bool:
        return bool(settings.API_DOCS_PUBLIC or (request.user and request.user.is_authenticated))
