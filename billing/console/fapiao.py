"""The console's fapiao pages, through the same services as the API (billing/api/fapiao.py):
a tenant's billing profile (`billing_profile_save`), and finance's Fapiao queue: the month's
requests still without a number, with their totals in figures and capitals and links to the
request as JSON and CSV, a form per request to record the tax system's number
(`invoice_fapiao_record`, `credit_note_fapiao_record`), and the ones recorded."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Tenant
from billing.choices import CreditReason, FapiaoType
from billing.models import Invoice
from billing.selectors import credit_note_find, invoice_find
from billing.services import fapiao
from core import clock
from core.console import console_view, form_refusal
from core.exceptions import ApplicationError
from core.roles import Role

FINANCE = [Role.FINANCE, Role.ADMIN]

FAPIAO_TYPE_LABELS: dict[str, Promise] = {
    FapiaoType.ORDINARY: _("Ordinary fapiao (普票)"),
    FapiaoType.SPECIAL: _("Special VAT fapiao (专票)"),
}
REASON_LABELS: dict[str, Promise] = {
    CreditReason.ISSUED_IN_ERROR: _("Issued in error"),
    CreditReason.RETURNED: _("Returned"),
    CreditReason.SERVICE_STOPPED: _("Service stopped"),
    CreditReason.ALLOWANCE: _("Allowance"),
}


def _error_text(error: ApplicationError) -> str:
    details = [", ".join(str(m) for m in messages) for messages in error.fields.values()]
    return " ".join([error.message, *details])


# --- Billing profile (tenant) -----------------------------------------------------------------


class ProfileForm(forms.Form):
    """The billing profile's fields (BillingProfileSerializer's); the service checks the tax
    id's check digit and what a special fapiao needs."""

    invoice_title = forms.CharField(
        label=_("Invoice title (发票抬头)"),
        max_length=200,
        help_text=_("Your company's legal name, as on its business licence."),
    )
    tax_id = forms.CharField(
        label=_("Unified Social Credit Code (统一社会信用代码)"),
        max_length=24,
        help_text=_("18 characters; the last one is a check digit."),
    )
    fapiao_type = forms.ChoiceField(
        label=_("Fapiao type"),
        choices=list(FAPIAO_TYPE_LABELS.items()),
        initial=FapiaoType.ORDINARY,
        help_text=_("A special fapiao needs every field below."),
    )
    bank_name = forms.CharField(label=_("Bank"), max_length=100, required=False)
    bank_account = forms.CharField(label=_("Bank account"), max_length=40, required=False)
    registered_address = forms.CharField(
        label=_("Registered address"), max_length=300, required=False
    )
    registered_phone = forms.CharField(label=_("Registered phone"), max_length=40, required=False)
    email = forms.EmailField(
        label=_("Email"), required=False, help_text=_("Where the digital fapiao is sent.")
    )


def _profile_page(
    request: HttpRequest, tenant: Tenant, form: ProfileForm, error: str = ""
) -> HttpResponse:
    profile = fapiao.billing_profile_of(tenant)
    context = {
        "profile": profile,
        "type_label": FAPIAO_TYPE_LABELS.get(profile.fapiao_type, "") if profile else "",
        "form": form,
        "error": error,
    }
    return render(request, "billing/console/billing_profile.html", context)


@console_view(roles=[Role.TENANT])
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest, *, tenant: Tenant) -> HttpResponse:
    """The tenant's billing profile and the form that edits it (a whole profile each time, as
    PUT me/billing-profile/); refusals are shown by field, nothing saved."""
    if request.method == "GET":
        current = fapiao.billing_profile_of(tenant)
        initial = {name: getattr(current, name) for name in fapiao.PROFILE_FIELDS if current}
        return _profile_page(request, tenant, ProfileForm(initial=initial))
    form = ProfileForm(request.POST)
    if not form.is_valid():
        return _profile_page(request, tenant, form)
    try:
        fapiao.billing_profile_save(actor=request.user, tenant=tenant, data=form.cleaned_data)
    except ApplicationError as refusal:
        form_refusal(form, refusal)
        return _profile_page(request, tenant, form, refusal.message)
    messages.success(request, gettext("Billing profile saved."))
    return redirect("billing-console:billing-profile")


# --- Fapiao queue (finance) -------------------------------------------------------------------


class QueueMonthForm(forms.Form):
    month = forms.RegexField(regex=clock.MONTH_PATTERN, label=_("Month"), required=False)


class RecordForm(forms.Form):
    """The number the tax system gave and the fapiao's date (FapiaoRecordSerializer's)."""

    number = forms.RegexField(
        regex=r"^[0-9]{20}$",
        label=_("Fapiao number"),
        max_length=20,
        error_messages={"invalid": _("A fapiao number is 20 digits.")},
    )
    issued_on = forms.DateField(label=_("Fapiao date"))


def _record_initial() -> dict[str, Any]:
    return {"issued_on": clock.local_today()}


def _month_of(data: Any) -> tuple[dt.date, str]:
    """The month asked for (default: this one, operator time) and an error in words."""
    form = QueueMonthForm(data)
    this_month = clock.month_first(clock.local_today())
    if not form.is_valid():
        return this_month, str(_("The month must be YYYY-MM; showing this month."))
    text = form.cleaned_data["month"]
    return (clock.parse_month(text) if text else this_month), ""


def _queue_url(month: dt.date) -> str:
    return f"{reverse('billing-console:fapiao')}?{urlencode({'month': f'{month:%Y-%m}'})}"


def _request_row(requested: fapiao.FapiaoRequest, outcome: dict[str, Any]) -> dict[str, Any]:
    is_invoice = requested.document_type == "invoice"
    api = "invoices" if is_invoice else "credit-notes"
    json_url = f"/api/v1/{api}/{requested.document_id}/fapiao/"
    key = (requested.document_type, requested.document_id)
    mine = outcome.get("key") == key
    return {
        "request": requested,
        "key": f"{requested.document_type}-{requested.document_id}",
        "type_label": FAPIAO_TYPE_LABELS.get(requested.fapiao_type, requested.fapiao_type),
        "reason_label": REASON_LABELS.get(requested.reason_code or "", ""),
        "json_url": json_url,
        "csv_url": f"{json_url}?format=csv",
        "record_url": reverse(
            "billing-console:fapiao-invoice" if is_invoice else "billing-console:fapiao-credit",
            args=[requested.document_id],
        ),
        # each row's fields have ids of their own, so every label names its own input
        "form": outcome["form"]
        if mine and "form" in outcome
        else RecordForm(auto_id=f"id_{key[0]}_{key[1]}_%s", initial=_record_initial()),
        "error": outcome.get("error", "") if mine else "",
    }


def _queue_page(
    request: HttpRequest, month: dt.date, error: str = "", outcome: dict[str, Any] | None = None
) -> HttpResponse:
    outcome = outcome or {}
    pending = fapiao.fapiao_requests(month)
    recorded = fapiao.fapiao_requests(month, recorded=True)
    this_month = clock.month_first(clock.local_today())
    following = clock.next_month_first(month)
    month_text = f"{month:%Y-%m}"
    context = {
        "month": month,
        "month_text": month_text,
        "selection_error": error,
        "pending": [_request_row(r, outcome) for r in pending],
        "recorded": [_request_row(r, {}) for r in recorded],
        "export_url": f"{reverse('invoice-fapiao-export')}?{urlencode({'month': month_text})}",
        "previous_url": _queue_url(clock.add_months(month, -1)),
        "previous_text": f"{clock.add_months(month, -1):%Y-%m}",
        "next_url": _queue_url(following) if following <= this_month else "",
        "next_text": f"{following:%Y-%m}",
    }
    return render(request, "billing/console/fapiao.html", context)


@console_view(roles=FINANCE)
@require_GET
def queue(request: HttpRequest, *, tenant: Any) -> HttpResponse:
    """The month's fapiao requests: those still without a number (invoices issued and credit
    notes made in the month), each with a form to record it, then the recorded ones."""
    month, error = _month_of(request.GET)
    return _queue_page(request, month, error)


def _record(request: HttpRequest, key: tuple[str, int], act: Any) -> HttpResponse:
    month, _error = _month_of(request.POST)
    form = RecordForm(request.POST, auto_id=f"id_{key[0]}_{key[1]}_%s")
    if not form.is_valid():
        return _queue_page(request, month, outcome={"key": key, "form": form})
    try:
        number = act(form.cleaned_data)
    except ApplicationError as refusal:
        outcome = {"key": key, "form": form, "error": _error_text(refusal)}
        return _queue_page(request, month, outcome=outcome)
    messages.success(request, gettext("Fapiao %(number)s recorded.") % {"number": number})
    return redirect(_queue_url(month))


@console_view(roles=FINANCE)
@require_POST
def record_invoice(request: HttpRequest, pk: int, *, tenant: Any) -> HttpResponse:
    """Record an invoice's fapiao number (`invoice_fapiao_record`)."""
    invoice: Invoice | None = invoice_find(pk=pk)
    if invoice is None:
        raise Http404

    def act(data: dict[str, Any]) -> str:
        fapiao.invoice_fapiao_record(
            actor=request.user, invoice=invoice, number=data["number"], issued_on=data["issued_on"]
        )
        return str(data["number"])

    return _record(request, ("invoice", pk), act)


@console_view(roles=FINANCE)
@require_POST
def record_credit_note(request: HttpRequest, pk: int, *, tenant: Any) -> HttpResponse:
    """Record a credit note's red fapiao number (`credit_note_fapiao_record`)."""
    note = credit_note_find(pk=pk)
    if note is None:
        raise Http404

    def act(data: dict[str, Any]) -> str:
        fapiao.credit_note_fapiao_record(
            actor=request.user, note=note, number=data["number"], issued_on=data["issued_on"]
        )
        return str(data["number"])

    return _record(request, ("credit_note", pk), act)
