from django.db import models


class RackStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    RACKED = "racked", "Racked"
    DECOMMISSIONED = "decommissioned", "Decommissioned"


class CardStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    MAINTENANCE = "maintenance", "Maintenance"
    RETIRED = "retired", "Retired"


class LeaseKind(models.TextChoices):
    LONG = "long", "Long lease"
    SHORT = "short", "Short lease"


LONG_MAX_ADVANCE_MONTHS = 12  # a long commitment is booked at most a year ahead
