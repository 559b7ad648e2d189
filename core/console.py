"""The web console's foundation: the `console_view` decorator (session login, role, tenant
scoping), the navigation by role, the login / logout / home pages and the console's own error
pages (403, 404, locked out). Pages of the apps live in `<app>/console.py` with their templates
under `<app>/templates/<app>/console/` and extend `core/console/base.html`; they call the same
services and selectors as the API views.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import resolve, reverse
from django.utils.functional import Promise
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views import defaults

from core import clock
from core.permissions import user_role
from core.roles import Role

CONSOLE_PREFIX = "/console/"
LOGIN_URL_NAME = "console:login"

View = Callable[..., HttpResponse]

ROLE_LABELS: dict[str, Promise] = {
    Role.TENANT: _("Tenant user"),
    Role.OPERATOR: _("Operator"),
    Role.FINANCE: _("Finance"),
    Role.ADMIN: _("Admin"),
}


def is_console_path(request: HttpRequest) -> bool:
    return request.path_info.startswith(CONSOLE_PREFIX)


# --- Navigation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NavItem:
    """One entry of the console's navigation. A linked entry (`url_name`) is shown to the roles
    its page admits (its `console_view(roles=...)`: one source, so no role is shown a link to a
    403 page); `roles` is for an entry without `url_name` (a page of a later increment, shown but
    not linked)."""

    key: str
    label: Promise
    roles: frozenset[str]
    url_name: str | None = None


_TENANT = frozenset({Role.TENANT})
_OPERATOR = frozenset({Role.OPERATOR})
_FINANCE = frozenset({Role.FINANCE})
NAV: tuple[NavItem, ...] = (
    NavItem("leases", _("Leases"), _TENANT, "leasing-console:leases"),
    NavItem("usage", _("Usage"), _TENANT, "billing-console:usage"),
    NavItem("invoices", _("Invoices"), _TENANT, "billing-console:invoices"),
    NavItem("vouchers", _("Vouchers"), _TENANT | _FINANCE, "billing-console:vouchers"),
    NavItem("fleet", _("Fleet"), _OPERATOR, "analytics-console:fleet"),
    NavItem("sites", _("Sites"), _OPERATOR, "analytics-console:sites"),
    NavItem("business-cases", _("Business cases"), _OPERATOR, "analytics-console:business-cases"),
    NavItem("month-end", _("Month end"), _FINANCE, "billing-console:month-end"),
    NavItem("revenue", _("Revenue"), _FINANCE, "analytics-console:revenue"),
)


@functools.cache
def page_roles(url_name: str) -> frozenset[str]:
    """The roles a console page admits (its `console_view`), by URL name."""
    view = resolve(reverse(url_name)).func
    roles = getattr(view, "console_roles", None)
    if roles is None:
        raise ImproperlyConfigured(f"console page {url_name} is not a console_view")
    return frozenset(roles)


def nav_for(role: str | None) -> list[NavItem]:
    """The navigation entries a role sees, in NAV's order."""
    if role is None:
        return []
    return [item for item in NAV if role in _shown_to(item)]


def _shown_to(item: NavItem) -> frozenset[str]:
    if item.url_name:
        return page_roles(item.url_name)
    return item.roles | {Role.ADMIN} if item.roles - _TENANT else item.roles  # staff pages: admin


def console_context(request: HttpRequest) -> dict[str, Any]:
    """Template context of every console page (a context processor; empty elsewhere)."""
    if not is_console_path(request):
        return {}
    role = user_role(getattr(request, "user", None))
    return {
        "console_nav": nav_for(role),
        "console_role_label": ROLE_LABELS.get(role, "") if role else "",
        "console_now": clock.now(),  # rendered in operator time (OperatorTimeZoneMiddleware)
        "console_time_zone": settings.OPERATOR_TIME_ZONE,
    }


# --- The decorator ----------------------------------------------------------------------------


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The console's 403 page."""
    return render(request, "core/console/403.html", status=403)


def console_view(*, roles: Iterable[str]) -> Callable[[View], View]:
    """A console page for `roles` (listed exactly: a tenant-only page does not list admin, who
    has no tenant). Anonymous → the login page (with `next`); another role → the 403 page. The
    view is called with `tenant=`: the tenant user's own tenant (scope every query by it), or
    `None` for staff."""
    allowed = frozenset(roles)
    unknown = allowed - set(Role.values)
    if unknown or not allowed:
        raise ValueError(f"console_view: unknown or no roles {sorted(unknown)}")

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                query = urlencode({"next": request.get_full_path()})
                return HttpResponseRedirect(f"{reverse(LOGIN_URL_NAME)}?{query}")
            role = user_role(user)
            if role not in allowed:
                return forbidden(request)
            tenant = getattr(user, "tenant", None) if role == Role.TENANT else None
            if role == Role.TENANT and tenant is None:  # the database forbids it; never guess
                return forbidden(request)
            return view(request, *args, tenant=tenant, **kwargs)

        wrapped.console_roles = allowed  # type: ignore[attr-defined]
        return wrapped

    return decorate


# --- Pages ------------------------------------------------------------------------------------

HOME_URL_NAMES: dict[str, str] = {
    Role.TENANT: "console:tenant-home",
    Role.OPERATOR: "console:staff-home",
    Role.FINANCE: "console:staff-home",
    Role.ADMIN: "console:staff-home",
}


def home(request: HttpRequest) -> HttpResponse:
    """`/console/`: the signed-in user's first page by role; the login page otherwise."""
    role = user_role(request.user)
    if role is None:
        return redirect(LOGIN_URL_NAME)
    return redirect(HOME_URL_NAMES[role])


@console_view(roles=[Role.TENANT])
def tenant_home(request: HttpRequest, *, tenant: Any) -> HttpResponse:
    return render(request, "core/console/home.html", {"tenant": tenant})


@console_view(roles=[Role.OPERATOR, Role.FINANCE, Role.ADMIN])
def staff_home(request: HttpRequest, *, tenant: Any) -> HttpResponse:
    return render(request, "core/console/home.html", {"tenant": None})


class LoginView(auth_views.LoginView):
    """Django's login form, through django-axes (core.api.views.login_locked_out answers a
    locked-out console login with `locked_out`)."""

    template_name = "core/console/login.html"
    redirect_authenticated_user = True
    next_page = "console:home"  # a URL name: Django resolves it


class LogoutView(auth_views.LogoutView):
    """POST only (Django's); then `/console/`, which leads to the login page, saying so."""

    next_page = "console:home"  # a URL name: Django resolves it

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        messages.info(request, _("You are logged out."))
        return response


def locked_out(request: HttpRequest) -> HttpResponse:
    """Too many failed logins for this username from this address (django-axes)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    response = render(request, "core/console/locked_out.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The console's 404 page."""
    return render(request, "core/console/404.html", status=404)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """`handler403`: the console's page under /console/, Django's own elsewhere."""
    if is_console_path(request):
        return forbidden(request, exception)
    return defaults.permission_denied(request, exception)
