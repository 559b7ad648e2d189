from django.db import models


class RackStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    RACKED = "racked", "Racked"
    DECOMMISSIONED = "decommissioned", "Decommissioned"


class CardStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    MAINTENANCE = "maintenance", "Maintenance"
    RETIRED = "retired", "Retired"
