"""The console's Vouchers page (算力券).

Finance (and admin): the programmes with budget, granted, redeemed and what is left; a
programme's grants, a grant form and its claims month by month; a claim's redemptions, its CSV
and its moves draft → submitted → reimbursed, each row with its evidence (tax id, fapiao
number, leases, card-hours, payment); a form for a new programme, an edit form, the close action
and a grant's revoke page. Tenant users: their own grants with balances and the redemptions on
their invoices; another tenant's grant, or a programme they hold no grant of, is the 404 page.
The same services and selectors as the API's views (`voucher_program_create`,
`voucher_program_update`, `voucher_program_close`, `voucher_grant_create`,
`voucher_grant_revoke`, `voucher_claim_get`, `voucher_claim_advance`, `claim_csv`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Tenant
from billing import documents
from billing.choices import ClaimStatus
from billing.models import VoucherGrant, VoucherProgram
from billing.services import vouchers
from core import clock
from core.console import console_view, form_refusal, refusal_text
from core.downloads import csv_response
from core.exceptions import ApplicationError
from core.roles import Role
from leasing.choices import LeaseKind
from leasing.selectors import card_models_offered

STAFF = [Role.FINANCE, Role.ADMIN]
EVERYONE = [Role.TENANT, Role.FINANCE, Role.ADMIN]

CLAIM_STATUS_LABELS: dict[str, Promise] = {
    ClaimStatus.DRAFT: _("Draft"),
    ClaimStatus.SUBMITTED: _("Submitted"),
    ClaimStatus.REIMBURSED: _("Reimbursed"),
}
# what the claim's one action does next, by its status
CLAIM_ACTIONS: dict[str, tuple[str, Promise]] = {
    ClaimStatus.DRAFT: (ClaimStatus.SUBMITTED, _("Submit to the issuer")),
    ClaimStatus.SUBMITTED: (ClaimStatus.REIMBURSED, _("Mark reimbursed")),
}
VALIDITY_LABELS: dict[str, Promise] = {
    "upcoming": _("Upcoming"),
    "current": _("Current"),
    "expired": _("Expired"),
}
LEASE_KIND_LABELS: dict[str, Promise] = {
    LeaseKind.LONG: _("Long lease"),
    LeaseKind.SHORT: _("Short lease"),
}


# --- Forms ----------------------------------------------------------------------------------


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class ProgramForm(forms.Form):
    """A new programme, as POST /api/v1/voucher-programs/ takes it (the share in per cent)."""

    issuer = forms.CharField(label=_("Issuer"), max_length=120, help_text=_("e.g. a city"))
    name = forms.CharField(label=_("Programme name"), max_length=200)
    budget = forms.DecimalField(label=_("Budget (¥)"), min_value=0, max_digits=14, decimal_places=2)
    coverage_percent = forms.DecimalField(
        label=_("Share of the bill covered (%)"),
        min_value=Decimal("0.01"),
        max_value=100,
        max_digits=6,
        decimal_places=2,
    )
    per_tenant_cap = forms.DecimalField(
        label=_("Per-tenant cap (¥)"), min_value=0, max_digits=14, decimal_places=2
    )
    valid_from = forms.DateField(label=_("Valid from"), widget=DateInput())
    valid_to = forms.DateField(label=_("Valid to (inclusive)"), widget=DateInput())
    lease_kinds = forms.MultipleChoiceField(
        label=_("Lease kinds"),
        choices=list(LEASE_KIND_LABELS.items()),
        initial=list(LEASE_KIND_LABELS),
        widget=forms.CheckboxSelectMultiple,
    )
    card_models = forms.ModelMultipleChoiceField(
        label=_("Card models"),
        queryset=card_models_offered(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every card model."),
    )
    max_term_months = forms.IntegerField(
        label=_("Longest contract term covered (months)"),
        min_value=1,
        max_value=32767,
        required=False,
        help_text=_("Empty: any term."),
    )
    requires_payment = forms.BooleanField(
        label=_("Claim only paid invoices"),
        required=False,
        help_text=_("A redemption enters the claim once its invoice is paid in full."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("valid_from")
            and data.get("valid_to")
            and data["valid_to"] < data["valid_from"]
        ):
            self.add_error("valid_to", _("The end is before the start."))
        return data

    def service_fields(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        percent = data.pop("coverage_percent")
        data["coverage_rate"] = (percent / 100).quantize(Decimal("0.0001"))
        return data


class GrantForm(forms.Form):
    """A grant of a programme to a tenant, as POST /api/v1/voucher-grants/ takes it."""

    tenant = forms.ModelChoiceField(
        label=_("Tenant"), queryset=vouchers.voucher_grantable_tenants(), empty_label=None
    )
    amount = forms.DecimalField(
        label=_("Amount (¥)"), min_value=Decimal("0.01"), max_digits=14, decimal_places=2
    )
    valid_from = forms.DateField(
        label=_("Valid from"),
        widget=DateInput(),
        required=False,
        help_text=_("Empty: the programme's."),
    )
    valid_to = forms.DateField(
        label=_("Valid to (inclusive)"),
        widget=DateInput(),
        required=False,
        help_text=_("Empty: the programme's."),
    )


class ProgramEditForm(forms.Form):
    """What the console edits of a programme (`voucher_program_update`): who pays, its name and
    figures, its window and whether claims wait for payment. Its rates and eligibility are set
    when it is created (the API edits them until it first redeems)."""

    issuer = forms.CharField(label=_("Issuer"), max_length=120)
    name = forms.CharField(label=_("Programme name"), max_length=200)
    budget = forms.DecimalField(
        label=_("Budget (¥)"),
        min_value=0,
        max_digits=14,
        decimal_places=2,
        help_text=_("Never below what is granted."),
    )
    per_tenant_cap = forms.DecimalField(
        label=_("Per-tenant cap (¥)"), min_value=0, max_digits=14, decimal_places=2
    )
    valid_from = forms.DateField(label=_("Valid from"), widget=DateInput())
    valid_to = forms.DateField(label=_("Valid to (inclusive)"), widget=DateInput())
    requires_payment = forms.BooleanField(
        label=_("Claim only paid invoices"),
        required=False,
        help_text=_("A redemption enters the claim once its invoice is paid in full."),
    )

    @classmethod
    def of(cls, program: VoucherProgram, data: Any = None) -> ProgramEditForm:
        initial = {name: getattr(program, name) for name in cls.base_fields}
        return cls(data, initial=initial)


class GrantRevokeForm(forms.Form):
    """Revoke a grant (`voucher_grant_revoke`)."""

    reason = forms.CharField(
        label=_("Reason"), max_length=500, required=False, help_text=_("Kept in the audit log.")
    )


class ClaimMonthForm(forms.Form):
    """Open a month's claim (GET)."""

    month = forms.CharField(
        label=_("Month"), widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"})
    )


class ClaimActionForm(forms.Form):
    """Move a claim on: submitted, then reimbursed."""

    status = forms.ChoiceField(
        label=_("Action"),
        choices=[(ClaimStatus.SUBMITTED, _("Submit")), (ClaimStatus.REIMBURSED, _("Reimbursed"))],
    )


# --- Rows -----------------------------------------------------------------------------------


def _percent(rate: Decimal) -> str:
    """0.2000 → "20 %", 0.3333 → "33.33 %"."""
    value = (rate * 100).quantize(Decimal("0.01")).normalize()
    return f"{value:f} %"


def _validity(valid_from: dt.date, valid_to: dt.date, today: dt.date) -> dict[str, Any]:
    state = "upcoming" if today < valid_from else "expired" if today > valid_to else "current"
    return {"state": state, "label": VALIDITY_LABELS[state]}


def _share(program: VoucherProgram) -> dict[str, Any]:
    """The programme's share of the bill: its rate and its card models' own rates."""
    return {
        "rate": _percent(program.coverage_rate),
        "model_rates": [
            {"card_model": rate.card_model.name, "rate": _percent(rate.rate)}
            for rate in program.model_rates.all()
        ],
    }


def _program_row(program: Any, today: dt.date) -> dict[str, Any]:
    return {
        "program": program,
        "share": _share(program),
        "validity": _validity(program.valid_from, program.valid_to, today),
        "card_models": [model.name for model in program.card_models.all()],
        "lease_kinds": [LEASE_KIND_LABELS.get(kind, kind) for kind in program.lease_kinds],
    }


def _grant_row(grant: VoucherGrant, today: dt.date, *, share: bool = True) -> dict[str, Any]:
    """A grant as a row; with its programme's share when its rates were prefetched."""
    return {
        "grant": grant,
        "validity": _validity(grant.valid_from, grant.valid_to, today),
        "share": _share(grant.program) if share else None,
    }


def _claim_label(status: str) -> Promise | str:
    return CLAIM_STATUS_LABELS.get(status, status)


def _claim_row(row: vouchers.ClaimRow) -> dict[str, Any]:
    """A claim row with its leases' kinds in words."""
    return {
        "row": row,
        "leases": [
            {"lease": lease, "kind": LEASE_KIND_LABELS.get(lease.kind, lease.kind)}
            for lease in row.leases
        ],
    }


def _program_or_404(pk: int) -> Any:
    program = vouchers.voucher_programs_with_totals().filter(pk=pk).first()
    if program is None:
        raise Http404
    return program


# --- Pages ----------------------------------------------------------------------------------


@console_view(roles=EVERYONE)
@require_GET
def index(request: HttpRequest, *, tenant: Tenant | None) -> HttpResponse:
    """Finance: the programmes and their figures. A tenant user: their grants and redemptions."""
    today = clock.local_today()
    if tenant is not None:
        grants = [_grant_row(grant, today) for grant in vouchers.voucher_grants(tenant=tenant)]
        redemptions = list(vouchers.voucher_redemptions_of(tenant=tenant))
        current = [row["grant"] for row in grants if row["validity"]["state"] == "current"]
        context = {
            "grants": grants,
            "redemptions": redemptions,
            "balance": sum((g.remaining for g in current), Decimal("0.00")),
        }
        return render(request, "billing/console/vouchers_tenant.html", context)
    rows = [_program_row(program, today) for program in vouchers.voucher_programs_with_totals()]
    totals = {
        key: sum((getattr(row["program"], key) for row in rows), Decimal("0.00"))
        for key in ("budget", "granted", "redeemed", "left_to_grant", "unredeemed")
    }
    return render(request, "billing/console/vouchers.html", {"rows": rows, "totals": totals})


@console_view(roles=STAFF)
@require_http_methods(["GET", "POST"])
def program_new(request: HttpRequest, *, tenant: None) -> HttpResponse:
    """A new programme (`voucher_program_create`)."""
    form = ProgramForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            program = vouchers.voucher_program_create(actor=request.user, **form.service_fields())
        except ApplicationError as refusal:
            error = refusal_text(refusal)
        else:
            messages.success(
                request, gettext("Programme “%(name)s” created.") % {"name": program.name}
            )
            return redirect("billing-console:voucher-program", pk=program.pk)
    return render(
        request, "billing/console/voucher_program_new.html", {"form": form, "error": error}
    )


def _program_page(
    request: HttpRequest,
    program: Any,
    *,
    grant_form: GrantForm | None = None,
    grant_error: str | None = None,
) -> HttpResponse:
    today = clock.local_today()
    months = vouchers.voucher_claim_months(program=program)
    context = {
        "row": _program_row(program, today),
        "program": program,
        "grants": [
            _grant_row(grant, today, share=False)
            for grant in vouchers.voucher_grants_of_program(program=program)
        ],
        "claims": [{"claim": month, "label": _claim_label(month.status)} for month in months],
        "grant_form": grant_form or GrantForm(),
        "grant_error": grant_error,
        "month_form": ClaimMonthForm(
            initial={"month": f"{clock.month_first(today) - dt.timedelta(days=1):%Y-%m}"}
        ),
    }
    return render(request, "billing/console/voucher_program.html", context)


@console_view(roles=EVERYONE)
@require_GET
def program_detail(request: HttpRequest, pk: int, *, tenant: Tenant | None) -> HttpResponse:
    """Finance: the programme's figures, grants (and a grant form) and claims. A tenant user:
    the programme's terms and their own grants of it (none: the 404 page)."""
    if tenant is not None:
        today = clock.local_today()
        grants = [
            _grant_row(grant, today)
            for grant in vouchers.voucher_grants(tenant=tenant).filter(program_id=pk)
        ]
        if not grants:  # not a programme of theirs
            raise Http404
        program = grants[0]["grant"].program
        context = {"row": _program_row(program, today), "program": program, "grants": grants}
        return render(request, "billing/console/voucher_program_tenant.html", context)
    return _program_page(request, _program_or_404(pk))


@console_view(roles=STAFF)
@require_POST
def grant_new(request: HttpRequest, pk: int, *, tenant: None) -> HttpResponse:
    """Grant vouchers of a programme to a tenant (`voucher_grant_create`): within its window,
    budget and per-tenant cap; a refusal in words beside the form, nothing granted."""
    program = _program_or_404(pk)
    form = GrantForm(request.POST)
    if not form.is_valid():
        return _program_page(request, program, grant_form=form)
    data = form.cleaned_data
    try:
        grant = vouchers.voucher_grant_create(
            actor=request.user,
            program=program,
            tenant=data["tenant"],
            amount=data["amount"],
            valid_from=data["valid_from"],
            valid_to=data["valid_to"],
        )
    except ApplicationError as refusal:
        form_refusal(form, refusal)
        return _program_page(request, program, grant_form=form, grant_error=refusal.message)
    messages.success(
        request,
        gettext("%(amount)s granted to %(tenant)s.")
        % {"amount": f"¥{grant.amount:,.2f}", "tenant": grant.tenant.name},
    )
    return redirect("billing-console:voucher-program", pk=program.pk)


@console_view(roles=STAFF)
@require_http_methods(["GET", "POST"])
def claim(request: HttpRequest, pk: int, *, tenant: None) -> HttpResponse:
    """A programme's claim for `?month=YYYY-MM` (`voucher_claim_get`): its redemptions, its CSV
    (`&format=csv`, the API's document) and a POST moving it on (`voucher_claim_advance`)."""
    program = _program_or_404(pk)
    try:
        month = clock.parse_month(request.GET.get("month", ""))
    except ValueError:
        messages.error(request, gettext("Choose a month as YYYY-MM."))
        return redirect("billing-console:voucher-program", pk=program.pk)
    url = f"{reverse('billing-console:voucher-claim', args=[program.pk])}?month={month:%Y-%m}"
    error = None
    if request.method == "POST":
        form = ClaimActionForm(request.POST)
        if form.is_valid():
            try:
                vouchers.voucher_claim_advance(
                    actor=request.user,
                    program=program,
                    month=month,
                    status=form.cleaned_data["status"],
                )
            except ApplicationError as refusal:
                error = refusal_text(refusal)
            else:
                messages.success(
                    request,
                    gettext("The claim is now %(status)s.")
                    % {"status": _claim_label(form.cleaned_data["status"])},
                )
                return redirect(url)
        else:
            error = gettext("Choose what to do with the claim.")
    claim = vouchers.voucher_claim_get(program=program, month=month)
    if request.GET.get("format") == "csv":
        return csv_response(documents.claim_csv(claim), f"claim-{program.pk}-{month:%Y-%m}.csv")
    action = CLAIM_ACTIONS.get(claim.status)
    context = {
        "program": program,
        "claim": claim,
        "rows": [_claim_row(row) for row in claim.rows],
        "status_label": _claim_label(claim.status),
        "action": {"status": action[0], "label": action[1]} if action else None,
        "error": error,
        "url": url,
    }
    return render(request, "billing/console/voucher_claim.html", context)


@console_view(roles=EVERYONE)
@require_GET
def grant_detail(request: HttpRequest, pk: int, *, tenant: Tenant | None) -> HttpResponse:
    """A grant and its redemptions: a tenant user's own only (another's: the 404 page)."""
    if tenant is not None:
        grant = vouchers.voucher_grants(tenant=tenant).filter(pk=pk).first()
    else:
        grant = vouchers.voucher_grants(tenant=None).filter(pk=pk).first()
    if grant is None:
        raise Http404
    context = {
        "row": _grant_row(grant, clock.local_today()),
        "grant": grant,
        "redemptions": list(vouchers.voucher_redemptions_of(grant=grant)),
        "staff": tenant is None,
    }
    return render(request, "billing/console/voucher_grant.html", context)


@console_view(roles=STAFF)
@require_http_methods(["GET", "POST"])
def program_edit(request: HttpRequest, pk: int, *, tenant: None) -> HttpResponse:
    """Edit a programme (`voucher_program_update`, as PATCH /api/v1/voucher-programs/{id}/):
    only what changed is sent; a refusal in words beside the form, nothing changed."""
    program = _program_or_404(pk)
    if program.closed_at is not None:
        messages.error(request, gettext("The programme is closed: it is no longer edited."))
        return redirect("billing-console:voucher-program", pk=program.pk)
    form = ProgramEditForm.of(program, request.POST if request.method == "POST" else None)
    error = None
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        try:
            vouchers.voucher_program_update(actor=request.user, program=program, **changes)
        except ApplicationError as refusal:
            form_refusal(form, refusal)
            error = refusal.message
        else:
            messages.success(request, gettext("Programme saved."))
            return redirect("billing-console:voucher-program", pk=program.pk)
    context = {"program": program, "form": form, "error": error}
    return render(request, "billing/console/voucher_program_edit.html", context)


@console_view(roles=STAFF)
@require_POST
def program_close(request: HttpRequest, pk: int, *, tenant: None) -> HttpResponse:
    """Close a programme (`voucher_program_close`): no new grants, nothing more redeemed."""
    program = _program_or_404(pk)
    try:
        vouchers.voucher_program_close(actor=request.user, program=program)
    except ApplicationError as refusal:
        messages.error(request, refusal_text(refusal))
    else:
        messages.success(
            request,
            gettext("“%(name)s” is closed: it takes no new grants and redeems nothing more.")
            % {"name": program.name},
        )
    return redirect("billing-console:voucher-program", pk=program.pk)


@console_view(roles=STAFF)
@require_http_methods(["GET", "POST"])
def grant_revoke(request: HttpRequest, pk: int, *, tenant: None) -> HttpResponse:
    """Revoke a grant (`voucher_grant_revoke`): GET asks, showing what goes back to the
    programme's budget; POST revokes. Its redemptions stay."""
    grant = vouchers.voucher_grants(tenant=None).filter(pk=pk).first()
    if grant is None:
        raise Http404
    back = redirect("billing-console:voucher-grant", pk=grant.pk)
    if grant.revoked_at is not None:
        messages.error(request, gettext("This grant is revoked already."))
        return back
    form = GrantRevokeForm(request.POST if request.method == "POST" else None)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            grant = vouchers.voucher_grant_revoke(
                actor=request.user, grant=grant, reason=form.cleaned_data["reason"]
            )
        except ApplicationError as refusal:
            error = refusal_text(refusal)
        else:
            messages.success(
                request,
                gettext("Grant revoked: %(amount)s went back to the programme's budget.")
                % {"amount": f"¥{grant.released:,.2f}"},
            )
            return back
    context = {
        "grant": grant,
        "release": grant.amount - grant.redeemed,
        "form": form,
        "error": error,
    }
    return render(request, "billing/console/voucher_grant_revoke.html", context)
