from core.exceptions import NoCapacity, register_constraint

register_constraint(
    "leasing_allocation_no_double_booking",
    NoCapacity,
    "Those cards were just taken by another lease; try again.",
)
