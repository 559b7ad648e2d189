"""Billing: price book, usage ledger, compute vouchers, invoices and credit notes.

The rules: docs/domain.md §Usage, §Vouchers, §Invoices.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q

from accounts.models import Tenant
from billing.choices import (
    PLATFORM_SOURCE,
    ClaimStatus,
    CreditReason,
    FapiaoType,
    InvoiceStatus,
    LineKind,
    RunStatus,
    UsagePoster,
)
from core.models import TimeStampedModel
from core.runs import OwnedRun, RunChunk
from leasing.models import Lease
from marketplace.models import Card, CardModel

# --- Price book and usage ledger ---


class Metric(models.Model):
    """A metered quantity in the price book. `card_minutes` is priced per lease (hourly rate)."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    unit = models.CharField(max_length=20)
    unit_price = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    billable = models.BooleanField(default=True)
    external = models.BooleanField(default=True, help_text="external meters may post it")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                # NULL >= 0 is NULL, which a CHECK lets pass: say "not null" outright
                condition=Q(billable=False)
                | Q(unit_price__isnull=False, unit_price__gte=0)
                | Q(external=False),
                name="billing_metric_billable_has_price",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class UsageRecord(models.Model):
    """One metered quantity over a window. Never edited: corrections are negative records.

    The table is partitioned by `month` (docs/scaling.md §The usage ledger): its database key is
    (id, month), `id` alone still unique (one sequence) and the primary key here. A record's
    (tenant, poster, source, external_id) is unique across all months through `UsageKey`, which
    every writer inserts first (billing.services.usage, billing.services.metering).
    """

    # Every index here is written by every insert, and meters post millions of records a month:
    # a nullable reference is indexed only where set (partial indexes below), the metric only
    # with the window's end, and a tenant's month by the partition and the tenant's index.
    # Lease and tenant are guarded by one foreign key (lease_id, tenant_id) → the lease's
    # (id, tenant_id), added by migration 0017: a record's tenant is its lease's, and each
    # record pays one deferred check at commit instead of two.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    lease = models.ForeignKey(
        Lease, on_delete=models.PROTECT, related_name="usage_records", db_constraint=False
    )
    card = models.ForeignKey(
        Card, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    metric = models.ForeignKey(Metric, on_delete=models.PROTECT, related_name="+", db_index=False)
    quantity = models.DecimalField(max_digits=20, decimal_places=6)
    start = models.DateTimeField()
    end = models.DateTimeField()
    month = models.DateField(help_text="operator-local billing month of the window's start")
    source = models.CharField(max_length=64)
    external_id = models.CharField(max_length=128)
    poster = models.CharField(
        max_length=8,
        choices=UsagePoster.choices,
        help_text="who posted it: ids are unique per tenant and poster",
    )
    # No database FK: on a partitioned table only (id, month) is unique. Ingestion checks the
    # corrected record exists (same tenant, poster, lease and metric), and records are never
    # deleted.
    corrects = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrections",
        db_constraint=False,
        db_index=False,
    )
    invoice = models.ForeignKey(
        "Invoice",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="usage_records",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # unique (tenant, poster, source, external_id): UsageKey's primary key
            models.CheckConstraint(
                condition=Q(source=PLATFORM_SOURCE, poster=UsagePoster.PLATFORM)
                | (~Q(source=PLATFORM_SOURCE) & ~Q(poster=UsagePoster.PLATFORM)),
                name="billing_usagerecord_platform_source_reserved",
            ),
            models.CheckConstraint(
                condition=Q(end__gt=F("start")), name="billing_usagerecord_window_not_empty"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=0) | Q(corrects__isnull=False),
                name="billing_usagerecord_negative_is_correction",
            ),
        ]
        indexes = [
            # busy-hours records overlapping a day, for the nightly occupancy
            models.Index(fields=["metric", "end"], name="billing_usage_metric_end"),
            models.Index(
                fields=["month"], condition=Q(invoice__isnull=True), name="billing_usage_uninvoiced"
            ),
            models.Index(
                fields=["invoice"], condition=Q(invoice__isnull=False), name="billing_usage_invoice"
            ),
            models.Index(
                fields=["corrects"],
                condition=Q(corrects__isnull=False),
                name="billing_usage_corrects",
            ),
            models.Index(
                fields=["card"], condition=Q(card__isnull=False), name="billing_usage_card"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class UsageKey(models.Model):
    """A usage record's id as its poster gave it, unique across all months of the partitioned
    ledger (a unique index there would have to include `month`): a tenant's ids never meet
    another tenant's, nor the operator's or the meter's. Inserted in the same statement as its
    record, only when new (`ON CONFLICT DO NOTHING`), so a retried batch adds nothing."""

    pk = models.CompositePrimaryKey("tenant", "poster", "source", "external_id")
    # no database FK: a key is written only in its record's statement, and the record's foreign
    # key (lease, tenant) guards the tenant
    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    poster = models.CharField(max_length=8, choices=UsagePoster.choices)
    source = models.CharField(max_length=64)
    external_id = models.CharField(max_length=128)
    # the record (id, month) in the ledger; no database FK (see UsageRecord.corrects)
    record = models.ForeignKey(
        UsageRecord,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    month = models.DateField()

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


# --- Compute vouchers (算力券) ---


class VoucherProgram(TimeStampedModel):
    issuer = models.CharField(max_length=120, help_text="the city or province paying")
    name = models.CharField(max_length=200)
    budget = models.DecimalField(max_digits=14, decimal_places=2)
    granted = models.DecimalField(max_digits=14, decimal_places=2, default=0, editable=False)
    coverage_rate = models.DecimalField(max_digits=5, decimal_places=4)
    per_tenant_cap = models.DecimalField(max_digits=14, decimal_places=2)
    valid_from = models.DateField()
    valid_to = models.DateField(help_text="inclusive")
    lease_kinds = ArrayField(models.CharField(max_length=8), default=list)
    card_models = models.ManyToManyField(CardModel, blank=True, related_name="+")
    max_term_months = models.PositiveSmallIntegerField(null=True, blank=True)
    # Claims as evidence: with `requires_payment` only redemptions of paid invoices are claimed.
    # A closed programme takes no new grants or redemptions (a trigger refuses them).
    requires_payment = models.BooleanField(default=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(coverage_rate__gt=0) & Q(coverage_rate__lte=1),
                name="billing_voucherprogram_rate_in_range",
            ),
            models.CheckConstraint(
                condition=Q(granted__gte=0) & Q(granted__lte=F("budget")),
                name="billing_voucherprogram_granted_within_budget",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__gte=F("valid_from")),
                name="billing_voucherprogram_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.issuer}: {self.name}"


class VoucherModelRate(models.Model):
    program = models.ForeignKey(
        VoucherProgram, on_delete=models.CASCADE, related_name="model_rates"
    )
    card_model = models.ForeignKey(CardModel, on_delete=models.PROTECT, related_name="+")
    rate = models.DecimalField(max_digits=5, decimal_places=4)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["program", "card_model"], name="billing_vouchermodelrate_unique"
            ),
            models.CheckConstraint(
                condition=Q(rate__gt=0) & Q(rate__lte=1), name="billing_vouchermodelrate_in_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.card_model_id}: {self.rate}"


class VoucherGrant(TimeStampedModel):
    program = models.ForeignKey(VoucherProgram, on_delete=models.PROTECT, related_name="grants")
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="voucher_grants")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    redeemed = models.DecimalField(max_digits=14, decimal_places=2, default=0, editable=False)
    valid_from = models.DateField()
    valid_to = models.DateField(help_text="inclusive")
    # A revoked grant redeems nothing more; its unredeemed balance went back to the programme's
    # budget (a trigger keeps `VoucherProgram.granted` = Σ standing grants: see 0010).
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="billing_vouchergrant_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(redeemed__gte=0) & Q(redeemed__lte=F("amount")),
                name="billing_vouchergrant_redeemed_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__gte=F("valid_from")),
                name="billing_vouchergrant_window_ordered",
            ),
        ]

    @property
    def remaining(self) -> Decimal:
        """What it may still pay: nothing once revoked."""
        return Decimal("0.00") if self.revoked_at else self.amount - self.redeemed

    @property
    def standing(self) -> Decimal:
        """What it holds of its programme's budget: its amount, or once revoked what it
        redeemed (the rest was released)."""
        return self.redeemed if self.revoked_at else self.amount

    @property
    def released(self) -> Decimal:
        """What its revocation gave back to the programme's budget (0 while standing)."""
        return self.amount - self.redeemed if self.revoked_at else Decimal("0.00")

    def __str__(self) -> str:
        return f"grant {self.pk} of {self.program_id} to {self.tenant_id}"


class VoucherRedemption(models.Model):
    grant = models.ForeignKey(VoucherGrant, on_delete=models.PROTECT, related_name="redemptions")
    invoice = models.ForeignKey("Invoice", on_delete=models.PROTECT, related_name="redemptions")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="billing_voucherredemption_amount_positive"
            ),
            models.UniqueConstraint(
                fields=["grant", "invoice"], name="billing_voucherredemption_once_per_invoice"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} of grant {self.grant_id} on invoice {self.invoice_id}"


class VoucherClaim(TimeStampedModel):
    """The operator's claim on an issuer for a programme's redemptions of one month."""

    program = models.ForeignKey(VoucherProgram, on_delete=models.PROTECT, related_name="claims")
    month = models.DateField()
    status = models.CharField(max_length=12, choices=ClaimStatus.choices, default=ClaimStatus.DRAFT)
    total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reimbursed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["program", "month"], name="billing_voucherclaim_unique")
        ]


# --- Invoices ---


class InvoiceRun(TimeStampedModel, OwnedRun):
    month = models.DateField()
    status = models.CharField(max_length=8, choices=RunStatus.choices, default=RunStatus.RUNNING)
    invoices = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]


class InvoiceRunBatch(RunChunk):
    """A range of tenant ids of a run, `[tenant_from, tenant_to)` (`tenant_to` null: no end), built
    in one transaction: any worker of the `billing` queue may take an open one (`owner_*` say who
    has it); the run's own worker takes what is left, and again any whose taker died, until every
    one is `done` (billing.services.invoicing). `skipped`: the tenants it left without a draft
    (their charges do not fit an invoice), as `[tenant id, name, reason]`."""

    run = models.ForeignKey(InvoiceRun, on_delete=models.CASCADE, related_name="batches")
    tenant_from = models.BigIntegerField()
    tenant_to = models.BigIntegerField(null=True, blank=True)
    skipped = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["run", "tenant_from"]
        constraints = [
            models.UniqueConstraint(fields=["run", "tenant_from"], name="billing_batch_once"),
        ]

    def __str__(self) -> str:
        return f"run {self.run_id} tenants {self.tenant_from}… {self.status}"


class Invoice(TimeStampedModel):
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="invoices")
    month = models.DateField(help_text="first day of the billing month")
    status = models.CharField(
        max_length=8, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT
    )
    number = models.CharField(max_length=20, null=True, blank=True, unique=True)
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=4)
    tax = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    voucher_deduction = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    amount_due = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    issued_at = models.DateTimeField(null=True, blank=True)
    paid_on = models.DateField(null=True, blank=True)
    payment_reference = models.CharField(max_length=100, blank=True)
    # Σ of its payments (billing.Payment), kept by a database trigger as each is recorded: the
    # check below then refuses any payment that would take it past the amount due.
    amount_paid = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0.00"), db_default=Decimal("0.00"),
        editable=False,
    )  # fmt: skip
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=500, blank=True)
    # What the documents show about the parties, frozen at issue (billing/parties.py):
    # a draft renders the tenant and seller as they are now, an issued invoice from these.
    buyer = models.JSONField(default=dict, db_default={}, blank=True, editable=False)
    seller = models.JSONField(default=dict, db_default={}, blank=True, editable=False)
    # The tax system's fapiao (发票) for this bill, once finance records it (20 digits).
    fapiao_number = models.CharField(max_length=20, null=True, blank=True, unique=True)
    fapiao_issued_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status=InvoiceStatus.DRAFT) | (~Q(buyer={}) & ~Q(seller={})),
                name="billing_invoice_issued_has_parties",
            ),
            models.CheckConstraint(
                condition=Q(fapiao_number__isnull=True)
                | (Q(fapiao_number__regex=r"^[0-9]{20}$") & Q(fapiao_issued_on__isnull=False)),
                name="billing_invoice_fapiao_number_20_digits",
            ),
            # a recorded fapiao is corrected by a credit note (a red fapiao), never by voiding
            models.CheckConstraint(
                condition=Q(fapiao_number__isnull=True) | ~Q(status=InvoiceStatus.VOID),
                name="billing_invoice_void_has_no_fapiao",
            ),
            models.UniqueConstraint(
                fields=["tenant", "month"],
                condition=~Q(status=InvoiceStatus.VOID),
                name="billing_invoice_one_per_tenant_month",
            ),
            models.CheckConstraint(
                condition=Q(status=InvoiceStatus.DRAFT) | Q(number__isnull=False),
                name="billing_invoice_issued_has_number",
            ),
            models.CheckConstraint(
                condition=Q(amount_paid=0)
                | (Q(amount_paid__gt=0) & Q(amount_paid__lte=F("amount_due"))),
                name="billing_invoice_paid_within_amount_due",
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"draft {self.pk}"


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(max_length=20, choices=LineKind.choices)
    lease = models.ForeignKey(
        Lease, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    metric = models.ForeignKey(
        Metric, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    card_model = models.ForeignKey(
        CardModel, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lease_kind = models.CharField(max_length=8, blank=True)
    description = models.CharField(max_length=200)
    quantity = models.DecimalField(max_digits=20, decimal_places=6)
    unit = models.CharField(max_length=20)
    unit_price = models.DecimalField(max_digits=14, decimal_places=4)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    period_start = models.DateField()
    period_end = models.DateField(help_text="exclusive")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"


class DocumentCounter(models.Model):
    """Gapless numbering: one locked row per (series, year)."""

    series = models.CharField(max_length=4)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["series", "year"], name="billing_documentcounter_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.series}-{self.year}: {self.last}"


class CreditNote(TimeStampedModel):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    number = models.CharField(max_length=20, unique=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    reason = models.CharField(max_length=500)
    reason_code = models.CharField(max_length=16, choices=CreditReason.choices)
    # The red fapiao (红字发票) of this credit note, once finance records it (20 digits).
    fapiao_number = models.CharField(max_length=20, null=True, blank=True, unique=True)
    fapiao_issued_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="billing_creditnote_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(reason_code__in=CreditReason.values),
                name="billing_creditnote_reason_code_known",
            ),
            models.CheckConstraint(
                condition=Q(fapiao_number__isnull=True)
                | (Q(fapiao_number__regex=r"^[0-9]{20}$") & Q(fapiao_issued_on__isnull=False)),
                name="billing_creditnote_fapiao_number_20_digits",
            ),
        ]


class Payment(models.Model):
    """Money received against an issued invoice; several may settle one. Never edited nor
    deleted (a database trigger refuses both); recording one adds it to `Invoice.amount_paid`
    (the same trigger), refused when the invoice's paid amount would pass its amount due less
    its credit notes."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    paid_on = models.DateField()
    reference = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="billing_payment_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} on invoice {self.invoice_id} ({self.paid_on})"


# --- Invoicing in China: billing profiles (发票抬头) ---

# What a `special` (专票) profile must fill in, besides the title and tax id every profile has.
SPECIAL_FAPIAO_FIELDS = (
    "bank_name",
    "bank_account",
    "registered_address",
    "registered_phone",
    "email",
)
# A Unified Social Credit Code's shape (its check digit is the service's to check).
USCC_REGEX = r"^[0-9]{8}[0-9A-HJ-NPQRTUWXY]{10}$"


class BillingProfile(TimeStampedModel):
    """What a tenant's fapiao say about it. Issuing copies it onto the invoice (`Invoice.buyer`):
    editing it later changes no issued invoice."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="billing_profile")
    invoice_title = models.CharField("invoice title (发票抬头)", max_length=200)
    tax_id = models.CharField("tax id (统一社会信用代码)", max_length=18)
    fapiao_type = models.CharField(
        max_length=8, choices=FapiaoType.choices, default=FapiaoType.ORDINARY
    )
    bank_name = models.CharField(max_length=100, blank=True)
    bank_account = models.CharField(max_length=40, blank=True)
    registered_address = models.CharField(max_length=300, blank=True)
    registered_phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(fapiao_type__in=FapiaoType.values),
                name="billing_billingprofile_fapiao_type_known",
            ),
            models.CheckConstraint(
                condition=~Q(invoice_title="") & Q(tax_id__regex=USCC_REGEX),
                name="billing_billingprofile_title_and_tax_id",
            ),
            models.CheckConstraint(
                condition=~Q(fapiao_type=FapiaoType.SPECIAL)
                | Q(*(~Q(**{name: ""}) for name in SPECIAL_FAPIAO_FIELDS)),
                name="billing_billingprofile_special_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_title} ({self.tax_id})"


# --- Spend limits (short leases) ---


class BudgetAction(models.TextChoices):
    NOTIFY = "notify", "notify"
    STOP = "stop", "stop"


def default_warn_at() -> list[Decimal]:
    return [Decimal("0.5"), Decimal("0.8")]


class Budget(TimeStampedModel):
    """A tenant's monthly spend limit (CNY, charges before tax and vouchers): warnings at the
    `warn_at` shares of it, and with `stop` its running short leases end when it is reached."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="budget")
    monthly_limit = models.DecimalField(max_digits=14, decimal_places=2)
    warn_at = ArrayField(
        models.DecimalField(max_digits=5, decimal_places=4), default=default_warn_at, blank=True
    )
    action = models.CharField(max_length=8, choices=BudgetAction.choices)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(monthly_limit__gt=0), name="billing_budget_limit_positive"
            ),
            models.CheckConstraint(
                condition=Q(action__in=BudgetAction.values), name="billing_budget_action_known"
            ),
        ]

    def __str__(self) -> str:
        return f"budget of tenant {self.tenant_id}: {self.monthly_limit} ({self.action})"


class BudgetNotice(models.Model):
    """A spend-limit event sent: one per tenant, month, limit, kind and threshold (the unique
    constraint makes each warning, and the reached notice, once a month for a limit; a limit
    changed mid-month notifies against the new limit, docs/domain.md §Spend limits)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    monthly_limit = models.DecimalField(max_digits=14, decimal_places=2)
    kind = models.CharField(max_length=8)  # "warning" or "reached"
    threshold = models.DecimalField(max_digits=5, decimal_places=4)
    spend = models.DecimalField(max_digits=14, decimal_places=2)
    at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "month", "monthly_limit", "kind", "threshold"],
                name="billing_budgetnotice_once",
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.kind} {self.threshold} of {self.monthly_limit} for tenant {self.tenant_id} "
            f"in {self.month}"
        )
