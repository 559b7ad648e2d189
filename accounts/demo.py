"""Demo tenants and users for `seed_demo`."""

from __future__ import annotations

from accounts.choices import TenantCategory
from accounts.models import Tenant, User
from accounts.services import tenant_create, user_create
from core.roles import Role

DEMO_TENANTS = [
    ("Zhiyuan AI Lab", TenantCategory.STARTUP, "91420500MA4F0ZY01X", "宜昌市 Yichang, Hubei"),
    ("Shulan Robotics", TenantCategory.SME, "91510100MA6C1SL02K", "成都市 Chengdu, Sichuan"),
    (
        "Xibu Cloud Group",
        TenantCategory.STATE_OWNED,
        "91621000MA7A2XB03P",
        "庆阳市 Qingyang, Gansu",
    ),
]
DEMO_STAFF = [("operator", Role.OPERATOR), ("finance", Role.FINANCE), ("admin", Role.ADMIN)]
DEMO_PASSWORD = "demo-password"


def seed() -> None:
    for index, (name, category, tax_id, address) in enumerate(DEMO_TENANTS, start=1):
        tenant = tenant_create(name=name, category=category, tax_id=tax_id, billing_address=address)
        user_create(
            username=f"tenant{index}", role=Role.TENANT, tenant=tenant, password=DEMO_PASSWORD
        )
    for username, role in DEMO_STAFF:
        user_create(username=username, role=role, password=DEMO_PASSWORD)


def describe() -> list[str]:
    rows = [f"Demo users (password '{DEMO_PASSWORD}'):"]
    users = User.objects.filter(
        username__in=[u for u, _ in DEMO_STAFF] + ["tenant1", "tenant2", "tenant3"]
    )
    for user in users.select_related("auth_token", "tenant").order_by("id"):
        token = getattr(user, "auth_token", None)
        tenant = f" ({user.tenant.name})" if user.tenant else ""
        rows.append(
            f"  {user.username:<9} {user.role:<9} token {token.key if token else '-'}{tenant}"
        )
    return rows


def is_seeded() -> bool:
    return Tenant.objects.exists()
