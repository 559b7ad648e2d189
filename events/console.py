"""The console's webhook and event pages.

- Webhooks (`/console/webhooks/`, tenant users): their endpoints (`endpoints_of`), one created
  with its signing secret shown once (`endpoint_create`), an endpoint's deliveries with status,
  attempts and next try (`deliveries_of`), its secret rotated after a confirmation
  (`endpoint_rotate_secret`, the new one shown once), it turned off or on (`endpoint_update`),
  and a failed delivery retried (`delivery_retry`).
- Events (`/console/events/`, staff): every event, newest first, filtered by type
  (`events_visible`).

The same services and selectors as the API's views; another tenant's endpoint is a 404 page.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Tenant
from core.console import console_view, refusal_text
from core.exceptions import ApplicationError
from core.roles import Role
from events import services
from events.choices import DeliveryStatus, EventType
from events.models import Delivery, WebhookEndpoint
from events.selectors import deliveries_of, endpoints_of, events_visible

PAGE_SIZE = 50
STAFF = [Role.OPERATOR, Role.FINANCE, Role.ADMIN]

DELIVERY_LABELS: dict[str, Promise] = {
    DeliveryStatus.PENDING: _("Pending"),
    DeliveryStatus.DELIVERED: _("Delivered"),
    DeliveryStatus.FAILED: _("Failed"),
}


class EndpointForm(forms.Form):
    url = forms.URLField(
        label=_("URL"),
        max_length=2000,
        assume_scheme="https",
        help_text=_("An https address on the public internet."),
    )
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label=_("Event types"),
        choices=EventType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every event type."),
    )


class RotateForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I understand the current secret stops working at once."), required=True
    )


class EventFilterForm(forms.Form):
    type = forms.ChoiceField(
        label=_("Type"),
        choices=[("", _("All types")), *EventType.choices],
        required=False,
    )


def _own_endpoint(tenant: Tenant, pk: int) -> WebhookEndpoint:
    endpoint = endpoints_of(tenant=tenant).filter(pk=pk).first()
    if endpoint is None:  # another tenant's endpoint is none of theirs: the 404 page
        raise Http404
    return endpoint


def _endpoints_page(
    request: HttpRequest, tenant: Tenant, form: EndpointForm, **extra: Any
) -> HttpResponse:
    context = {"endpoints": list(endpoints_of(tenant=tenant)), "form": form, **extra}
    return _secret_not_kept(render(request, "events/console/webhooks.html", context), extra)


def _secret_not_kept(response: HttpResponse, extra: dict[str, Any]) -> HttpResponse:
    """A page that shows a signing secret is not kept by the browser (its back button or its
    cache would show the secret again)."""
    if "created" in extra or "rotated" in extra:
        add_never_cache_headers(response)
    return response


@console_view(roles=[Role.TENANT])
@require_http_methods(["GET", "POST"])
def webhooks(request: HttpRequest, *, tenant: Tenant) -> HttpResponse:
    """GET: the tenant's endpoints and the form for a new one. POST: create it
    (`endpoint_create`); the page then shows its signing secret, once."""
    if request.method == "GET":
        return _endpoints_page(request, tenant, EndpointForm())
    form = EndpointForm(request.POST)
    if not form.is_valid():
        return _endpoints_page(request, tenant, form)
    try:
        endpoint = services.endpoint_create(actor=request.user, tenant=tenant, **form.cleaned_data)
    except ApplicationError as error:
        for field, errors in error.fields.items():
            if field in form.fields:
                for message in errors:
                    form.add_error(field, str(message))
        return _endpoints_page(request, tenant, form, error=refusal_text(error))
    return _endpoints_page(request, tenant, EndpointForm(), created=endpoint)


def _endpoint_page(request: HttpRequest, endpoint: WebhookEndpoint, **extra: Any) -> HttpResponse:
    page = Paginator(deliveries_of(endpoint=endpoint), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {"delivery": d, "label": DELIVERY_LABELS.get(d.status, d.status)} for d in page.object_list
    ]
    context: dict[str, Any] = {
        "endpoint": endpoint,
        "page": page,
        "rows": rows,
        "rotate_form": RotateForm(),
        **extra,
    }
    return _secret_not_kept(render(request, "events/console/endpoint.html", context), extra)


@console_view(roles=[Role.TENANT])
@require_GET
def endpoint(request: HttpRequest, pk: int, *, tenant: Tenant) -> HttpResponse:
    """One endpoint: its settings and its deliveries, newest first."""
    return _endpoint_page(request, _own_endpoint(tenant, pk))


@console_view(roles=[Role.TENANT])
@require_POST
def rotate(request: HttpRequest, pk: int, *, tenant: Tenant) -> HttpResponse:
    """A new signing secret after the confirmation (`endpoint_rotate_secret`), shown once."""
    endpoint = _own_endpoint(tenant, pk)
    form = RotateForm(request.POST)
    if not form.is_valid():
        return _endpoint_page(request, endpoint, rotate_form=form)
    endpoint = services.endpoint_rotate_secret(actor=request.user, endpoint=endpoint)
    return _endpoint_page(request, endpoint, rotated=endpoint)


@console_view(roles=[Role.TENANT])
@require_POST
def toggle(request: HttpRequest, pk: int, *, tenant: Tenant) -> HttpResponse:
    """Turn the endpoint off, or on again (which clears its record of failures). The button
    says which (`active`), so that a double click or a stale page's button does not undo the
    first; without it, the endpoint's state flips."""
    endpoint = _own_endpoint(tenant, pk)
    wanted = {"true": True, "false": False}.get(request.POST.get("active", ""))
    active = (not endpoint.active) if wanted is None else wanted
    if active != endpoint.active:
        services.endpoint_update(actor=request.user, endpoint=endpoint, active=active)
    return redirect("events-console:endpoint", pk=endpoint.pk)


@console_view(roles=[Role.TENANT])
@require_POST
def retry(request: HttpRequest, pk: int, delivery_id: int, *, tenant: Tenant) -> HttpResponse:
    """Retry a failed delivery (`delivery_retry`); a refusal is said in words."""
    endpoint = _own_endpoint(tenant, pk)
    delivery: Delivery | None = deliveries_of(endpoint=endpoint).filter(pk=delivery_id).first()
    if delivery is None:
        raise Http404
    try:
        services.delivery_retry(actor=request.user, delivery=delivery)
    except ApplicationError as error:
        messages.error(request, refusal_text(error))
    else:
        messages.success(request, _("The delivery will be tried again shortly."))
    return redirect("events-console:endpoint", pk=endpoint.pk)


OBJECT_LABELS: dict[str, Promise] = {
    "lease": _("Lease"),
    "invoice": _("Invoice"),
    "credit_note": _("Credit note"),
    "grant": _("Voucher grant"),
    "spend_limit": _("Budget"),
}


def _object_label(data: Any, event_type: str) -> str:
    """What an event is about, for a reader: "Lease 12", an invoice's number."""
    kind = OBJECT_LABELS.get(event_type.split(".", 1)[0], "")
    if not isinstance(data, dict):
        return str(kind)
    name = data.get("number") or data.get("id") or ""
    return f"{kind} {name}".strip()


@console_view(roles=STAFF)
@require_GET
def events(request: HttpRequest, *, tenant: None) -> HttpResponse:
    """Every event, newest first, filtered by type (`events_visible`, as GET /api/v1/events/)."""
    form = EventFilterForm(request.GET)
    chosen = form.cleaned_data["type"] if form.is_valid() else ""
    rows = events_visible(tenant=None)
    if chosen:
        rows = rows.filter(type=chosen)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = f"type={chosen}&" if chosen else ""
    context = {
        "form": form,
        "page": page,
        "rows": [{"event": e, "object": _object_label(e.data, e.type)} for e in page.object_list],
        "previous_url": f"?{query}page={page.previous_page_number()}"
        if page.has_previous()
        else "",
        "next_url": f"?{query}page={page.next_page_number()}" if page.has_next() else "",
    }
    return render(request, "events/console/events.html", context)
