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
    "billing_vouchergrant_program_open",
    Conflict,
    "The programme is closed: it takes no new grants.",
    code="program_closed",
)
register_constraint(
    "billing_voucherredemption_grant_open",
    Conflict,
    "The grant is revoked: nothing more is redeemed from it.",
    code="grant_revoked",
)
register_constraint(
    "billing_voucherredemption_program_open",
    Conflict,
    "The grant's programme is closed: nothing more is redeemed from it.",
    code="program_closed",
)

# Invoicing in China: the database's last word where two requests race.
register_constraint(
    "billing_invoice_fapiao_number_key",
    Duplicate,
    "This fapiao number is already recorded on another invoice.",
    field="number",
)
register_constraint(
    "billing_creditnote_fapiao_number_key",
    Duplicate,
    "This fapiao number is already recorded on another credit note.",
    field="number",
)
register_constraint(
    "billing_invoice_void_has_no_fapiao",
    Conflict,
    "The invoice has a recorded fapiao; it cannot be voided: issue a credit note instead.",
    code="fapiao_recorded",
)
register_constraint(
    "billing_billingprofile_tenant_id_key",
    Conflict,
    "The billing profile was saved by another request at the same time; try again.",
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
