"""Leases and the allocations through which they hold cards (docs/domain.md §Leases)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeOperators
from django.db import models
from django.db.models import F, Func, Q, Value

from accounts.models import Tenant
from core.models import TimeStampedModel
from leasing.choices import LeaseKind, LeaseStatus
from leasing.terms import LONG_TERMS
from marketplace.models import Card, CardModel, Site


class Lease(TimeStampedModel):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="leases")
    kind = models.CharField(max_length=8, choices=LeaseKind.choices)
    card_model = models.ForeignKey(CardModel, on_delete=models.PROTECT, related_name="leases")
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.PROTECT, related_name="leases"
    )
    card_count = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=LeaseStatus.choices)
    start = models.DateTimeField()
    end = models.DateTimeField(null=True, blank=True, help_text="exclusive; null = open-ended")
    term_months = models.PositiveSmallIntegerField(null=True, blank=True)
    committed_end = models.DateTimeField(
        null=True, blank=True, help_text="long leases: the end of the original commitment"
    )
    unit_price = models.DecimalField(
        max_digits=14, decimal_places=4, help_text="monthly fee per card (long) or hourly rate"
    )
    termination_fee = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    terminated_on = models.DateField(null=True, blank=True)
    renewed_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="renewal"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    # Not a field: the lease as the API shows it, set by a service that has just rendered it for
    # the change's event (`lease_create`): the API answers with it instead of reading it again.
    shown: dict[str, Any] | None = None

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(card_count__gte=1), name="leasing_lease_card_count_positive"
            ),
            models.CheckConstraint(
                # end == start only for a short lease stopped the instant it started.
                condition=Q(end__isnull=True) | Q(end__gte=F("start")),
                name="leasing_lease_end_not_before_start",
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind=LeaseKind.LONG, term_months__in=list(LONG_TERMS), end__isnull=False)
                    | Q(kind=LeaseKind.SHORT, term_months__isnull=True)
                ),
                name="leasing_lease_kind_terms",
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0)
                & (Q(termination_fee__isnull=True) | Q(termination_fee__gte=0)),
                name="leasing_lease_money_non_negative",
            ),
            # what the usage ledger's one foreign key (lease, tenant) points at: a record's
            # tenant is its lease's, checked once per record (billing migration 0017)
            models.UniqueConstraint(fields=["id", "tenant"], name="leasing_lease_id_tenant"),
        ]
        indexes = [
            models.Index(fields=["tenant", "status"], name="leasing_lease_tenant_status"),
            models.Index(fields=["status", "start"], name="leasing_lease_status_start"),
        ]

    def __str__(self) -> str:
        return f"Lease #{self.pk} ({self.kind}, {self.card_count}× {self.card_model_id})"


class Allocation(models.Model):
    """A lease's hold on one card over a half-open period. Never two overlapping per card."""

    lease = models.ForeignKey(Lease, on_delete=models.CASCADE, related_name="allocations")
    # indexed by `leasing_allocation_card_upper` (the card first), not an index of its own
    card = models.ForeignKey(
        Card, on_delete=models.PROTECT, related_name="allocations", db_index=False
    )
    period = DateTimeRangeField(help_text="[start, end); an open upper bound = until stopped")
    # The card's model, kept by the database (never by the application): a trigger copies it
    # from the card on every insert and change of card, and a change of a card's model follows
    # to its allocations (migration 0004). Availability finds the model's allocations still
    # running after a time with one range scan of `leasing_allocation_model_upper` instead of
    # probing the GiST index card by card. No foreign key of its own: the card's holds it. An
    # instance created here does not know it until read back.
    card_model = models.ForeignKey(
        CardModel,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            ExclusionConstraint(
                name="leasing_allocation_no_double_booking",
                expressions=[("card", RangeOperators.EQUAL), ("period", RangeOperators.OVERLAPS)],
            ),
            models.CheckConstraint(
                condition=Q(period__isempty=False), name="leasing_allocation_period_not_empty"
            ),
        ]
        indexes = [
            # "Allocations ending after t" (open-ended ones count as ending at infinity): a day's
            # allocations in a few ms, where the GiST index on (card, period) takes ~30 ms.
            models.Index(
                Func(
                    Func(F("period"), function="upper"),
                    Value("infinity"),
                    function="COALESCE",
                    output_field=models.DateTimeField(),
                ),
                name="leasing_allocation_upper",
            ),
            # A card's allocations ending after t, with their leases and periods (index only):
            # a site's day in the nightly finds its cards' allocations here, ~3 µs a card,
            # where the GiST index of the exclusion constraint took ~14 µs a card at 1,000,000
            # allocations (a site's chunk 56 → 36 ms at 100,000 cards). Also the card's index
            # for its foreign key.
            models.Index(
                F("card"),
                Func(
                    Func(F("period"), function="upper"),
                    Value("infinity"),
                    function="COALESCE",
                    output_field=models.DateTimeField(),
                ),
                include=["lease", "period"],
                name="leasing_allocation_card_upper",
            ),
            # A model's allocations ending after t, with their cards and periods (index only):
            # the busy cards of a model over a window, however long the history.
            models.Index(
                F("card_model"),
                Func(
                    Func(F("period"), function="upper"),
                    Value("infinity"),
                    function="COALESCE",
                    output_field=models.DateTimeField(),
                ),
                include=["card", "period"],
                name="leasing_allocation_model_upper",
            ),
        ]

    def __str__(self) -> str:
        return f"card {self.card_id} → lease {self.lease_id} {self.period}"


class LeaseEvent(models.Model):
    """Every state change of a lease: who, when, from, to, why."""

    lease = models.ForeignKey(Lease, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    reason = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.lease_id}: {self.from_status or '∅'} → {self.to_status}"
