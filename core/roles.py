from django.db import models


class Role(models.TextChoices):
    TENANT = "tenant", "Tenant user"
    OPERATOR = "operator", "Operator"
    FINANCE = "finance", "Finance"
    ADMIN = "admin", "Admin"


STAFF_ROLES = frozenset({Role.OPERATOR, Role.FINANCE, Role.ADMIN})
