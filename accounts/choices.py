from django.db import models


class TenantCategory(models.TextChoices):
    STARTUP = "startup", "Startup"
    SME = "sme", "SME"
    ENTERPRISE = "enterprise", "Enterprise"
    STATE_OWNED = "state_owned", "State-owned"
