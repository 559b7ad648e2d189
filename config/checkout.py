"""The embedded servers' ports of a checkout (`make run`'s PostgreSQL and Redis under var/).

Two checkouts on one machine never share an embedded server: each one's ports come from a stable
hash of its path, or from var/ports.env once scripts/stack.py has written them there (it moves a
checkout to the next free pair when its own are taken by something else). config/settings.py
reads the same, so `manage.py` in another shell reaches this checkout's servers. No Django here:
scripts/stack.py imports it before Django is set up.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

PORTS_FILE = Path("var") / "ports.env"
# PostgreSQL on 24000-24998 (even), Redis on 26000-26998: below Linux's ephemeral range (32768
# and up), where a client socket of any process may hold a port for a moment and make the
# server's bind fail although nothing listens there.
POSTGRES_BASE = 24000
REDIS_BASE = 26000
SLOTS = 500


@dataclass(frozen=True)
class EmbeddedPorts:
    postgres: int
    redis: int

    @classmethod
    def for_slot(cls, slot: int) -> EmbeddedPorts:
        slot %= SLOTS
        return cls(postgres=POSTGRES_BASE + 2 * slot, redis=REDIS_BASE + 2 * slot)

    def env_text(self) -> str:
        return f"EMBEDDED_POSTGRES_PORT={self.postgres}\nEMBEDDED_REDIS_PORT={self.redis}\n"


def derived_slot(root: Path) -> int:
    """A stable number for the checkout at `root` (the same path, the same number)."""
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()
    return int(digest, 16) % SLOTS


def embedded_ports(root: Path) -> EmbeddedPorts:
    """The ports written in `root`/var/ports.env, else the ones derived from the path."""
    path = root / PORTS_FILE
    if path.is_file():
        values = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
        return EmbeddedPorts(
            postgres=int(values["EMBEDDED_POSTGRES_PORT"]),
            redis=int(values["EMBEDDED_REDIS_PORT"]),
        )
    return EmbeddedPorts.for_slot(derived_slot(root))
