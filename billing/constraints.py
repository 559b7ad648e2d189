from core.exceptions import Conflict, Duplicate, InvalidInput, register_constraint

register_constraint(
    "billing_vouchergrant_redeemed_within_amount",
    Conflict,
    "The grant's balance was used by another invoice at the same time; try again.",
    code="voucher_exhausted",
)
register_constraint(
    "billing_voucherprogram_granted_within_budget",
    Conflict,
    "The programme's budget is used up.",
    field="amount",
    code="over_budget",
)
register_constraint(
    "billing_invoice_one_per_tenant_month",
    Duplicate,
    "The tenant already has an invoice for this month.",
)
register_constraint(
    "billing_payment_within_balance",
    InvalidInput,
    "The payment is above the invoice's balance (another payment was recorded at the same time).",
    field="amount",
    code="over_balance",
)
register_constraint(
    "billing_invoice_paid_within_amount_due",
    InvalidInput,
    "The invoice's payments would pass its amount due.",
    field="amount",
    code="over_balance",
)
