from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import Tenant, User


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
