"""Console pages at the generated fleet: each page's time under gunicorn (p95 < 150 ms).

Each role signs in through the console's own login form (a session cookie, as a browser) and
requests its pages one after another on one keep-alive connection: `--warmup` rounds over all
pages, then `--requests` rounds; every answer must be a 200 HTML page (any other status fails the
benchmark: its time would be a refusal's). The figure per page is the time from sending the
request to the last byte of the body, measured by the client on the same machine (loopback), so
it is the server's time plus a fraction of a millisecond.

What the pages show is made present first, the way the service makes it: the nightly occupancy
of the last 90 days (`recompute_occupancy`) when the bench database has none for yesterday, and
last month's invoices (`run_invoices`) when there are none. The tenant user belongs to the tenant
with the most leases; the site is the one with the most racks; the rack, its most populated.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from bench.harness import ApiClient, BenchError, Context, latency_summary

TARGET_P95_MS = 150.0
HISTORY_DAYS = 90
ROUNDS_DEFAULT = 60  # rounds over every page when --requests is the default 500 (all pages ~18)

# role, page name, path: `{site}`, `{rack}`, `{invoice}`, `{month}` come from the world below.
PAGES: tuple[tuple[str, str, str], ...] = (
    ("operator", "fleet overview", "/console/fleet/"),
    ("operator", "site heat map", "/console/fleet/sites/{site}/"),
    ("operator", "rack servers and cards", "/console/fleet/racks/{rack}/"),
    ("operator", "sites", "/console/fleet/sites/"),
    ("operator", "business cases", "/console/business-cases/"),
    ("operator", "business case form", "/console/business-cases/sites/{site}/"),
    ("finance", "month end", "/console/billing/month-end/?month={month}"),
    ("finance", "vouchers", "/console/billing/vouchers/"),
    ("finance", "revenue", "/console/revenue/"),
    ("tenant", "leases", "/console/leases/"),
    ("tenant", "usage", "/console/billing/usage/"),
    ("tenant", "invoices", "/console/billing/invoices/"),
    ("tenant", "invoice", "/console/billing/invoices/{invoice}/"),
    ("tenant", "vouchers (tenant)", "/console/billing/vouchers/"),
)

_WORLD_SQL = {
    "tenant": """
        SELECT tenant_id FROM leasing_lease GROUP BY tenant_id ORDER BY count(*) DESC, tenant_id
        LIMIT 1""",
    "site": """
        SELECT site_id FROM marketplace_rack GROUP BY site_id ORDER BY count(*) DESC, site_id
        LIMIT 1""",
    "rack": """
        SELECT s.rack_id FROM marketplace_server s JOIN marketplace_card c ON c.server_id = s.id
        JOIN marketplace_rack r ON r.id = s.rack_id
        WHERE r.site_id = %(site)s GROUP BY s.rack_id ORDER BY count(*) DESC, s.rack_id LIMIT 1""",
    "invoice": """
        SELECT id FROM billing_invoice WHERE tenant_id = %(tenant)s ORDER BY month DESC, id
        LIMIT 1""",
}


class Session(ApiClient):
    """One signed-in browser: a keep-alive connection and the session cookie."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port, token=None, accept="text/html")

    def login(self, username: str, password: str) -> None:
        page = self.get("/console/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
        if page.status != 200 or token is None:
            raise BenchError(f"login page answered {page.status}")
        form = urlencode(
            {
                "csrfmiddlewaretoken": token.group(1).decode(),
                "username": username,
                "password": password,
            }
        ).encode()
        answer = self.request(
            "POST", "/console/login/", body=form,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
        if answer.status != 302 or "sessionid" not in self.cookies:
            raise BenchError(f"{username} could not sign in: {answer.status} {answer.body[:200]!r}")


def _one(ctx: Context, query: str, params: dict[str, Any]) -> int:
    with ctx.connect() as conn:
        row = conn.execute(query, params).fetchone()
    if row is None:
        raise BenchError(f"nothing found for {query.split()[1]!r}: is the fleet generated?")
    return int(row[0])


def _prepare(ctx: Context) -> dict[str, Any]:
    """Yesterday's occupancy and last month's invoices, made by the service when missing."""
    with ctx.connect() as conn:
        today = conn.execute("SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date").fetchone()
        assert today is not None
        yesterday: dt.date = today[0] - dt.timedelta(days=1)
        last_month = (today[0].replace(day=1) - dt.timedelta(days=1)).replace(day=1)
        has_day = conn.execute(
            "SELECT 1 FROM analytics_sitedaily WHERE day = %s LIMIT 1", [yesterday]
        ).fetchone()
        has_invoices = conn.execute(
            "SELECT 1 FROM billing_invoice WHERE month = %s LIMIT 1", [last_month]
        ).fetchone()
    if not has_day:
        first = yesterday - dt.timedelta(days=HISTORY_DAYS - 1)
        ctx.manage(
            "recompute_occupancy", "--from", first.isoformat(), "--to", yesterday.isoformat()
        )
    if not has_invoices:
        ctx.manage("run_invoices", "--month", last_month.strftime("%Y-%m"))
    world: dict[str, Any] = {"month": last_month.strftime("%Y-%m")}
    world["tenant"] = _one(ctx, _WORLD_SQL["tenant"], world)
    world["site"] = _one(ctx, _WORLD_SQL["site"], world)
    world["rack"] = _one(ctx, _WORLD_SQL["rack"], world)
    world["invoice"] = _one(ctx, _WORLD_SQL["invoice"], world)
    return world


def _sessions(ctx: Context, world: dict[str, Any]) -> dict[str, Session]:
    password = secrets.token_urlsafe(16)
    users = {
        "operator": ("bench-console-operator", "operator", None),
        "finance": ("bench-console-finance", "finance", None),
        "tenant": ("bench-console-tenant", "tenant", world["tenant"]),
    }
    # the users (found again on later runs) with this run's password
    code = (
        f"SPECS, PASSWORD = {list(users.values())!r}, {password!r}\n"
        "from accounts.models import Tenant, User\n"
        "from accounts.services import user_create\n"
        "for username, role, tenant_id in SPECS:\n"
        "    user = User.objects.filter(username=username).first()\n"
        "    if user is None:\n"
        "        tenant = Tenant.objects.get(pk=tenant_id) if tenant_id else None\n"
        "        user = user_create(username=username, role=role, tenant=tenant)[0]\n"
        "    user.set_password(PASSWORD)\n"
        "    user.save(update_fields=['password'])\n"
    )
    ctx.manage("shell", "-v", "0", "-c", code)
    assert ctx.port is not None
    sessions = {}
    for role, (username, _, _) in users.items():
        sessions[role] = Session(ctx.host, ctx.port)
        sessions[role].login(username, password)
    return sessions


def run(ctx: Context) -> dict[str, Any]:
    world = _prepare(ctx)
    sessions = _sessions(ctx, world)
    pages = [(role, name, path.format(**world)) for role, name, path in PAGES]
    rounds = ROUNDS_DEFAULT if ctx.requests == 500 else max(ctx.requests, 2)
    samples: dict[str, list[float]] = {name: [] for _, name, _ in pages}
    started = time.perf_counter()
    try:
        for round_ in range(ctx.warmup // 10 + rounds):
            for role, name, path in pages:
                answer = sessions[role].get(path)
                if answer.status != 200 or b"<html" not in answer.body[:200]:
                    raise BenchError(
                        f"{role} GET {path} answered {answer.status}: {answer.body[:200]!r}"
                    )
                if round_ >= ctx.warmup // 10:
                    samples[name].append(answer.elapsed)
    finally:
        for session in sessions.values():
            session.close()
    wall = time.perf_counter() - started
    rows: list[dict[str, Any]] = []
    for role, name, _path in pages:
        summary = latency_summary(samples[name], wall)
        summary.pop("req_per_s")
        rows.append({"variant": name, "role": role, "requests": len(samples[name]), **summary})
    worst = max(float(row["p95_ms"]) for row in rows)
    return {
        "rows": rows,
        "target": f"every page p95 < {TARGET_P95_MS:.0f} ms at 10,000 cards",
        "meets_target": worst < TARGET_P95_MS,
        "worst_p95_ms": worst,
        "world": world,
        "paths": {name: path for _, name, path in pages},
    }
