from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from knox.models import AuthToken

from accounts.models import Tenant, User
from accounts.services import token_revoke
from core.admin import GovernedAdmin, service_action


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "category", "tax_id", "created_at"]
    list_filter = ["category"]
    search_fields = ["name", "tax_id"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "role", "tenant", "is_active", "last_login"]
    list_filter = ["role", "is_active"]
    list_select_related = ["tenant"]
    fieldsets = (*BaseUserAdmin.fieldsets, ("Marketplace", {"fields": ("role", "tenant")}))  # type: ignore[misc]
    # The admin flags follow the role (User.save and a database constraint): the role is the
    # one control, so a demotion takes the admin site away with it.
    readonly_fields = ["is_staff", "is_superuser"]


# knox's own admin adds tokens (showing the key in a message) and deletes them, past the
# services and their audit: here tokens are read-only, and revoking is the service's.
admin.site.unregister(AuthToken)


def _revoke(token: AuthToken, values: dict[str, Any]) -> None:
    token_revoke(token=token, **values)


@admin.register(AuthToken)
class AuthTokenAdmin(GovernedAdmin):
    list_display = ["token_key", "user", "created", "expiry"]
    list_select_related = ["user"]
    search_fields = ["token_key", "user__username"]
    fields = ("token_key", "user", "created", "expiry")
    readonly_fields = ("token_key", "user", "created", "expiry")
    actions = [service_action(description="Revoke the selected tokens", call=_revoke)]
