"""Delivery to a real receiver on 127.0.0.1: signatures, retries, the sweep, the outbox."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
import time_machine
from django.db import transaction
from rest_framework.test import APIClient
from standardwebhooks.webhooks import Webhook

from core.exceptions import NoCapacity
from events import services
from events.choices import DeliveryStatus, EventType
from events.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint
from events.selectors import deliveries_due
from events.tasks import sweep_deliveries
from leasing.choices import LeaseKind
from leasing.services import lease_create, lease_stop
from tests.events.conftest import Receiver, endpoint_for, short_lease
from tests.factories import api_key

pytestmark = pytest.mark.usefixtures("no_dispatch", "no_grace")


@pytest.fixture
def no_grace(settings: Any) -> None:
    """The sweep takes first attempts at once (its grace leaves them to the hand-over)."""
    settings.WEBHOOK_SWEEP_GRACE_SECONDS = 0


@pytest.fixture
def no_dispatch(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """The after-commit hand-over with the broker away: nothing reaches a worker that way."""
    handed: list[tuple[Any, ...]] = []

    def nudge(name: str, *args: Any) -> bool:
        handed.append(args)
        return False

    monkeypatch.setattr(services, "enqueue_nudge", nudge)
    return handed


@pytest.fixture
def eager() -> Any:
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def attempt_all() -> list[str]:
    return [services.delivery_attempt(delivery_id=pk) for pk in deliveries_due()]


def test_a_delivery_is_signed_and_verifies_with_the_library(world, receiver: Receiver) -> None:
    endpoint = endpoint_for(world["a"], receiver.url)
    lease = short_lease(world)
    assert attempt_all() == ["delivered"]
    [(headers, body, _)] = receiver.received
    event = Event.objects.get()
    payload = Webhook(endpoint.secret).verify(body, headers)
    assert headers["webhook-id"] == str(event.id) == payload["id"]
    assert payload["type"] == "lease.created" and payload["data"]["id"] == lease.pk
    # the body is the event as the API shows it, and its data the lease as the API shows it
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key(world['user_a'])}")
    assert client.get(f"/api/v1/events/{event.id}/").json() == payload
    assert client.get(f"/api/v1/leases/{lease.pk}/").json() == payload["data"]
    # a forged or re-signed body does not verify
    with pytest.raises(Exception, match="signature"):
        Webhook(services._new_secret()).verify(body, headers)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)


def test_failing_twice_then_succeeding_delivers_once_after_three_attempts(
    world, receiver: Receiver, settings: Any
) -> None:
    settings.WEBHOOK_RETRY_DELAYS = [0] * 7  # the schedule itself is tested below
    endpoint_for(world["a"], receiver.url)
    receiver.statuses = [500, 503]
    short_lease(world)
    results = attempt_all() + attempt_all() + attempt_all() + attempt_all()
    assert results == ["retrying", "retrying", "delivered"]
    assert [code for _, _, code in receiver.received] == [500, 503, 200]
    assert len({h["webhook-id"] for h, _, _ in receiver.received}) == 1
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 3)
    log = list(
        DeliveryAttempt.objects.order_by("number").values_list("number", "status_code", "ok")
    )
    assert log == [(1, 500, False), (2, 503, False), (3, 200, True)]


def test_a_worker_lost_between_commit_and_delivery_loses_nothing(
    world, receiver: Receiver, settings: Any, eager: None, no_dispatch: list[tuple[Any, ...]]
) -> None:
    endpoint_for(world["a"], receiver.url)
    short_lease(world)  # committed; the hand-over to the queue is lost (broker away)
    assert no_dispatch and receiver.received == []
    assert Delivery.objects.get().status == DeliveryStatus.PENDING
    assert sweep_deliveries() == 1  # beat's sweep (or a restarted worker's first act)
    assert len(receiver.received) == 1
    assert Delivery.objects.get().status == DeliveryStatus.DELIVERED
    assert sweep_deliveries() == 0  # delivered once


def test_a_claimed_delivery_is_not_posted_twice(world, receiver: Receiver) -> None:
    endpoint_for(world["a"], receiver.url)
    short_lease(world)
    delivery = Delivery.objects.get()
    assert services._claim([delivery.pk]) != []  # a worker holds it (and then dies)
    assert services.delivery_attempt(delivery_id=delivery.pk) == "skipped"
    assert deliveries_due() == []
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=services.CLAIM_SECONDS + 1)
    assert deliveries_due(now=later) == [delivery.pk]  # its claim expired: the sweep takes it


def test_no_transaction_is_open_while_posting(world, receiver: Receiver, monkeypatch) -> None:
    from django.db import connections

    caller = connections["default"]  # the delivering thread's connection (POSTs run on others)
    endpoint_for(world["a"], receiver.url)
    short_lease(world)
    real_post = services._post
    seen: list[bool] = []

    def post(*args: Any) -> services.Outcome:
        seen.append(caller.in_atomic_block)
        return real_post(*args)

    monkeypatch.setattr(services, "_post", post)
    assert attempt_all() == ["delivered"] and seen == [False]
    with transaction.atomic(), pytest.raises(RuntimeError, match="never runs inside"):
        services.delivery_attempt(delivery_id=Delivery.objects.get().pk)


def test_a_rolled_back_lease_creation_emits_nothing(world, receiver: Receiver) -> None:
    endpoint_for(world["a"], receiver.url)

    def lease_then_fail() -> None:
        with transaction.atomic():
            short_lease(world)
            assert Event.objects.count() == 1 and Delivery.objects.count() == 1
            raise RuntimeError("the change fails after the lease was made")

    with pytest.raises(RuntimeError):
        lease_then_fail()
    with pytest.raises(NoCapacity):
        short_lease(world, count=99)
    assert Event.objects.count() == 0 and Delivery.objects.count() == 0
    assert attempt_all() == [] and receiver.received == []


def test_endpoints_receive_their_tenants_events_and_staff_all(world, receiver: Receiver) -> None:
    mine = endpoint_for(world["a"], receiver.url)
    theirs = endpoint_for(world["b"], receiver.url)
    staff = endpoint_for(None, receiver.url)
    only_ends = endpoint_for(world["a"], receiver.url, event_types=["lease.ended"])
    off = endpoint_for(world["a"], receiver.url, active=False)
    lease = short_lease(world)
    lease_stop(actor=world["user_a"], lease=lease)
    got = {(d.endpoint_id, d.event.type) for d in Delivery.objects.select_related("event").all()}
    assert got == {
        (mine.pk, "lease.created"),
        (mine.pk, "lease.ended"),
        (staff.pk, "lease.created"),
        (staff.pk, "lease.ended"),
        (only_ends.pk, "lease.ended"),
    }
    assert theirs.pk not in {e for e, _ in got} and off.pk not in {e for e, _ in got}


class _Failing:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, endpoint: Any, event: Any, watch: Any = None) -> services.Outcome:
        self.calls += 1
        return services.Outcome(ok=False, status_code=502, duration_ms=3, error="HTTP 502")


def test_retries_follow_the_schedule_then_fail_and_the_endpoint_is_disabled_after_3_days(
    world, monkeypatch
) -> None:
    post = _Failing()
    monkeypatch.setattr(services, "_post", post)
    endpoint = endpoint_for(world["a"], "https://hooks.example.com/x")
    start = dt.datetime(2027, 3, 10, 4, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as traveller:
        short_lease(world)
        delivery = Delivery.objects.get()
        gaps = []
        for _ in range(8):
            assert services.delivery_attempt(delivery_id=delivery.pk) != "skipped"
            delivery.refresh_from_db()
            if delivery.next_attempt_at is None:
                break
            gaps.append((delivery.next_attempt_at - dt.datetime.now(dt.UTC)).total_seconds())
            assert services.delivery_attempt(delivery_id=delivery.pk) == "skipped"  # not yet due
            traveller.move_to(delivery.next_attempt_at)
        assert gaps == [5, 60, 300, 1800, 7200, 18000, 36000]
        assert (delivery.status, delivery.attempts, post.calls) == ("failed", 8, 8)
        endpoint.refresh_from_db()
        assert endpoint.active  # failing for ~17.6 h, not 3 days
        # a later event fails on for three days: the endpoint is turned off, saying why
        traveller.move_to(start + dt.timedelta(days=3, minutes=1))
        lease_create(
            actor=world["user_a"],
            tenant=world["a"],
            kind=LeaseKind.SHORT,
            card_model=world["model"],
            card_count=1,
        )
        later = Delivery.objects.exclude(pk=delivery.pk).get()
        assert services.delivery_attempt(delivery_id=later.pk) == "retrying"
    endpoint.refresh_from_db()
    assert not endpoint.active and "every delivery attempt failed since" in endpoint.disabled_reason
    later.refresh_from_db()
    with time_machine.travel(later.next_attempt_at, tick=False):
        assert services.delivery_attempt(delivery_id=later.pk) == "failed"  # off: not posted
    assert post.calls == 9


def test_the_guard_runs_again_at_delivery(world, receiver: Receiver, settings: Any) -> None:
    endpoint_for(world["a"], receiver.url)  # allowed: private receivers are on in tests
    short_lease(world)
    settings.WEBHOOK_ALLOW_PRIVATE = False
    assert attempt_all() == ["retrying"]
    assert receiver.received == []
    assert "https" in Delivery.objects.get().last_error


def test_events_are_recorded_only_inside_a_transaction_and_of_known_types(world) -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        services.event_record(type="lease.exploded", tenant=world["a"], data={})
    with pytest.raises(RuntimeError, match="inside the transaction"):
        services.event_record(type=EventType.LEASE_CREATED, tenant=world["a"], data={})
    with transaction.atomic():
        services.event_record(type=EventType.LEASE_CREATED, tenant=world["a"], data={"id": 1})
    assert Event.objects.get().data == {"id": 1}


def _endpoints(world: dict[str, Any], url: str, count: int) -> None:
    for _ in range(count):
        endpoint_for(world["a"], url)


def test_a_batch_is_posted_at_once(world, receiver: Receiver) -> None:
    """Three receivers' requests are all open together: one slow receiver does not hold up the
    others (posted one after the other, the barrier would break)."""
    _endpoints(world, receiver.url, 3)
    barrier = threading.Barrier(3, timeout=5)
    receiver.hold = lambda _: bool(barrier.wait()) and None
    short_lease(world)
    results = services.deliveries_attempt(deliveries_due())
    assert list(results.values()) == ["delivered"] * 3
    assert not barrier.broken


def test_no_answer_within_the_timeout_in_all_is_a_failed_attempt(
    world, receiver: Receiver, settings: Any
) -> None:
    """5 s in all, not per read: a receiver trickling its headers, each within the read
    timeout, still fails at the deadline (here 1 s)."""
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    stop = threading.Event()

    def trickle(handler: Any) -> bool:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
        while not stop.wait(0.3):
            handler.wfile.write(b"x-slow: 1\r\n")
            handler.wfile.flush()
        return True

    receiver.hold = trickle
    endpoint_for(world["a"], receiver.url)
    short_lease(world)
    try:
        assert attempt_all() == ["retrying"]
    finally:
        stop.set()
    delivery = Delivery.objects.get()
    assert delivery.last_error == "No answer within 1 s." and delivery.last_duration_ms == 1000


def test_a_name_that_resolves_elsewhere_at_delivery_is_refused_before_sending(
    world, receiver: Receiver, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name passes the check (public when asked) but the connection reaches
    127.0.0.1. The connection's own peer is checked before anything is sent."""
    from events import guard

    monkeypatch.setattr(guard, "resolve", lambda host, port: ["93.184.216.34"])
    settings.WEBHOOK_ALLOW_PRIVATE = False
    port = receiver.server.server_address[1]
    endpoint_for(world["a"], f"https://localhost:{port}/hooks")
    short_lease(world)
    assert attempt_all() == ["retrying"]
    assert receiver.received == []
    assert Delivery.objects.get().last_error == (
        "The host localhost led to 127.0.0.1, a private, loopback, link-local or reserved "
        "address; webhooks go to public addresses only."
    )


def test_one_batch_takes_the_same_queries_whatever_its_size(world, receiver: Receiver) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries_for(endpoints: int) -> int:
        Delivery.objects.all().delete()
        _endpoints(world, receiver.url, endpoints)
        lease = short_lease(world, count=1)
        with CaptureQueriesContext(connection) as captured:
            results = services.deliveries_attempt(deliveries_due())
        assert set(results.values()) == {"delivered"}
        lease_stop(actor=world["user_a"], lease=lease)
        Delivery.objects.all().delete()
        WebhookEndpoint.objects.all().delete()
        return len(captured)

    assert queries_for(2) == queries_for(15)


def test_a_batch_records_each_outcome_and_each_endpoint(world, receiver: Receiver) -> None:
    from tests.events.conftest import serving

    with serving() as failing:
        failing.statuses = [500]
        good = endpoint_for(world["a"], receiver.url)
        bad = endpoint_for(world["a"], failing.url)
        short_lease(world)
        results = services.deliveries_attempt(deliveries_due())
    by_endpoint = {d.endpoint_id: results[d.pk] for d in Delivery.objects.all()}
    assert by_endpoint == {good.pk: "delivered", bad.pk: "retrying"}
    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.failing_since is None and bad.failing_since is not None
    assert list(DeliveryAttempt.objects.values_list("ok", flat=True).order_by("ok")) == [
        False,
        True,
    ]


def test_a_late_answer_after_the_claim_ran_out_leaves_the_next_worker_s_claim_and_outcome(
    world, receiver: Receiver
) -> None:
    """Worker A stalls past its claim; B claims the delivery and stalls too; C delivers it. A's
    answer, arriving while B holds the claim, must not free B's claim nor push the delivery
    back; B's, arriving after C's success, must not blot the delivered delivery. Both late
    attempts are in the log (they happened) and the endpoint is not counted as failing."""
    Outcome = services.Outcome
    endpoint = endpoint_for(world["a"], receiver.url)
    short_lease(world)
    pk = Delivery.objects.get().pk
    t0 = dt.datetime.now(dt.UTC)
    step = dt.timedelta(seconds=services.CLAIM_SECONDS + 1)
    with time_machine.travel(t0, tick=False):
        [a] = services._claim([pk])
    with time_machine.travel(t0 + step, tick=False):
        [b] = services._claim([pk])
        late = services._record({pk: Outcome(False, 500, 40, "HTTP 500")}, a.claimed_until)
        assert late == {pk: "skipped"}
        held = Delivery.objects.get()
        assert held.claimed_until == b.claimed_until and held.next_attempt_at <= t0 + step
        assert held.status == DeliveryStatus.PENDING and held.last_error == ""
    with time_machine.travel(t0 + 2 * step, tick=False):
        [c] = services._claim([pk])
        assert services._record({pk: Outcome(True, 200, 10)}, c.claimed_until) == {pk: "delivered"}
        late = services._record({pk: Outcome(False, 502, 40, "HTTP 502")}, b.claimed_until)
        assert late == {pk: "skipped"}
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert (delivery.last_status_code, delivery.last_error) == (200, "")
    log = DeliveryAttempt.objects.filter(delivery=delivery).order_by("number")
    assert [(x.number, x.status_code) for x in log] == [(1, 500), (2, 200), (3, 502)]
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def _trickler(stop: threading.Event, *, headers_first: bool = False) -> Any:
    """A receiver's answer that never ends: a header (or, after a whole 200's headers, a byte
    of its body) every 0.2 s, each well within the read timeout, until `stop`."""

    def trickle(handler: Any) -> bool:
        if headers_first:
            handler.wfile.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100000000\r\n\r\n")
        else:
            handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
        handler.wfile.flush()
        while not stop.wait(0.2):
            handler.wfile.write(b"x" if headers_first else b"x-slow: 1\r\n")
            handler.wfile.flush()
        return True

    return trickle


def test_receivers_that_never_finish_answering_do_not_take_the_posting_threads(
    world, receiver: Receiver, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A POST still unanswered at the deadline is cut, so its thread is free again: receivers
    trickling their answer forever (each byte within the read timeout) must not take every
    posting thread and starve every other endpoint's deliveries."""
    from tests.events.conftest import serving

    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    settings.WEBHOOK_BATCH_SIZE = 2  # 4 posting threads
    monkeypatch.setattr(services, "_executor", None)
    stop = threading.Event()
    receiver.hold = _trickler(stop)
    try:
        with serving() as good:
            slow = [endpoint_for(world["a"], receiver.url) for _ in range(4)]
            short_lease(world, count=1)
            assert set(services.deliveries_attempt(deliveries_due()).values()) == {"retrying"}
            WebhookEndpoint.objects.filter(pk__in=[e.pk for e in slow]).update(active=False)
            endpoint_for(world["a"], good.url)
            short_lease(world, count=1)
            assert list(services.deliveries_attempt(deliveries_due()).values()) == ["delivered"]
            assert len(good.received) == 1
    finally:
        stop.set()


def test_a_2xx_whose_body_never_ends_is_delivered_at_its_headers(
    world, receiver: Receiver, settings: Any
) -> None:
    """Delivered is a 2xx's headers within the deadline; the body is not read (a receiver's
    endless or huge body would hold the thread and fill its memory)."""
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    stop = threading.Event()
    receiver.hold = _trickler(stop, headers_first=True)
    endpoint_for(world["a"], receiver.url)
    short_lease(world)
    try:
        assert attempt_all() == ["delivered"]
    finally:
        stop.set()
    assert Delivery.objects.get().last_status_code == 200


@pytest.mark.parametrize("answer", ["200 with a body", "204 without a length"])
def test_a_short_answer_is_read_so_that_the_connection_is_kept_alive(world, answer: str) -> None:
    """The body is not waited for, but a short one of a known length (none, for a 204) is
    read: the next POST from the thread goes on the same connection."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    ports: list[int] = []

    class KeepAlive(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            ports.append(self.client_address[1])
            if answer == "204 without a length":
                self.send_response(204)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("content-length", "11")
            self.end_headers()
            self.wfile.write(b'{"ok":true}')

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), KeepAlive)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = endpoint_for(world["a"], f"http://127.0.0.1:{server.server_address[1]}/x")
        short_lease(world)
        event = Event.objects.select_related("tenant").first()
        assert all(services._post(endpoint, event).ok for _ in range(3))
    finally:
        server.shutdown()
        server.server_close()
    assert len(ports) == 3 and len(set(ports)) == 1
