"""Nightly snapshots (occupancy and revenue per day) and stored business cases
(docs/domain.md §Occupancy and revenue, §Business case).

Snapshot rows carry plain integer keys, not foreign keys: they are rewritten wholesale every
night and in year-long backfills, where a foreign key check costs ~12 µs a row (measured), and
they must survive the inventory changing under them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.runs import OwnedRun, RunChunk
from marketplace.models import Site


class OccupancyDaily(models.Model):
    """One rack × card model × operator-local day."""

    day = models.DateField()
    rack_id = models.BigIntegerField()
    site_id = models.BigIntegerField()
    card_model_id = models.BigIntegerField()
    cards_installed = models.IntegerField()
    cards_in_service = models.IntegerField()
    card_hours_available = models.DecimalField(max_digits=14, decimal_places=4)
    card_hours_leased = models.DecimalField(max_digits=14, decimal_places=4)
    card_hours_busy = models.DecimalField(max_digits=14, decimal_places=4)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "rack_id", "card_model_id"], name="analytics_occupancydaily_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} rack {self.rack_id} model {self.card_model_id}"


class SiteDaily(models.Model):
    """Racking of a site on a day: racked and planned racks (上架率 = racked / both)."""

    day = models.DateField()
    site_id = models.BigIntegerField()
    racks_racked = models.IntegerField()
    racks_planned = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "site_id"], name="analytics_sitedaily_unique")
        ]

    def __str__(self) -> str:
        return f"{self.day} site {self.site_id}"


class RevenueDaily(models.Model):
    """A lease's accrued revenue on one operator-local day, unrounded (6 places)."""

    day = models.DateField()
    lease_id = models.BigIntegerField()
    tenant_id = models.BigIntegerField()
    site_id = models.BigIntegerField(null=True)
    card_model_id = models.BigIntegerField()
    lease_kind = models.CharField(max_length=8)
    amount = models.DecimalField(max_digits=20, decimal_places=6)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "lease_id"], name="analytics_revenuedaily_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} lease {self.lease_id}: {self.amount}"


class RecomputeRun(OwnedRun):
    """A recompute of a range of days; the nightly job resumes after the last successful one."""

    day_from = models.DateField()
    day_to = models.DateField()
    status = models.CharField(max_length=8, default="running")
    trigger = models.CharField(max_length=16, default="nightly")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.day_from}…{self.day_to} {self.status}"


class RecomputeChunk(RunChunk):
    """One site's share of a run's days (the nightly's): any worker of the `analytics` queue
    may take an open one (`owner_*` says who has it); the run's own worker takes what is left,
    and again any whose taker died, until every one is `done` (analytics.services)."""

    run = models.ForeignKey(RecomputeRun, on_delete=models.CASCADE, related_name="chunks")
    site = models.ForeignKey("marketplace.Site", on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["run", "site"]
        constraints = [
            models.UniqueConstraint(fields=["run", "site"], name="analytics_chunk_once"),
        ]

    def __str__(self) -> str:
        return f"run {self.run_id} site {self.site_id} {self.status}"


class BusinessCase(models.Model):
    """A site's 5-year business case: the inputs as posted and the results computed from them."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="business_cases")
    inputs = models.JSONField()
    results = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"business case {self.pk} for site {self.site_id}"
