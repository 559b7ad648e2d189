"""The console's Month end page for finance (and admin): a month's invoices by status with
their totals, and the month-end actions on them, through the same services as the API's views
(billing/api/views.py): the invoice run started on a worker (`invoice_run_start`, as
POST /api/v1/invoice-runs/?async=true), `invoice_issue`, `invoice_pay` (partial payments),
`invoice_void` and `credit_note_create` (with its red-letter reason). Reads go through
billing.selectors: drafts show their voucher preview (what issuing now would give), every invoice
its payments and balance.

Every action answers with the page's body again: the totals and the list as they now stand, the
outcome or the refusal in words beside the invoice it concerns. A run started, and a run polled
to its end, send the `month-end-changed` event, on which the body reloads."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from billing.choices import CreditReason, InvoiceStatus, RunStatus
from billing.models import Invoice, InvoiceRun
from billing.selectors import (
    credit_notes_of_month,
    invoice_find,
    invoice_run_find,
    invoice_run_latest,
    invoice_totals_by_status,
    invoices_of_month,
    invoices_preview_fill,
    with_balances,
)
from billing.services import invoicing
from core import clock
from core.console import console_view, refusal_text
from core.exceptions import ApplicationError
from core.roles import Role

ROLES = [Role.FINANCE, Role.ADMIN]
PAGE_SIZE = 50  # invoices a page: a month may hold one per tenant, thousands
CHANGED = "month-end-changed"  # the HX-Trigger event: the page's body reloads on it

STATUS_LABELS: dict[str, Promise] = {
    InvoiceStatus.DRAFT: _("Draft"),
    InvoiceStatus.ISSUED: _("Issued"),
    InvoiceStatus.PAID: _("Paid"),
    InvoiceStatus.VOID: _("Void"),
}
RUN_LABELS: dict[str, Promise] = {
    RunStatus.RUNNING: _("Running…"),
    RunStatus.DONE: _("Done"),
    RunStatus.FAILED: _("Failed"),
}


# --- Forms ------------------------------------------------------------------------------------


class MonthForm(forms.Form):
    """Which month the page shows (`YYYY-MM`) and which statuses (none: every one)."""

    month = forms.RegexField(regex=clock.MONTH_PATTERN, label=_("Month"), required=False)
    status = forms.ChoiceField(
        choices=[("", _("All")), *STATUS_LABELS.items()], label=_("Status"), required=False
    )


class PayForm(forms.Form):
    """A payment received (InvoicePaySerializer's fields): the amount (the whole balance if
    empty), the day (today if empty) and the bank's reference."""

    amount = forms.DecimalField(
        label=_("Amount"),
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
    )
    paid_on = forms.DateField(label=_("Paid on"), required=False)
    reference = forms.CharField(label=_("Reference"), max_length=100, required=False)


class VoidForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500)


CREDIT_REASON_LABELS: dict[str, Promise] = {
    CreditReason.ISSUED_IN_ERROR: _("Issued in error"),
    CreditReason.RETURNED: _("Returned"),
    CreditReason.SERVICE_STOPPED: _("Service stopped"),
    CreditReason.ALLOWANCE: _("Allowance"),
}


class CreditForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount"), max_digits=14, decimal_places=2, min_value=Decimal("0.01")
    )
    reason_code = forms.ChoiceField(
        label=_("Red-letter reason"), choices=list(CREDIT_REASON_LABELS.items())
    )
    reason = forms.CharField(label=_("Reason"), max_length=500)


class RunForm(forms.Form):
    month = forms.RegexField(regex=clock.MONTH_PATTERN, label=_("Month"))


# --- Helpers ----------------------------------------------------------------------------------


def default_month() -> dt.date:
    """The last finished month in operator time."""
    return clock.add_months(clock.month_first(clock.local_today()), -1)


def _month_text(month: dt.date) -> str:
    return f"{month:%Y-%m}"


def _page_url(month: dt.date, status: str = "", page: int = 1) -> str:
    query = {
        "month": _month_text(month),
        **({"status": status} if status else {}),
        **({"page": str(page)} if page > 1 else {}),
    }
    return f"{reverse('billing-console:month-end')}?{urlencode(query)}"


def _selection(data: Any) -> tuple[dt.date, str, str]:
    """(month, status, error) from a query or a form body: a bad month is the default one,
    said so in words."""
    form = MonthForm(data)
    if not form.is_valid():
        return default_month(), "", str(_("The month must be YYYY-MM; showing the last one."))
    text = form.cleaned_data["month"]
    month = clock.parse_month(text) if text else default_month()
    return month, form.cleaned_data["status"], ""


def _row(invoice: Invoice) -> dict[str, Any]:
    status = invoice.status
    return {
        "invoice": invoice,
        "status_label": STATUS_LABELS.get(status, status),
        "can_issue": status == InvoiceStatus.DRAFT,
        "can_pay": status == InvoiceStatus.ISSUED and getattr(invoice, "balance", 0) > 0,
        # a recorded fapiao is corrected by a credit note, never by voiding
        "can_void": status == InvoiceStatus.ISSUED and not invoice.fapiao_number,
        "can_credit": status in {InvoiceStatus.ISSUED, InvoiceStatus.PAID},
    }


def _run_context(run: InvoiceRun | None, month: dt.date) -> dict[str, Any]:
    return {
        "run": run,
        "run_month": _month_text(month),
        "can_run": month <= clock.month_first(clock.local_today()),
        "run_label": RUN_LABELS.get(run.status, run.status) if run else "",
        "running": run is not None and run.status == RunStatus.RUNNING,
    }


def _body_context(
    month: dt.date, status: str, page_number: Any = None, outcome: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The totals and one page of the month's list (filtered by `status`), and an action's
    outcome."""
    totals = invoice_totals_by_status(month=month)
    run = invoice_run_latest(month=month)
    invoices = with_balances(invoices_of_month(month=month, statuses=[status] if status else None))
    page = Paginator(invoices, PAGE_SIZE).get_page(page_number)
    page.object_list = list(page.object_list)
    invoices_preview_fill(page.object_list)  # drafts: what issuing them now would give
    return {
        "page": page,
        "previous_page_url": (
            _page_url(month, status, page.previous_page_number()) if page.has_previous() else ""
        ),
        "next_page_url": (
            _page_url(month, status, page.next_page_number()) if page.has_next() else ""
        ),
        "month": month,
        "month_text": _month_text(month),
        "status": status,
        "totals": totals,
        "status_rows": [
            {
                **vars(row),
                "balance": row.balance,
                "label": STATUS_LABELS[row.status],
                "url": _page_url(month, row.status),
            }
            for row in totals.by_status
        ],
        "rows": [_row(invoice) for invoice in page],
        "credit_notes": [
            {"note": note, "reason_label": CREDIT_REASON_LABELS.get(note.reason_code, "")}
            for note in credit_notes_of_month(month=month)
        ],
        "drafts": next(row.count for row in totals.by_status if row.status == "draft"),
        "page_url": _page_url(month, status, page.number),
        "all_url": _page_url(month),
        "outcome": outcome or {},
        "credit_reasons": list(CREDIT_REASON_LABELS.items()),
        "export_url": f"{reverse('invoice-export')}?{urlencode({'month': _month_text(month)})}",
        "can_run": month <= clock.month_first(clock.local_today()),
        "latest_run": run,
        "run_running": run is not None and run.status == RunStatus.RUNNING,
    }


def _body(request: HttpRequest, outcome: dict[str, Any]) -> HttpResponse:
    """The page's body again after an action: the totals and the list as they now stand, the
    outcome (or the refusal) beside the invoice it concerns."""
    month, status, _error = _selection(request.POST)
    context = _body_context(month, status, request.POST.get("page"), outcome)
    return render(request, "billing/console/_month_body.html", context)


def _invoice(pk: int) -> Invoice:
    invoice = invoice_find(pk=pk)
    if invoice is None:
        raise Http404
    return invoice


# --- Pages ------------------------------------------------------------------------------------


@console_view(roles=ROLES)
@require_GET
def month_end(request: HttpRequest, *, tenant: Any) -> HttpResponse:
    """The month's invoices by status with their totals; an htmx request (the body reloading
    after an action or a run) gets the body alone."""
    month, status, error = _selection(request.GET)
    context = _body_context(month, status, request.GET.get("page"))
    if getattr(request, "htmx", False):
        return render(request, "billing/console/_month_body.html", context)
    this_month = clock.month_first(clock.local_today())
    following = clock.next_month_first(month) if month.year < dt.MAXYEAR else month
    context.update(
        _run_context(context["latest_run"], month),
        selection_error=error,
        previous_url=_page_url(clock.add_months(month, -1), status),
        next_url=_page_url(following, status) if following <= this_month else "",
        previous_text=_month_text(clock.add_months(month, -1)),
        next_text=_month_text(following),
    )
    return render(request, "billing/console/month_end.html", context)


@console_view(roles=ROLES)
@require_POST
def run_start(request: HttpRequest, *, tenant: Any) -> HttpResponse:
    """Start the month's invoice run on a worker (`invoice_run_start`); the run's panel,
    polling while it runs. A refusal (a month not begun, the queue away) is said in words."""
    form = RunForm(request.POST)
    context: dict[str, Any] = {}
    if not form.is_valid():
        context["run_error"] = _("The month must be YYYY-MM.")
        context.update(_run_context(invoice_run_latest(month=default_month()), default_month()))
        return render(request, "billing/console/_run.html", context)
    month = clock.parse_month(form.cleaned_data["month"])
    try:
        run = invoicing.invoice_run_start(month=month, actor=request.user)
    except ApplicationError as error:
        context.update(_run_context(invoice_run_latest(month=month), month))
        context["run_error"] = refusal_text(error)
        return render(request, "billing/console/_run.html", context)
    response = render(request, "billing/console/_run.html", _run_context(run, month))
    response["HX-Trigger"] = CHANGED  # the body says a run is under way
    return response


@console_view(roles=ROLES)
@require_GET
def run_status(request: HttpRequest, pk: int, *, tenant: Any) -> HttpResponse:
    """The run's panel (polled while it runs). A run polled to its end sends `month-end-changed`,
    so the body shows the drafts it made."""
    run = invoice_run_find(pk=pk)
    if run is None:
        raise Http404
    response = render(request, "billing/console/_run.html", _run_context(run, run.month))
    if request.GET.get("poll") and run.status != RunStatus.RUNNING:
        response["HX-Trigger"] = CHANGED
    return response


@console_view(roles=ROLES)
@require_POST
def issue(request: HttpRequest, pk: int, *, tenant: Any) -> HttpResponse:
    invoice = _invoice(pk)
    try:
        invoice = invoicing.invoice_issue(actor=request.user, invoice=invoice)
    except ApplicationError as error:
        return _body(request, {"invoice": pk, "error": refusal_text(error)})
    message = _("Issued as %(number)s.") % {"number": invoice.number}
    return _body(request, {"invoice": pk, "message": message})


@console_view(roles=ROLES)
@require_POST
def issue_all(request: HttpRequest, *, tenant: Any) -> HttpResponse:
    """Issue every draft of the month, each through `invoice_issue` in its own transaction (as
    one POST /api/v1/invoices/<pk>/issue/ each); the refused ones are named with their reason."""
    month, _status, _error = _selection(request.POST)
    issued, refused = 0, []
    for invoice in invoices_of_month(month=month, statuses=[InvoiceStatus.DRAFT]):
        try:
            invoicing.invoice_issue(actor=request.user, invoice=invoice)
        except ApplicationError as error:
            refused.append(f"{invoice.tenant.name}: {refusal_text(error)}")
        else:
            issued += 1
    outcome: dict[str, Any] = {"all": True}
    if issued:
        outcome["message"] = _("%(count)d draft(s) issued.") % {"count": issued}
    if refused:
        outcome["error"] = " ".join(refused)
    if not issued and not refused:
        outcome["error"] = _("There are no drafts to issue.")
    return _body(request, outcome)


def _form_action(request: HttpRequest, pk: int, name: str, form: forms.Form, act: Any) -> Any:
    invoice = _invoice(pk)
    if not form.is_valid():
        return _body(request, {"invoice": pk, "action": name, "form": form})
    try:
        message = act(invoice, form.cleaned_data)
    except ApplicationError as error:
        outcome = {"invoice": pk, "action": name, "form": form, "error": refusal_text(error)}
        return _body(request, outcome)
    return _body(request, {"invoice": pk, "message": message})


@console_view(roles=ROLES)
@require_POST
def pay(request: HttpRequest, pk: int, *, tenant: Any) -> HttpResponse:
    """Record the invoice's payment (`invoice_pay`)."""

    def act(invoice: Invoice, data: dict[str, Any]) -> str:
        paid = invoicing.invoice_pay(
            actor=request.user,
            invoice=invoice,
            amount=data.get("amount"),
            paid_on=data.get("paid_on"),
            reference=data.get("reference", ""),
        )
        if paid.status == InvoiceStatus.PAID:
            return str(_("Payment recorded; the invoice is paid."))
        return str(_("Payment recorded."))

    return _form_action(request, pk, "pay", PayForm(request.POST), act)


@console_view(roles=ROLES)
@require_POST
def void(request: HttpRequest, pk: int, *, tenant: Any) -> HttpResponse:
    """Void an issued invoice with a reason (`invoice_void`)."""

    def act(invoice: Invoice, data: dict[str, Any]) -> str:
        invoicing.invoice_void(actor=request.user, invoice=invoice, reason=data["reason"])
        return str(_("Voided."))

    return _form_action(request, pk, "void", VoidForm(request.POST), act)


@console_view(roles=ROLES)
@require_POST
def credit(request: HttpRequest, pk: int, *, tenant: Any) -> HttpResponse:
    """A credit note against an issued or paid invoice (`credit_note_create`)."""

    def act(invoice: Invoice, data: dict[str, Any]) -> str:
        note = invoicing.credit_note_create(
            actor=request.user,
            invoice=invoice,
            amount=data["amount"],
            reason=data["reason"],
            reason_code=data["reason_code"],
        )
        return str(_("Credit note %(number)s created.") % {"number": note.number})

    return _form_action(request, pk, "credit", CreditForm(request.POST), act)
