from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from accounts.models import Tenant
from billing.choices import ClaimStatus, CreditReason, FapiaoType
from billing.models import (
    CreditNote,
    Invoice,
    InvoiceLine,
    InvoiceRun,
    Metric,
    Payment,
    UsageRecord,
    VoucherGrant,
    VoucherProgram,
    VoucherRedemption,
)
from billing.parties import invoice_buyer
from billing.services import vouchers
from core.serializers import (
    MONTH_PATTERN,
    ErrorSerializer,
    IdField,
    MoneyField,
    MonthField,
    StrictBooleanField,
    StrictModelSerializer,
    StrictSerializer,
    UnitPriceField,
    name_of,
)
from marketplace.models import CardModel


class MetricSerializer(StrictModelSerializer):
    unit_price = UnitPriceField(min_value=0, allow_null=True, required=False)

    class Meta:
        model = Metric
        fields = ["id", "code", "name", "unit", "unit_price", "billable", "external"]
        read_only_fields = ["id", "code", "billable", "external"]


class UsageRecordSerializer(serializers.ModelSerializer):
    metric: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    corrects: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="external_id", read_only=True, allow_null=True,
        help_text="external_id of the record this one corrects",
    )  # fmt: skip
    quantity = serializers.DecimalField(max_digits=20, decimal_places=6, read_only=True)
    month = MonthField(read_only=True)
    tenant_name = name_of("tenant")
    card_serial = name_of("card", "serial")

    class Meta:
        model = UsageRecord
        fields = [
            "id", "tenant", "tenant_name", "lease", "card", "card_serial", "metric", "quantity",
            "start", "end", "month", "source", "external_id", "poster", "corrects", "invoice",
            "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class UsageInSerializer(StrictSerializer):
    """One usage record (documentation: the ingestion service validates records set-based, and
    rejects unknown keys as this strict serializer would)."""

    source = serializers.CharField(max_length=64)  # type: ignore[assignment]
    external_id = serializers.CharField(max_length=128)
    lease = serializers.IntegerField()
    card = serializers.IntegerField(required=False, allow_null=True)
    metric = serializers.CharField(max_length=40)
    # |quantity| < 10^8 (billing.services.usage.MAX_QUANTITY): 8 integer digits, 6 places
    quantity = serializers.DecimalField(max_digits=14, decimal_places=6)
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    corrects = serializers.CharField(
        max_length=128, required=False, help_text="external_id of a corrected record"
    )


class UsageBatchSerializer(StrictSerializer):
    """The batch (documentation; the view checks it with `UsageBatchInSerializer`)."""

    atomic = serializers.BooleanField(default=True)
    records = serializers.ListField(child=UsageInSerializer(), min_length=1)


class _Untouched(serializers.Field):
    """A value passed on as posted, for a service that validates it (no copy, no checks)."""

    def to_internal_value(self, data: Any) -> Any:
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class UsageBatchInSerializer(StrictSerializer):
    """The batch envelope, checked here once: an object with `atomic` (true or false) and
    `records`, nothing else. The records themselves are the ingestion service's to validate
    (set-based, with each bad record's index and code); they pass through untouched."""

    atomic = StrictBooleanField(default=True)
    records = _Untouched(required=False, allow_null=True, default=None)


class UsageBatchResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.DictField())  # type: ignore[assignment]


class UsageBatchRejectedSerializer(ErrorSerializer):
    """A rejected batch: the error body; when records were checked (an atomic batch with bad
    records), also the batch result with each record's error (`errors: [{index, code,
    message}]`)."""

    accepted = serializers.IntegerField(required=False)
    duplicates = serializers.IntegerField(required=False)
    errors = serializers.ListField(  # type: ignore[assignment]
        child=serializers.DictField(), required=False
    )


class ModelRateSerializer(StrictSerializer):
    card_model = IdField(queryset=CardModel.objects.all())
    card_model_name = name_of("card_model")
    rate = serializers.DecimalField(max_digits=5, decimal_places=4, min_value=0, max_value=1)

    def validate_rate(self, value: Any) -> Any:
        if value <= 0:
            raise serializers.ValidationError("Must be above 0.")
        return value


class VoucherProgramSerializer(StrictModelSerializer):
    max_items = {
        "card_models": vouchers.MAX_PROGRAM_MODELS,
        "model_rates": vouchers.MAX_PROGRAM_MODELS,
        "lease_kinds": len(vouchers.LEASE_KINDS),
    }
    budget = MoneyField(min_value=0)
    granted = MoneyField(read_only=True)
    per_tenant_cap = MoneyField(min_value=0)
    coverage_rate = serializers.DecimalField(max_digits=5, decimal_places=4, max_value=1)
    model_rates = ModelRateSerializer(many=True, required=False)
    lease_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=["long", "short"]), required=False
    )
    card_models = IdField(queryset=CardModel.objects.all(), many=True, required=False)
    max_term_months = serializers.IntegerField(
        min_value=1, max_value=32767, required=False, allow_null=True
    )

    class Meta:
        model = VoucherProgram
        fields = [
            "id", "issuer", "name", "budget", "granted", "coverage_rate", "model_rates",
            "per_tenant_cap", "valid_from", "valid_to", "lease_kinds", "card_models",
            "max_term_months", "requires_payment", "closed_at",
        ]  # fmt: skip
        read_only_fields = ["closed_at"]
        staff_only_fields = ["granted"]  # a total over every tenant's grants

    def validate_coverage_rate(self, value: Any) -> Any:
        if value <= 0:
            raise serializers.ValidationError("Must be above 0 and at most 1.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (
            attrs.get("valid_to")
            and attrs.get("valid_from")
            and attrs["valid_to"] < attrs["valid_from"]
        ):
            raise serializers.ValidationError({"valid_to": ["Before valid_from."]})
        models = [row["card_model"].pk for row in attrs.get("model_rates", [])]
        if len(models) != len(set(models)):
            raise serializers.ValidationError({"model_rates": ["One rate per card model."]})
        return attrs

    def to_representation(self, instance: VoucherProgram) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["model_rates"] = [
            {
                "card_model": r.card_model_id,
                "card_model_name": r.card_model.name,
                "rate": f"{r.rate:.4f}",
            }
            for r in instance.model_rates.all()
        ]
        return data


class VoucherGrantSerializer(StrictModelSerializer):
    amount = MoneyField(min_value=0)
    redeemed = MoneyField(read_only=True)
    remaining = MoneyField(read_only=True)
    valid_from = serializers.DateField(required=False)
    valid_to = serializers.DateField(required=False)
    tenant = IdField(queryset=Tenant.objects.all())
    released = MoneyField(
        read_only=True, help_text="given back to the programme's budget by its revocation"
    )
    program_name = name_of("program")
    tenant_name = name_of("tenant")

    class Meta:
        model = VoucherGrant
        fields = [
            "id", "program", "program_name", "tenant", "tenant_name", "amount", "valid_from",
            "valid_to", "redeemed", "remaining", "revoked_at", "released", "created_at",
        ]  # fmt: skip
        read_only_fields = ["id", "revoked_at", "created_at"]


class VoucherProgramCloseSerializer(StrictSerializer):
    """Nothing to say (an empty body or {})."""


class VoucherGrantRevokeSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ClaimQuerySerializer(StrictSerializer):
    month = serializers.RegexField(MONTH_PATTERN)
    format = serializers.ChoiceField(choices=["json", "csv"], required=False)


class ClaimAdvanceSerializer(StrictSerializer):
    month = serializers.RegexField(MONTH_PATTERN)
    status = serializers.ChoiceField(choices=[ClaimStatus.SUBMITTED, ClaimStatus.REIMBURSED])


class ClaimLeaseSerializer(serializers.Serializer):
    lease = serializers.IntegerField()
    kind = serializers.CharField()
    term_months = serializers.IntegerField(allow_null=True, help_text="long leases")
    start = serializers.DateTimeField()
    end = serializers.DateTimeField(allow_null=True)
    card_model = serializers.IntegerField()
    card_model_name = serializers.CharField()
    domestic = serializers.BooleanField()
    card_hours = serializers.DecimalField(max_digits=20, decimal_places=6)


class ClaimRowSerializer(serializers.Serializer):
    redemption = serializers.IntegerField()
    tenant = serializers.IntegerField()
    tenant_name = serializers.CharField()
    tax_id = serializers.CharField(help_text="as the invoice names the buyer")
    invoice = serializers.IntegerField()
    invoice_number = serializers.CharField()
    fapiao_number = serializers.CharField(allow_null=True)
    leases = ClaimLeaseSerializer(
        many=True, help_text="the leases of the invoice lines the redemption covers"
    )
    card_hours = serializers.DecimalField(max_digits=20, decimal_places=6)
    amount = MoneyField(help_text="the covered amount: what the redemption paid")
    paid_on = serializers.DateField(allow_null=True)
    payment_reference = serializers.CharField(allow_blank=True)


class ClaimSerializer(serializers.Serializer):
    program = serializers.IntegerField()
    month = MonthField()
    status = serializers.CharField()
    requires_payment = serializers.BooleanField(help_text="only paid invoices' redemptions count")
    total = MoneyField()
    rows = ClaimRowSerializer(many=True)


class InvoiceRunSerializer(serializers.ModelSerializer):
    month = MonthField(read_only=True)

    class Meta:
        model = InvoiceRun
        fields = ["id", "month", "status", "invoices", "error", "created_at", "finished_at"]
        read_only_fields = fields


class InvoiceRunCreateSerializer(StrictSerializer):
    month = serializers.RegexField(MONTH_PATTERN)


class BuyerNameField(serializers.CharField):
    """The buyer's name as the invoice's documents show it: frozen at issue (`Invoice.buyer`), the
    tenant's current name on a draft. Read from the invoice row and its selected tenant, so no
    query per row. `source` is the invoice ("*" on an invoice serializer)."""

    def __init__(self, *, source: str = "*", **kwargs: Any) -> None:
        super().__init__(source=source, read_only=True, **kwargs)

    def to_representation(self, value: Any) -> str:
        return str(invoice_buyer(value)["name"])


class InvoiceLineSerializer(serializers.ModelSerializer):
    metric: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True, help_text="null on lease lines"
    )
    quantity = serializers.DecimalField(max_digits=20, decimal_places=6, read_only=True)
    unit_price = UnitPriceField(read_only=True)
    amount = MoneyField(read_only=True)
    card_model_name = name_of("card_model")

    class Meta:
        model = InvoiceLine
        fields = [
            "id", "kind", "lease", "metric", "card_model", "card_model_name", "description",
            "quantity", "unit", "unit_price", "amount", "period_start", "period_end",
        ]  # fmt: skip


class InvoiceRedemptionSerializer(serializers.ModelSerializer):
    amount = MoneyField(read_only=True)

    class Meta:
        model = VoucherRedemption
        fields = ["grant", "amount", "voided_at"]


class PaymentSerializer(serializers.ModelSerializer):
    amount = MoneyField(read_only=True)

    class Meta:
        model = Payment
        fields = ["id", "amount", "paid_on", "reference", "created_at"]
        read_only_fields = fields


class InvoiceSerializer(serializers.ModelSerializer):
    month = MonthField(read_only=True)
    subtotal = MoneyField(read_only=True)
    tax = MoneyField(read_only=True)
    voucher_deduction = MoneyField(read_only=True)
    amount_due = MoneyField(read_only=True)
    tax_rate = serializers.DecimalField(max_digits=5, decimal_places=4, read_only=True)
    lines = InvoiceLineSerializer(many=True, read_only=True)
    redemptions = InvoiceRedemptionSerializer(many=True, read_only=True)
    tenant_name = BuyerNameField(help_text="frozen at issue; a draft shows the current name")
    # Payments and balance (the view fills `preview`, `credited` and `balance`:
    # billing.selectors.invoices_preview_fill).
    preview = serializers.BooleanField(
        read_only=True,
        help_text="true on a draft: voucher_deduction and amount_due are what issuing it now "
        "would give (nothing is redeemed before issue)",
    )
    amount_paid = MoneyField(read_only=True)
    credited = MoneyField(read_only=True, help_text="Σ of its credit notes")
    balance = MoneyField(
        read_only=True, help_text="amount_due − credited − amount_paid (below 0: owed back)"
    )
    payments = PaymentSerializer(many=True, read_only=True)

    class Meta:
        model = Invoice
        fields = [
            "id", "number", "tenant", "tenant_name", "month", "status", "currency", "subtotal",
            "tax_rate", "tax", "voucher_deduction", "amount_due", "preview", "lines",
            "redemptions", "issued_at", "paid_on", "payment_reference", "voided_at",
            "void_reason", "amount_paid", "credited", "balance", "payments",
            "fapiao_number", "fapiao_issued_on",
        ]  # fmt: skip
        read_only_fields = fields


class InvoicePaySerializer(StrictSerializer):
    amount = MoneyField(
        required=False, min_value=Decimal("0.01"), help_text="default: the whole balance"
    )
    paid_on = serializers.DateField(required=False, help_text="default: today")
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class InvoiceVoidSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500)


class CreditNoteSerializer(StrictModelSerializer):
    amount = MoneyField()
    number = serializers.CharField(read_only=True)
    invoice_number = name_of("invoice", "number")
    tenant = serializers.IntegerField(source="invoice.tenant_id", read_only=True)
    tenant_name = BuyerNameField(source="invoice", help_text="as the issued invoice names it")
    reason_code = serializers.ChoiceField(
        choices=CreditReason.choices, help_text="the red-letter (红字) reason"
    )

    class Meta:
        model = CreditNote
        fields = [
            "id",
            "number",
            "invoice",
            "invoice_number",
            "tenant",
            "tenant_name",
            "amount",
            "reason",
            "reason_code",
            "created_at",
            "fapiao_number",
            "fapiao_issued_on",
        ]
        read_only_fields = ["id", "number", "created_at", "fapiao_number", "fapiao_issued_on"]


# --- Invoicing in China: billing profiles and fapiao requests ---


class BillingProfileSerializer(StrictSerializer):
    """A tenant's billing profile (发票抬头). PUT sends it whole, PATCH what changes; `special`
    (专票) needs every field; `tax_id` is an 18-character Unified Social Credit Code whose check
    digit must match."""

    tenant = serializers.IntegerField(source="tenant_id", read_only=True)
    invoice_title = serializers.CharField(max_length=200, help_text="发票抬头: the legal name")
    tax_id = serializers.CharField(
        max_length=24, help_text="统一社会信用代码: 18 characters, check digit validated"
    )
    fapiao_type = serializers.ChoiceField(
        choices=FapiaoType.choices, required=False, default=FapiaoType.ORDINARY
    )
    bank_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    bank_account = serializers.CharField(max_length=40, required=False, allow_blank=True)
    registered_address = serializers.CharField(max_length=300, required=False, allow_blank=True)
    registered_phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    updated_at = serializers.DateTimeField(read_only=True)


class FapiaoPartySerializer(serializers.Serializer):
    name = serializers.CharField()
    tax_id = serializers.CharField()
    address = serializers.CharField()


class FapiaoSellerSerializer(FapiaoPartySerializer):
    phone = serializers.CharField(required=False, default="")
    bank_name = serializers.CharField(required=False, default="")
    bank_account = serializers.CharField(required=False, default="")


class FapiaoBuyerSerializer(FapiaoPartySerializer):
    tenant_id = serializers.IntegerField()
    bank_name = serializers.CharField()
    bank_account = serializers.CharField()
    registered_address = serializers.CharField()
    registered_phone = serializers.CharField()
    email = serializers.CharField()


class FapiaoItemSerializer(serializers.Serializer):
    line = serializers.IntegerField(allow_null=True, help_text="the invoice line; null: a part")
    name = serializers.CharField(help_text="FAPIAO_ITEM_NAME")
    specification = serializers.CharField(help_text="规格型号: the line's description")
    tax_code = serializers.CharField(help_text="税收分类编码 (FAPIAO_TAX_CODE)")
    unit = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=21, decimal_places=6, allow_null=True)
    unit_price = UnitPriceField(allow_null=True)
    amount = MoneyField(help_text="before tax")
    tax_rate = serializers.DecimalField(max_digits=5, decimal_places=4)
    tax = MoneyField(help_text="the invoice's tax split over its lines by largest remainder")


class FapiaoRequestSerializer(serializers.Serializer):
    """What the tax system needs to issue the fapiao: blue for an invoice, red (negative
    amounts, naming the original fapiao and the reason) for a credit note."""

    kind = serializers.ChoiceField(choices=["blue", "red"])
    document_type = serializers.ChoiceField(choices=["invoice", "credit_note"])
    document_id = serializers.IntegerField()
    document_number = serializers.CharField()
    month = MonthField(help_text="the month the invoice was issued or the credit note made")
    tenant_id = serializers.IntegerField()
    fapiao_type = serializers.ChoiceField(choices=FapiaoType.choices)
    seller = FapiaoSellerSerializer()
    buyer = FapiaoBuyerSerializer()
    items = FapiaoItemSerializer(many=True)
    total_amount = MoneyField(help_text="before tax")
    total_tax = MoneyField()
    total_with_tax = MoneyField()
    total_with_tax_in_capitals = serializers.CharField(help_text="价税合计 (大写)")
    fapiao_number = serializers.CharField(allow_null=True)
    fapiao_issued_on = serializers.DateField(allow_null=True)
    original_fapiao_number = serializers.CharField(allow_null=True)
    reason_code = serializers.CharField(allow_null=True)
    reason = serializers.CharField(allow_null=True)


FAPIAO_NUMBER_PATTERN = r"^[0-9]{20}$"


class FapiaoRecordSerializer(StrictSerializer):
    number = serializers.RegexField(
        FAPIAO_NUMBER_PATTERN,
        max_length=20,
        help_text="the 20 digits the tax system gave",
        error_messages={"invalid": "A fapiao number is 20 digits."},
    )
    issued_on = serializers.DateField(help_text="the fapiao's date")


class FapiaoQuerySerializer(StrictSerializer):
    format = serializers.ChoiceField(choices=["json", "csv"], required=False)


class FapiaoExportQuerySerializer(StrictSerializer):
    month = serializers.RegexField(MONTH_PATTERN)
