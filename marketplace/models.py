"""Inventory: Site → Rack → Server → Card, and the CardModel catalogue (docs/domain.md)."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q

from core.models import TimeStampedModel
from marketplace.choices import CardStatus, RackStatus


class Site(TimeStampedModel):
    name = models.CharField(max_length=120)
    code = models.SlugField(max_length=32, unique=True, help_text="short code, e.g. YC1")
    city = models.CharField(max_length=80, blank=True)
    province = models.CharField(max_length=80, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Rack(TimeStampedModel):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="racks")
    name = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=RackStatus.choices, default=RackStatus.PLANNED)
    power_kw = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("0"))

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["site", "name"], name="marketplace_rack_unique_name"),
            models.CheckConstraint(
                condition=Q(power_kw__gte=0), name="marketplace_rack_power_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Server(TimeStampedModel):
    rack = models.ForeignKey(Rack, on_delete=models.PROTECT, related_name="servers")
    name = models.CharField(max_length=64)
    position = models.PositiveSmallIntegerField(help_text="slot (U) in the rack")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rack", "position"], name="marketplace_server_unique_position"
            ),
            models.UniqueConstraint(fields=["rack", "name"], name="marketplace_server_unique_name"),
            models.CheckConstraint(
                condition=Q(position__gte=1), name="marketplace_server_position_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CardModel(TimeStampedModel):
    """A kind of accelerator card and its list prices."""

    vendor = models.CharField(max_length=64)
    name = models.CharField(max_length=64, unique=True)
    memory_gb = models.PositiveIntegerField()
    bf16_tflops = models.DecimalField(max_digits=10, decimal_places=2)
    domestic = models.BooleanField(default=False, help_text="domestically made chip")
    hourly_rate = models.DecimalField(
        max_digits=14, decimal_places=4, help_text="short-lease price per card-hour"
    )
    monthly_rate = models.DecimalField(
        max_digits=14, decimal_places=4, help_text="long-lease list price per card-month"
    )
    is_active = models.BooleanField(default=True, help_text="offered for new leases")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(hourly_rate__gte=0) & Q(monthly_rate__gte=0),
                name="marketplace_cardmodel_prices_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(bf16_tflops__gte=0) & Q(memory_gb__gte=1),
                name="marketplace_cardmodel_specs_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.vendor} {self.name}"


class CardQuerySet(models.QuerySet["Card"]):
    def allocatable(self) -> CardQuerySet:
        """Cards that may be allocated: `available`, in a `racked` rack."""
        return self.filter(status=CardStatus.AVAILABLE, server__rack__status=RackStatus.RACKED)

    def installed(self) -> CardQuerySet:
        """Cards counted as installed: not retired, in a racked rack."""
        return self.exclude(status=CardStatus.RETIRED).filter(
            server__rack__status=RackStatus.RACKED
        )


class Card(TimeStampedModel):
    server = models.ForeignKey(Server, on_delete=models.PROTECT, related_name="cards")
    card_model = models.ForeignKey(CardModel, on_delete=models.PROTECT, related_name="cards")
    serial = models.CharField(max_length=64)
    status = models.CharField(
        max_length=16, choices=CardStatus.choices, default=CardStatus.AVAILABLE
    )
    capex_cost = models.DecimalField(max_digits=14, decimal_places=2, help_text="purchase price")
    commissioned_on = models.DateField()

    objects = CardQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["serial"], name="marketplace_card_unique_serial"),
            models.CheckConstraint(
                condition=Q(capex_cost__gte=0), name="marketplace_card_capex_non_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["card_model", "status"], name="marketplace_card_model_status"),
        ]

    def __str__(self) -> str:
        return self.serial
