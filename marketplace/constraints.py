from core.exceptions import Duplicate, InvalidInput, register_constraint

register_constraint(
    "marketplace_card_unique_serial", Duplicate, "A card with this serial exists.", field="serial"
)
register_constraint(
    "marketplace_server_unique_position",
    Duplicate,
    "This position in the rack is taken.",
    field="position",
)
register_constraint(
    "marketplace_server_unique_name",
    Duplicate,
    "A server with this name is in the rack.",
    field="name",
)
register_constraint(
    "marketplace_rack_unique_name", Duplicate, "A rack with this name is at the site.", field="name"
)
register_constraint(
    "marketplace_site_code_key", Duplicate, "A site with this code exists.", field="code"
)
register_constraint(
    "marketplace_cardmodel_prices_non_negative", InvalidInput, "Prices must not be negative."
)
register_constraint(
    "marketplace_card_capex_non_negative",
    InvalidInput,
    "capex_cost must not be negative.",
    field="capex_cost",
)
