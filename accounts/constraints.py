from core.exceptions import Duplicate, InvalidInput, register_constraint

register_constraint(
    "accounts_user_tenant_iff_tenant_role",
    InvalidInput,
    "Tenant users need a tenant; staff users must not have one.",
    field="tenant",
)
register_constraint(
    "accounts_tenant_name_key", Duplicate, "A tenant with this name exists.", field="name"
)
