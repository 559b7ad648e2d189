"""The console's Leases page for tenant users: their leases (newest first, paginated), taking a
short lease from a live quote, stopping an active short lease, and terminating a long lease
early with its fee quoted before confirming. The same selectors and services as the API's views
(`availability_find`, `lease_create`, `lease_stop`, `lease_terminate`, whose fee is
`lease_termination_quote`'s)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Tenant
from core import clock
from core.console import console_view, form_refusal, refusal_text
from core.exceptions import ApplicationError
from core.roles import Role
from leasing import services
from leasing.choices import LeaseKind, LeaseStatus
from leasing.models import Lease
from leasing.selectors import availability_find, card_models_offered, leases_of_tenant
from leasing.services import lease_termination_quote
from leasing.terms import SHORT_MAX_DURATION, lease_window

PAGE_SIZE = 50
MAX_HOURS = int(SHORT_MAX_DURATION.total_seconds() // 3600)

STATUS_LABELS: dict[str, Promise] = {
    LeaseStatus.RESERVED: _("Reserved"),
    LeaseStatus.ACTIVE: _("Active"),
    LeaseStatus.ENDED: _("Ended"),
    LeaseStatus.CANCELLED: _("Cancelled"),
    LeaseStatus.TERMINATED: _("Terminated"),
}
KIND_LABELS: dict[str, Promise] = {
    LeaseKind.LONG: _("Long lease"),
    LeaseKind.SHORT: _("Short lease"),
}


class ShortLeaseForm(forms.Form):
    """A short lease from now: which cards, how many, for how many hours."""

    card_model = forms.ModelChoiceField(
        queryset=card_models_offered(), label=_("Card model"), empty_label=None
    )
    card_count = forms.IntegerField(label=_("Cards"), min_value=1, max_value=100000, initial=1)
    hours = forms.IntegerField(label=_("Hours"), min_value=1, max_value=MAX_HOURS, initial=1)

    def window(self) -> tuple[dt.datetime, dt.datetime]:
        """[now, now + hours), as the lease rules hold it."""
        start = clock.now()
        end = start + dt.timedelta(hours=self.cleaned_data["hours"])
        lease_start, lease_end = lease_window(
            kind=LeaseKind.SHORT, start=None, end=end, term_months=None
        )
        assert lease_end is not None
        return lease_start, lease_end


class TerminateForm(forms.Form):
    """Terminate a long lease early: from which day (after today), and why (optional)."""

    effective = forms.DateField(
        label=_("Ends on"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("The first day without the lease (after today)."),
    )
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)


def _row(lease: Lease) -> dict[str, Any]:
    running = lease.status in {LeaseStatus.ACTIVE, LeaseStatus.RESERVED}
    return {
        "lease": lease,
        "status_label": STATUS_LABELS.get(lease.status, lease.status),
        "kind_label": KIND_LABELS.get(lease.kind, lease.kind),
        "can_stop": lease.kind == LeaseKind.SHORT and running,
        "can_terminate": lease.kind == LeaseKind.LONG and running,
    }


def _own_lease(tenant: Tenant, pk: int) -> Lease:
    lease = leases_of_tenant(tenant=tenant).filter(pk=pk).first()
    if lease is None:  # another tenant's lease is no lease of theirs: the 404 page
        raise Http404
    return lease


@console_view(roles=[Role.TENANT])
@require_GET
def leases(request: HttpRequest, *, tenant: Tenant) -> HttpResponse:
    """The tenant's leases; an htmx request (the list refreshing) gets the list alone."""
    page = Paginator(leases_of_tenant(tenant=tenant), PAGE_SIZE).get_page(request.GET.get("page"))
    context: dict[str, Any] = {"page": page, "rows": [_row(lease) for lease in page]}
    if getattr(request, "htmx", False):
        return render(request, "leasing/console/_lease_list.html", context)
    context["form"] = ShortLeaseForm()
    return render(request, "leasing/console/leases.html", context)


@console_view(roles=[Role.TENANT])
@require_GET
def quote(request: HttpRequest, *, tenant: Tenant) -> HttpResponse:
    """The live quote of the short-lease form: available or not, the price per hour and the
    total (`availability_find`, as GET /api/v1/availability/)."""
    form = ShortLeaseForm(request.GET)
    context: dict[str, Any] = {"form": form}
    if form.is_valid():
        try:
            start, end = form.window()
        except ApplicationError as error:
            context["error"] = refusal_text(error)
        else:
            data = form.cleaned_data
            context["availability"] = availability_find(
                card_model=data["card_model"],
                count=data["card_count"],
                kind=LeaseKind.SHORT,
                start=start,
                end=end,
            )
            context["data"] = data
    return render(request, "leasing/console/_quote.html", context)


@console_view(roles=[Role.TENANT])
@require_POST
def take(request: HttpRequest, *, tenant: Tenant) -> HttpResponse:
    """Confirm a quote: `lease_create` a short lease from now for the hours asked. A refusal is
    shown in the quote's place, in words; a lease taken refreshes the list."""
    form = ShortLeaseForm(request.POST)
    context: dict[str, Any] = {"form": form}
    if form.is_valid():
        data = form.cleaned_data
        try:
            _, end = form.window()
            lease = services.lease_create(
                actor=request.user,
                tenant=tenant,
                kind=LeaseKind.SHORT,
                card_model=data["card_model"],
                card_count=data["card_count"],
                end=end,
            )
        except ApplicationError as error:
            context["error"] = refusal_text(error)
        else:
            response = render(request, "leasing/console/_taken.html", {"lease": lease})
            response["HX-Trigger"] = "leases-changed"
            return response
    return render(request, "leasing/console/_quote.html", context)


@console_view(roles=[Role.TENANT])
@require_POST
def stop(request: HttpRequest, pk: int, *, tenant: Tenant) -> HttpResponse:
    """Stop an active short lease (`lease_stop`); the row again, with its new status."""
    lease = _own_lease(tenant, pk)
    context: dict[str, Any] = {}
    try:
        lease = services.lease_stop(
            actor=request.user, lease=lease, reason="stopped in the console"
        )
    except ApplicationError as error:
        context["row_error"] = refusal_text(error)
    lease = _own_lease(tenant, pk)  # with its card model and site, as the list shows it
    context["row"] = _row(lease)
    return render(request, "leasing/console/_lease_row.html", context)


@console_view(roles=[Role.TENANT])
@require_http_methods(["GET", "POST"])
def terminate(request: HttpRequest, pk: int, *, tenant: Tenant) -> HttpResponse:
    """GET: the termination form and the quote for its day (tomorrow at first), from
    `lease_termination_quote`, the fee `lease_terminate` charges. POST: confirm, through
    `lease_terminate`; the list refreshes (the row says Terminated, with the fee). A refusal
    is shown in words in the form's place and changes nothing."""
    lease = _own_lease(tenant, pk)
    context: dict[str, Any] = {"lease": lease}
    if request.method == "GET" and "effective" not in request.GET:
        tomorrow = clock.local_today() + dt.timedelta(days=1)
        form = TerminateForm({"effective": tomorrow.isoformat(), "reason": ""})
    else:
        form = TerminateForm(request.POST if request.method == "POST" else request.GET)
    context["form"] = form
    if form.is_valid():
        data = form.cleaned_data
        try:
            if request.method == "POST":
                termination = services.lease_terminate(
                    actor=request.user,
                    lease=lease,
                    effective=data["effective"],
                    reason=data["reason"] or "terminated in the console",
                )
            else:
                context["quote"] = lease_termination_quote(lease=lease, effective=data["effective"])
        except ApplicationError as error:
            form_refusal(form, error)  # "Not after today." beside the date, the rule above it
            context["error"] = error.message
        else:
            if request.method == "POST":
                done = {"lease": termination.lease, "renewal": termination.cancelled_renewal}
                response = render(request, "leasing/console/_terminated.html", done)
                response["HX-Trigger"] = "leases-changed"
                return response
    return render(request, "leasing/console/_terminate.html", context)
