"""The console's Budget page: the tenant's spend limit and its month so far, through the same
services as the API (billing/api/budgets.py): `budget_save` (as PUT me/budget/) and
`tenant_spend` (what GET me/budget/ shows)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from accounts.models import Tenant
from billing.models import BudgetAction
from billing.services import spend
from core.console import console_view, form_refusal
from core.exceptions import ApplicationError
from core.roles import Role

ACTION_LABELS = {
    BudgetAction.NOTIFY: _("Notify me only"),
    BudgetAction.STOP: _("Stop my short leases and refuse new leases"),
}


class BudgetForm(forms.Form):
    monthly_limit = forms.DecimalField(
        label=_("Monthly limit (CNY)"),
        max_digits=14,
        decimal_places=2,
        help_text=_("Charges before tax and vouchers, per calendar month."),
    )
    warn_at = forms.CharField(
        label=_("Warn at (percent of the limit)"),
        initial="50, 80",
        required=False,
        help_text=_("Percentages, separated by commas, e.g. 50, 80."),
    )
    action = forms.ChoiceField(
        label=_("When the limit is reached"),
        choices=list(ACTION_LABELS.items()),
        initial=BudgetAction.NOTIFY,
    )

    def clean_warn_at(self) -> list[Decimal]:
        text = self.cleaned_data["warn_at"].strip()
        if not text:
            return []
        try:
            return [Decimal(part.strip()) / 100 for part in text.split(",") if part.strip()]
        except InvalidOperation:
            raise forms.ValidationError(gettext("Percentages only, separated by commas.")) from None


def _percent(share: Decimal) -> str:
    return f"{(share * 100).normalize():f}"


def _page(request: HttpRequest, tenant: Tenant, form: BudgetForm, error: str = "") -> HttpResponse:
    budget = spend.budget_of(tenant)
    row = spend.tenant_spend(tenant) if budget is not None else None
    used = 0
    if row is not None:
        used = min(100, int(row.spend * 100 / row.monthly_limit))
    context: dict[str, Any] = {
        "budget": budget,
        "row": row,
        "used_percent": used,
        "warn_percents": [_percent(share) for share in budget.warn_at] if budget else [],
        "action_label": ACTION_LABELS.get(budget.action, "") if budget else "",  # type: ignore[call-overload]
        "form": form,
        "error": error,
    }
    return render(request, "billing/console/budget.html", context)


@console_view(roles=[Role.TENANT])
@require_http_methods(["GET", "POST"])
def budget(request: HttpRequest, *, tenant: Tenant) -> HttpResponse:
    """The tenant's spend limit, its month so far (spend, remaining, burn, runway, projected)
    and the form that sets it (a whole budget each time, as PUT me/budget/)."""
    if request.method == "GET":
        current = spend.budget_of(tenant)
        initial = (
            {
                "monthly_limit": current.monthly_limit,
                "warn_at": ", ".join(_percent(share) for share in current.warn_at),
                "action": current.action,
            }
            if current
            else {}
        )
        return _page(request, tenant, BudgetForm(initial=initial))
    form = BudgetForm(request.POST)
    if not form.is_valid():
        return _page(request, tenant, form)
    try:
        spend.budget_save(actor=request.user, tenant=tenant, data=form.cleaned_data)
    except ApplicationError as refusal:
        form_refusal(form, refusal)
        return _page(request, tenant, form, refusal.message)
    messages.success(request, gettext("Budget saved."))
    return redirect("billing-console:budget")
