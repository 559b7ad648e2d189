"""The admin shows what services govern; it does not change it.

`GovernedAdmin` (and `GovernedInline`) make a model read-only in the admin: list and detail
views, no add, change or delete, whoever the user (superusers included). Where staff need to act
on such objects, an admin action calls the service that owns the change (`service_action`), so
the service's rules and its audit apply as they do for the API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from core.exceptions import ApplicationError
from core.models import AuditLog, IdempotencyKey


class _ReadOnly:
    """No add, change or delete through the admin; viewing stays (staff's view permission)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class GovernedAdmin(_ReadOnly, admin.ModelAdmin):
    """A model whose changes go through services: read-only here, actions call the services."""


class GovernedTabularInline(_ReadOnly, admin.TabularInline):
    """Rows of a governed object, shown with it; set `fields` (all shown read-only)."""

    extra = 0

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [name for name in self.fields or () if isinstance(name, str)]


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, strip=True)


def _apply(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[Any],
    call: Callable[[models.Model, dict[str, Any]], object],
    values: dict[str, Any],
) -> None:
    """Call the service once per selected object; each refusal is reported, the rest go on."""
    done = 0
    for obj in queryset.order_by("pk"):
        try:
            call(obj, values)
        except ApplicationError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, f"{done} done.", messages.SUCCESS)


def service_action(
    *,
    description: str,
    call: Callable[[models.Model, dict[str, Any]], object],
    ask_reason: bool = False,
) -> Callable[..., HttpResponse | None]:
    """An admin action calling `call(obj, values)` for each selected object, where `call` runs
    the service with `actor=request.user` bound by the caller. With `ask_reason` staff first
    give a reason on a confirmation page (required)."""

    def action(
        modeladmin: admin.ModelAdmin,
        request: HttpRequest,
        queryset: QuerySet[Any],
    ) -> HttpResponse | None:
        def bound(obj: models.Model, values: dict[str, Any]) -> object:
            return call(obj, {**values, "actor": request.user})

        if not ask_reason:
            _apply(modeladmin, request, queryset, bound, {})
            return None
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            _apply(modeladmin, request, queryset, bound, form.cleaned_data)
            return None
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": description,
            "opts": modeladmin.model._meta,
            "objects": list(queryset.order_by("pk")),
            "form": form,
            "action": request.POST.get("action", ""),
        }
        return TemplateResponse(request, "admin/service_action_confirm.html", context)

    action.__name__ = call.__name__
    return admin.action(description=description)(action)


@admin.register(AuditLog)
class AuditLogAdmin(GovernedAdmin):
    list_display = ["at", "actor", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "action"]


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ["scope", "key", "response_status", "created_at"]
    search_fields = ["scope", "key"]
    # the kept answers hold what is shown once (a webhook endpoint's signing secret)
    exclude = ["response_body"]
