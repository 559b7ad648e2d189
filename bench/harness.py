"""What benchmarks share: the run context, an HTTP client, latency statistics.

A benchmark is a module `bench/<name>.py` with `run(ctx: Context) -> dict[str, Any]`, listed in
`bench/run.py`'s `BENCHMARKS`. What it returns is recorded as-is in the results file; by
convention it holds:

- `rows`: one flat dict per variant (`variant` first), printed as the results table;
- `target` (text) and `meets_target` (bool) when it has a target (docs/performance.md, Targets);
- anything else worth keeping (details, failure examples).

A module that does not need the web server sets `NEEDS_SERVER = False`.
"""

from __future__ import annotations

import http.client
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent


class BenchError(Exception):
    """A benchmark could not run (not a slow result: a broken precondition or response)."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    elapsed: float  # seconds, from sending the request to the last byte of the body
    new_connection: bool  # a TCP connection was opened for this request

    def json(self) -> Any:
        return json.loads(self.body)


class ApiClient:
    """One persistent (keep-alive) HTTP/1.1 connection with token authentication, or with the
    cookies the server sets (a browser's session: `token=None`, `accept="text/html"`).

    `http.client` reopens the connection by itself when the server closed it (gunicorn's sync
    workers answer `Connection: close`); `connections_opened` says how often that happened.
    """

    def __init__(
        self,
        host: str,
        port: int,
        token: str | None,
        timeout: float = 60,
        accept: str = "application/json",
    ) -> None:
        self._conn = http.client.HTTPConnection(host, port, timeout=timeout)
        self._headers = {"Accept": accept}
        if token:
            self._headers["Authorization"] = f"Token {token}"
        self.cookies: dict[str, str] = {}
        self.connections_opened = 0

    def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, object] | None = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        url = f"{path}?{urlencode(params)}" if params else path
        all_headers = {**self._headers, **(headers or {})}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            fresh = self._conn.sock is None
            started = time.perf_counter()
            try:
                self._conn.request(method, url, body=body, headers=all_headers)
                response = self._conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A kept-alive connection the server had already closed: reconnect once.
                self._conn.close()
                if fresh or attempt == 2:
                    raise
                continue
            elapsed = time.perf_counter() - started
            if fresh:
                self.connections_opened += 1
            for header in response.headers.get_all("Set-Cookie") or []:
                jar: SimpleCookie = SimpleCookie(header)
                self.cookies.update({key: morsel.value for key, morsel in jar.items()})
            return Response(response.status, data, elapsed, fresh)
        raise AssertionError("unreachable")

    def get(self, path: str, params: Mapping[str, object] | None = None) -> Response:
        return self.request("GET", path, params)

    def get_json(self, path: str, params: Mapping[str, object] | None = None) -> Any:
        response = self.get(path, params)
        if response.status != 200:
            raise BenchError(f"GET {path} answered {response.status}: {response.body[:300]!r}")
        return response.json()

    def list_all(self, path: str, params: Mapping[str, object] | None = None) -> list[Any]:
        """Every row of a paginated list endpoint (following `next`)."""
        rows: list[Any] = []
        page: Any = self.get_json(path, {"page_size": 500, **(params or {})})
        while True:
            rows.extend(page["results"])
            if not page.get("next"):
                return rows
            parts = urlsplit(page["next"])
            page = self.get_json(f"{parts.path}?{parts.query}")

    def close(self) -> None:
        self._conn.close()


@dataclass(frozen=True)
class Context:
    """What a benchmark gets: the bench database, the running server, a tenant token."""

    env: dict[str, str]  # the bench environment (DATABASE_URL of aidc_bench, REDIS_URL, …)
    database_url: str
    host: str
    port: int | None  # None when no selected benchmark needs the web server
    token: str  # a tenant user's API token
    warmup: int  # requests (or rounds) before measuring
    requests: int  # measured requests (or rounds)
    seed: int
    seconds: float | None = None  # a time-bound benchmark's duration (`--seconds`), if given

    def client(self, token: str | None = None) -> ApiClient:
        """A fresh connection to the server, authenticated as the bench tenant by default."""
        if self.port is None:
            raise BenchError("the web server is not running (NEEDS_SERVER = False?)")
        return ApiClient(self.host, self.port, token or self.token)

    def connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        """A direct connection to the bench database (for SQL baselines)."""
        return psycopg.connect(self.database_url, autocommit=True)

    def manage(self, *args: str) -> str:
        """Run `manage.py` against the bench database; return its stdout."""
        return manage(self.env, *args)

    def tenant_users(self, count: int, label: str) -> list[TenantUser]:
        """`count` tenant users, each of its own tenant, with real API tokens (see below)."""
        return create_tenant_users(self.env, count, label)

    def users(self, specs: list[tuple[str, str, int | None]]) -> dict[str, str]:
        """Users (username, role, existing tenant id or None) with their tokens (see below)."""
        return create_users(self.env, specs)


def manage(env: Mapping[str, str], *args: str, capture: bool = True) -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=dict(env),
        cwd=ROOT,
        check=True,
        text=True,
        stdout=subprocess.PIPE if capture else None,
    )
    return result.stdout or ""


@dataclass(frozen=True)
class TenantUser:
    username: str
    tenant_id: int
    token: str


# Run by `manage.py shell` after a line setting COUNT and LABEL: the tenants and users are found
# again on later runs (so reruns add nothing), created through the accounts services otherwise.
# Shared by the two snippets below: a user found again (or created through the services) and
# a fresh key for it. Tokens are stored hashed, so a key cannot be read back: a rerun revokes the
# last run's tokens and issues a new one.
_FRESH_KEY_CODE = """
from accounts.models import Tenant, User
from accounts.services import tenant_create, token_issue, tokens_revoke_all, user_create


def fresh_key(username, role, tenant):
    user = User.objects.filter(username=username).first()
    if user is None:
        return user_create(username=username, role=role, tenant=tenant)[1]
    tokens_revoke_all(actor=None, user=user)
    return token_issue(actor=None, user=user).key
"""

_TENANT_USERS_CODE = """
for n in range(1, COUNT + 1):
    name = f"Bench {LABEL} tenant {n:02d}"
    tenant = Tenant.objects.filter(name=name).first() or tenant_create(name=name)
    username = f"bench-{LABEL}-{n:02d}"
    print("TENANT-USER", username, tenant.pk, fresh_key(username, "tenant", tenant))
"""


def create_tenant_users(env: Mapping[str, str], count: int, label: str) -> list[TenantUser]:
    """`count` tenant users `bench-<label>-NN`, each of its own tenant `Bench <label> tenant NN`,
    in one `manage.py shell` run (one Django start-up, not one per user). The same users come
    back on later runs, each with a fresh token (tokens are stored hashed: a key cannot be read
    back), which replaces the earlier run's."""
    if count < 1 or not label.replace("-", "").isalnum():
        raise BenchError(f"bad tenant users request: {count} × {label!r}")
    code = f"COUNT, LABEL = {count}, {label!r}\n{_FRESH_KEY_CODE}{_TENANT_USERS_CODE}"
    users = []
    for line in manage(env, "shell", "-v", "0", "-c", code).splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] == "TENANT-USER":
            users.append(TenantUser(username=parts[1], tenant_id=int(parts[2]), token=parts[3]))
    if len(users) != count:
        raise BenchError(f"created {len(users)} of {count} tenant users")
    return users


# Run by `manage.py shell` after a line setting SPECS: users of given roles, tenant users of
# existing tenants (by id); found again on later runs, created through accounts.services otherwise.
_USERS_CODE = """
for username, role, tenant_id in SPECS:
    tenant = Tenant.objects.get(pk=tenant_id) if tenant_id is not None else None
    print("USER", username, fresh_key(username, role, tenant))
"""


def create_users(
    env: Mapping[str, str], specs: list[tuple[str, str, int | None]]
) -> dict[str, str]:
    """Users `(username, role, tenant id)` (tenant id: an existing tenant, None for staff) in one
    `manage.py shell` run; a fresh key of each by username. The same users come back on later runs
    (a username already taken keeps its role and tenant)."""
    if not specs or any(not name.replace("-", "").isalnum() for name, _, _ in specs):
        raise BenchError(f"bad users request: {specs!r}")
    code = f"SPECS = {specs!r}\n{_FRESH_KEY_CODE}{_USERS_CODE}"
    tokens = {}
    for line in manage(env, "shell", "-v", "0", "-c", code).splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "USER":
            tokens[parts[1]] = parts[2]
    if len(tokens) != len(specs):
        raise BenchError(f"created {len(tokens)} of {len(specs)} users")
    return tokens


def latency_summary(samples: list[float], wall: float) -> dict[str, float]:
    """Median, p95, p99 and max in ms of per-request times (seconds); req/s over `wall`."""
    if len(samples) < 2:
        raise BenchError("need at least two samples")
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {
        "median_ms": round(statistics.median(samples) * 1000, 2),
        "p95_ms": round(cuts[94] * 1000, 2),
        "p99_ms": round(cuts[98] * 1000, 2),
        "max_ms": round(max(samples) * 1000, 2),
        "mean_ms": round(statistics.fmean(samples) * 1000, 2),
        "req_per_s": round(len(samples) / wall, 1),
    }
