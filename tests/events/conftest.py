"""A real HTTP receiver on 127.0.0.1 (http.server in a thread) and a small fleet to lease."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from accounts.models import Tenant
from core.roles import Role
from events.models import WebhookEndpoint
from leasing.choices import LeaseKind
from leasing.models import Lease
from leasing.services import lease_create
from tests.factories import (
    CardModelFactory,
    RackFactory,
    TenantFactory,
    UserFactory,
    make_server_with_cards,
)


class Receiver:
    """Answers each POST with the next of `statuses` (then 200s) and keeps what it got;
    `hold`, when set, runs before each answer (to hold a request open, or to answer it itself:
    it is given the handler, and the answer is left out when it returns True)."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.hold: Callable[[BaseHTTPRequestHandler], bool | None] | None = None
        self.received: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if receiver.hold is not None and receiver.hold(self):
                    return
                code = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.received.append((dict(self.headers.items()), body, code))
                self.send_response(code)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"


@contextlib.contextmanager
def serving() -> Iterator[Receiver]:
    """A receiver listening on 127.0.0.1 (an ephemeral port) until the block ends."""
    r = Receiver()
    r.thread.start()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving() as r:
        yield r


@pytest.fixture
def world(transactional_db: None) -> dict[str, Any]:
    model = CardModelFactory(hourly_rate="7.5000", monthly_rate="3900.0000")
    rack = RackFactory()
    for _ in range(2):
        make_server_with_cards(rack, model)
    tenant_a, tenant_b = TenantFactory(), TenantFactory()
    return {
        "model": model,
        "a": tenant_a,
        "b": tenant_b,
        "user_a": UserFactory(role=Role.TENANT, tenant=tenant_a),
        "user_b": UserFactory(role=Role.TENANT, tenant=tenant_b),
        "operator": UserFactory(role=Role.OPERATOR),
    }


def endpoint_for(tenant: Tenant | None, url: str, **kwargs: Any) -> WebhookEndpoint:
    from events.services import endpoint_create

    return endpoint_create(actor=None, tenant=tenant, url=url, **kwargs)


def short_lease(world: dict[str, Any], tenant_key: str = "a", count: int = 4) -> Lease:
    return lease_create(
        actor=world[f"user_{tenant_key}"],
        tenant=world[tenant_key],
        kind=LeaseKind.SHORT,
        card_model=world["model"],
        card_count=count,
    )
