from django.db import models

from marketplace.choices import LeaseKind

__all__ = ["LeaseKind", "LeaseStatus"]


class LeaseStatus(models.TextChoices):
    RESERVED = "reserved", "Reserved"
    ACTIVE = "active", "Active"
    ENDED = "ended", "Ended"
    CANCELLED = "cancelled", "Cancelled"
    TERMINATED = "terminated", "Terminated"
