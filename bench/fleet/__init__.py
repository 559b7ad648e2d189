"""The generated fleet the benchmarks run on (`manage.py generate_fleet`, docs/performance.md).

`inventory.generate_inventory` builds the sites, racks, servers and cards; `leases.generate_leases`
then adds a year of leasing over them. Benchmark-only: no app imports this package.
"""

from __future__ import annotations

from marketplace.models import Site

from .inventory import generate_inventory
from .leases import generate_leases

PREFIX = "GF"


class FleetError(Exception):
    """The fleet cannot be generated here (already present, or bad sizes)."""


def generate_fleet(*, cards: int, days: int, seed: int) -> dict[str, dict[str, int]]:
    """The inventory of about `cards` cards, then `days` days of leasing; a fresh database only."""
    if cards <= 0 or days <= 0:
        raise FleetError("--cards and --days must be positive")
    if Site.objects.filter(code__startswith=PREFIX).exists():
        raise FleetError(
            f"A generated fleet is already here (sites {PREFIX}…); use a fresh database."
        )
    return {
        "generate_inventory": generate_inventory(cards=cards, prefix=PREFIX),
        "generate_leases": generate_leases(days=days, seed=seed),
    }
