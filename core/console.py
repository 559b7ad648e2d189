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
from core.exceptions import ApplicationError
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
    """One page of the console's navigation, with what it is for (the home page lists them). It
    is shown to the roles its page admits (its `console_view(roles=...)`): one source, so no role
    is offered a link to a 403 page."""

    key: str
    label: Promise
    url_name: str
    description: Promise


NAV: tuple[NavItem, ...] = (
    NavItem(
        "leases",
        _("Leases"),
        "leasing-console:leases",
        _("Take a short lease from a live quote, stop it, or end a long lease early."),
    ),
    NavItem(
        "usage",
        _("Usage"),
        "billing-console:usage",
        _("What this month has cost so far, and the vouchers that will apply."),
    ),
    NavItem(
        "budget",
        _("Budget"),
        "billing-console:budget",
        _("A monthly spend limit: warnings, a hard stop, and the month's runway."),
    ),
    NavItem(
        "invoices", _("Invoices"), "billing-console:invoices", _("Your invoices and their PDFs.")
    ),
    NavItem(
        "vouchers",
        _("Vouchers"),
        "billing-console:vouchers",
        _("Compute voucher programmes, grants, balances and claims."),
    ),
    NavItem(
        "billing-profile",
        _("Billing profile"),
        "billing-console:billing-profile",
        _("The invoice title, tax id and bank your fapiao carry."),
    ),
    NavItem(
        "webhooks",
        _("Webhooks"),
        "events-console:webhooks",
        _("Endpoints that receive your events, signed; their deliveries and retries."),
    ),
    NavItem(
        "fleet",
        _("Fleet"),
        "analytics-console:fleet",
        _("Cards, racking, rental and utilisation per site, and the 90-day trend."),
    ),
    NavItem(
        "sites",
        _("Sites"),
        "analytics-console:sites",
        _("Each site's rack heat map; a rack's servers and cards; cards into maintenance."),
    ),
    NavItem(
        "business-cases",
        _("Business cases"),
        "analytics-console:business-cases",
        _("A site's five-year cash flow per utilisation scenario, payback and break-even."),
    ),
    NavItem(
        "month-end",
        _("Month end"),
        "billing-console:month-end",
        _("Run, issue, record payments, void and credit the month's invoices."),
    ),
    NavItem(
        "fapiao",
        _("Fapiao"),
        "billing-console:fapiao",
        _("The month's fapiao requests for the tax system, and the numbers it gave."),
    ),
    NavItem(
        "revenue",
        _("Revenue"),
        "analytics-console:revenue",
        _("Revenue by month, lease kind and card model."),
    ),
    NavItem(
        "events",
        _("Events"),
        "events-console:events",
        _("Every event recorded: leases and billing, newest first, by type."),
    ),
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
    return [item for item in NAV if role in page_roles(item.url_name)]


def current_entry(nav: list[NavItem], path: str) -> str | None:
    """The key of the entry whose page `path` is, or lies under (the longest such address: the
    Sites entry for a site's heat map, not Fleet)."""
    under = [(len(url), item.key) for item in nav if path.startswith(url := reverse(item.url_name))]
    return max(under)[1] if under else None


def console_context(request: HttpRequest) -> dict[str, Any]:
    """Template context of every console page (a context processor; empty elsewhere)."""
    if not is_console_path(request):
        return {}
    role = user_role(getattr(request, "user", None))
    nav = nav_for(role)
    return {
        "console_nav": nav,
        "console_current": current_entry(nav, request.path_info),
        "console_role_label": ROLE_LABELS.get(role, "") if role else "",
        "console_now": clock.now(),  # rendered in operator time (OperatorTimeZoneMiddleware)
        "console_time_zone": settings.OPERATOR_TIME_ZONE,
    }


def refusal_text(error: ApplicationError) -> str:
    """A service's refusal in words, for a page: its message, then what it says of each field."""
    details = [", ".join(str(m) for m in messages) for messages in error.fields.values()]
    return " ".join([error.message, *details])


def form_refusal(form: Any, error: ApplicationError) -> None:
    """A service's refusal onto the form it answered: what it says of a field beside that field,
    of anything else at the form's top (the caller shows `error.message` too)."""
    for name, problems in error.fields.items():
        for problem in problems:
            form.add_error(name if name in form.fields else None, str(problem))


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
