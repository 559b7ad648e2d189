from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q

from accounts.choices import TenantCategory
from core.models import TimeStampedModel
from core.roles import Role


class Tenant(TimeStampedModel):
    """A company renting capacity. Its users see only its own objects."""

    name = models.CharField(max_length=200, unique=True)
    category = models.CharField(
        max_length=20, choices=TenantCategory.choices, default=TenantCategory.ENTERPRISE
    )
    tax_id = models.CharField("tax id (统一社会信用代码)", max_length=32, blank=True)
    billing_address = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person or script using the API. Tenant users belong to exactly one tenant."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.TENANT)
    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(role=Role.TENANT) & Q(tenant__isnull=False))
                | (~Q(role=Role.TENANT) & Q(tenant__isnull=True)),
                name="accounts_user_tenant_iff_tenant_role",
            ),
            # The Django admin's flags are the admin role's, never set apart from it: a demoted
            # admin loses the admin site with its role.
            models.CheckConstraint(
                condition=(Q(role=Role.ADMIN) & Q(is_staff=True) & Q(is_superuser=True))
                | (~Q(role=Role.ADMIN) & Q(is_staff=False) & Q(is_superuser=False)),
                name="accounts_user_admin_flags_follow_role",
            ),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The flags follow the role (the constraint above); a form or a script changing the
        # role changes them with it.
        self.is_staff = self.is_superuser = self.role == Role.ADMIN
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "role" in update_fields:
            kwargs["update_fields"] = {*update_fields, "is_staff", "is_superuser"}
        super().save(*args, **kwargs)

    @property
    def is_tenant_user(self) -> bool:
        return self.role == Role.TENANT

    @property
    def is_staff_role(self) -> bool:
        return self.role != Role.TENANT
