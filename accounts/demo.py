"""Demo tenants and users for `seed_demo`."""

from __future__ import annotations

from accounts.choices import TenantCategory
from accounts.demo_logins import DEMO_PASSWORD, DEMO_USERNAMES
from accounts.models import Tenant, User
from accounts.services import tenant_create, token_issue, user_create
from core.roles import Role

DEMO_TENANTS = [
    ("Zhiyuan AI Lab", TenantCategory.STARTUP, "91420500MA4F0YL01G", "宜昌市 Yichang, Hubei"),
    ("Shulan Robotics", TenantCategory.SME, "91510100MA6C1RL02R", "成都市 Chengdu, Sichuan"),
    (
        "Xibu Cloud Group",
        TenantCategory.STATE_OWNED,
        "91621000MA7A2XB03H",
        "庆阳市 Qingyang, Gansu",
    ),
]
DEMO_STAFF = [("operator", Role.OPERATOR), ("finance", Role.FINANCE), ("admin", Role.ADMIN)]


def seed() -> None:
    for index, (name, category, tax_id, address) in enumerate(DEMO_TENANTS, start=1):
        tenant = tenant_create(name=name, category=category, tax_id=tax_id, billing_address=address)
        user_create(
            username=f"tenant{index}", role=Role.TENANT, tenant=tenant, password=DEMO_PASSWORD
        )
    for username, role in DEMO_STAFF:
        user_create(username=username, role=role, password=DEMO_PASSWORD)


def describe() -> list[str]:
    """The demo users, each with a fresh API token.

    Tokens are stored as digests, so the key `seed` made cannot be shown again: every
    `seed_demo` (each `make run` start) issues one new token per demo user and prints it. Tokens
    printed by earlier starts keep working until they expire (API_TOKEN_TTL_DAYS)."""
    rows = [f"Demo users (password '{DEMO_PASSWORD}'; tokens issued now, shown once):"]
    users = User.objects.filter(username__in=DEMO_USERNAMES)
    for user in users.select_related("tenant").order_by("id"):
        key = token_issue(actor=None, user=user).key
        tenant = f" ({user.tenant.name})" if user.tenant else ""
        rows.append(f"  {user.username:<9} {user.role:<9} token {key}{tenant}")
    return rows


def is_seeded() -> bool:
    return Tenant.objects.exists()
