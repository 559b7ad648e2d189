from django.db import models


class LeaseKind(models.TextChoices):
    LONG = "long", "Long lease"
    SHORT = "short", "Short lease"


class LeaseStatus(models.TextChoices):
    RESERVED = "reserved", "Reserved"
    ACTIVE = "active", "Active"
    ENDED = "ended", "Ended"
    CANCELLED = "cancelled", "Cancelled"
    TERMINATED = "terminated", "Terminated"
