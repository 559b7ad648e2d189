"""Writes for events and webhooks: the outbox, endpoints, and the delivery of one attempt.

Recording: any service calls `event_record(type=..., tenant=..., data=...)` inside its own
transaction (or `events_record([...])` for many at once). The event row and one pending
delivery per matching endpoint are inserted in that transaction, so a rolled-back change emits
nothing; after commit each delivery is handed to the `webhooks` queue, and the beat sweep
(`events.sweep_deliveries`) picks up whatever that hand-over lost (a dead broker, a worker killed
before it posted). Delivery is at least once: receivers dedupe by `webhook-id`.

Delivering: `deliveries_attempt` claims a batch of deliveries in one statement, POSTs them at
once from a pool of threads with no transaction open (never hold a transaction across the
network), and records the outcomes in one short transaction.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import partial
from typing import Any

import requests
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb
from rest_framework.fields import DateTimeField
from standardwebhooks.webhooks import Webhook

from accounts.actors import acting_user
from accounts.models import Tenant
from core import clock
from core.actors import Actor
from core.audit import audit_record
from core.exceptions import InvalidInput, InvalidState
from core.queue import enqueue_nudge
from events.choices import DeliveryStatus, EventType
from events.guard import PrivatePeer, UnsafeUrl, Watch, guarded_session, url_check, watched
from events.models import Delivery, DeliveryAttempt, Event, WebhookEndpoint

logger = logging.getLogger(__name__)

DELIVER_TASK = "events.deliver"
SECRET_PREFIX = "whsec_"
# A batch's POSTs end within WEBHOOK_TIMEOUT_SECONDS (5 s) of its claim, and its record a moment
# later: a claim outliving that many times over means a dead worker, whose deliveries the sweep
# then hands to another.
CLAIM_SECONDS = 30

# --- Recording (the outbox) ---

TenantRef = Tenant | int | None

# The events, and one pending delivery per (event, endpoint) that wants it: the tenant's active
# endpoints and every active staff endpoint, whose types are empty (all) or include the event's.
# One statement (one round trip) however many events.
_RECORD_SQL = """
WITH e AS (
    INSERT INTO events_event (id, type, created, tenant_id, data)
    SELECT r.id, r.type, %(now)s, r.tenant_id, r.data
    FROM unnest(%(ids)s::uuid[], %(types)s::varchar[], %(tenants)s::bigint[], %(data)s::jsonb[])
        AS r(id, type, tenant_id, data)
    RETURNING id, type, tenant_id
)
INSERT INTO events_delivery (event_id, endpoint_id, status, attempts, created, next_attempt_at,
                             last_error)
SELECT e.id, w.id, %(pending)s, 0, %(now)s, %(now)s, ''
FROM e
JOIN events_webhookendpoint w
  ON w.active
 AND (w.tenant_id IS NULL OR w.tenant_id = e.tenant_id)
 AND (cardinality(w.event_types) = 0 OR e.type = ANY(w.event_types))
RETURNING id
"""
_DATA_DUMPS = partial(json.dumps, cls=DjangoJSONEncoder)  # as Event.data's JSONField encodes


def _tenant_id(tenant: TenantRef) -> int | None:
    return tenant.pk if isinstance(tenant, Tenant) else tenant


def event_record(*, type: str, tenant: TenantRef, data: Mapping[str, Any]) -> Event:
    """Record one event in the caller's transaction (call it where the change is made, inside
    that change's `transaction.atomic`). `data` is the object as the API shows it; `tenant`
    (a Tenant, its id, or None for staff-only events) decides who sees and receives it."""
    return events_record([(type, tenant, data)])[0]


def events_record(records: Iterable[tuple[str, TenantRef, Mapping[str, Any]]]) -> list[Event]:
    """Record several events at once (set-based transitions): one statement whatever their
    number. Only inside the change's transaction: outside one, an event could outlive (or
    miss) its change, so that is a programming error."""
    now = clock.now()
    events = []
    for kind, tenant, data in records:
        if kind not in EventType.values:
            raise ValueError(f"unknown event type {kind!r}")
        events.append(Event(type=kind, created=now, tenant_id=_tenant_id(tenant), data=dict(data)))
    if not events:
        return []
    if not connection.in_atomic_block:
        raise RuntimeError("record events inside the transaction of the change they describe")
    with connection.cursor() as cursor:
        cursor.execute(
            _RECORD_SQL,
            {
                "now": now,
                "ids": [e.pk for e in events],
                "types": [e.type for e in events],
                "tenants": [e.tenant_id for e in events],
                "data": [Jsonb(e.data, dumps=_DATA_DUMPS) for e in events],
                "pending": DeliveryStatus.PENDING,
            },
        )
        deliveries = [row[0] for row in cursor.fetchall()]
    for event in events:  # saved, as bulk_create would leave them
        event._state.adding, event._state.db = False, connection.alias
    if deliveries:
        transaction.on_commit(partial(deliveries_dispatch, deliveries))
    return events


def as_api_shows(serializer: Any) -> dict[str, Any]:
    """A serializer's `data` as the API renders it (times in the operator's zone, whether a
    request or a worker asks), as plain JSON: the `data` of an event. E.g.
    `event_record(type=EventType.INVOICE_ISSUED, tenant=invoice.tenant_id,
    data=as_api_shows(InvoiceSerializer(invoice)))` inside `invoice_issue`'s transaction."""
    with timezone.override(clock.operator_tz()):
        rendered = serializer.data
        return dict(json.loads(json.dumps(rendered, cls=DjangoJSONEncoder)))


def deliveries_dispatch(delivery_ids: Iterable[int]) -> None:
    """Hand deliveries to the `webhooks` queue (after commit), in batches of
    WEBHOOK_BATCH_SIZE (a task each, so that every worker takes a share). Best effort: when the
    broker does not take one, the rest are left to the sweep too."""
    ids = list(delivery_ids)
    size = settings.WEBHOOK_BATCH_SIZE
    for start in range(0, len(ids), size):
        if not enqueue_nudge(DELIVER_TASK, ids[start : start + size]):
            break


_DATETIME = DateTimeField()


def _in_operator_time(instant: dt.datetime) -> str:
    """As the API renders datetimes (its middleware activates the operator's zone), in a worker
    too."""
    with timezone.override(clock.operator_tz()):
        return str(_DATETIME.to_representation(instant))


def event_payload(event: Event) -> dict[str, Any]:
    """The event as the API and the webhook body show it."""
    return {
        "id": str(event.id),
        "type": event.type,
        "created": _in_operator_time(event.created),
        "tenant": event.tenant_id,
        "tenant_name": event.tenant.name if event.tenant is not None else None,
        "data": event.data,
    }


# --- Endpoints ---


def _new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _types_check(event_types: Iterable[str]) -> list[str]:
    types = list(dict.fromkeys(event_types))
    unknown = [t for t in types if t not in EventType.values]
    if unknown:
        message = f"Unknown event type(s): {', '.join(unknown)}."
        raise InvalidInput(message, fields={"event_types": [message]})
    return types


def _audit_view(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """What the audit log keeps of an endpoint: never its secret."""
    return {
        "tenant": endpoint.tenant_id,
        "url": endpoint.url,
        "event_types": list(endpoint.event_types),
        "active": endpoint.active,
        "description": endpoint.description,
    }


@transaction.atomic
def endpoint_create(
    *,
    actor: Actor,
    tenant: Tenant | None,
    url: str,
    event_types: Iterable[str] = (),
    active: bool = True,
    description: str = "",
) -> WebhookEndpoint:
    """A webhook endpoint of `tenant` (None: a staff endpoint, receiving every tenant's events),
    with a fresh signing secret (the caller shows it once)."""
    url_check(url)
    endpoint = WebhookEndpoint.objects.create(
        tenant=tenant,
        url=url,
        event_types=_types_check(event_types),
        active=active,
        description=description,
        secret=_new_secret(),
        created_by=acting_user(actor),
    )
    audit_record(
        actor=actor,
        action="webhook_endpoint.create",
        instance=endpoint,
        after=_audit_view(endpoint),
    )
    return endpoint


@transaction.atomic
def endpoint_update(*, actor: Actor, endpoint: WebhookEndpoint, **changes: Any) -> WebhookEndpoint:
    """Change an endpoint's url, event_types, active or description. Turning it on again
    clears the record of its failures (and why it was disabled)."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    before = _audit_view(endpoint)
    fields = []
    if "url" in changes:
        url_check(changes["url"])
        endpoint.url = changes["url"]
        fields.append("url")
    if "event_types" in changes:
        endpoint.event_types = _types_check(changes["event_types"])
        fields.append("event_types")
    if "description" in changes:
        endpoint.description = changes["description"]
        fields.append("description")
    if "active" in changes:
        if changes["active"] and not endpoint.active:
            endpoint.failing_since = None
            endpoint.disabled_reason = ""
            fields += ["failing_since", "disabled_reason"]
        endpoint.active = changes["active"]
        fields.append("active")
    if fields:
        endpoint.save(update_fields=[*fields, "updated_at"])
        audit_record(
            actor=actor,
            action="webhook_endpoint.update",
            instance=endpoint,
            before=before,
            after=_audit_view(endpoint),
        )
    return endpoint


@transaction.atomic
def endpoint_rotate_secret(*, actor: Actor, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new signing secret, in force for the next attempt (the caller shows it once)."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    endpoint.secret = _new_secret()
    endpoint.save(update_fields=["secret", "updated_at"])
    audit_record(actor=actor, action="webhook_endpoint.rotate_secret", instance=endpoint)
    return endpoint


@transaction.atomic
def delivery_retry(*, actor: Actor, delivery: Delivery) -> Delivery:
    """Try a failed delivery once more, now (409 unless it failed, or when its endpoint is
    off)."""
    delivery = Delivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
    if delivery.status != DeliveryStatus.FAILED:
        raise InvalidState(f"Only failed deliveries are retried; this one is {delivery.status}.")
    if not delivery.endpoint.active:
        raise InvalidState("The endpoint is disabled: turn it on before retrying its deliveries.")
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = clock.now()
    delivery.claimed_until = None
    delivery.save(update_fields=["status", "next_attempt_at", "claimed_until"])
    audit_record(actor=actor, action="webhook_delivery.retry", instance=delivery)
    transaction.on_commit(partial(deliveries_dispatch, [delivery.pk]))
    return delivery


# --- Delivering ---


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status_code: int | None
    duration_ms: int
    error: str = ""


_local = threading.local()


def _session() -> requests.Session:
    """One keep-alive session per posting thread (requests' sessions are not shared across
    threads)."""
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = _local.session = guarded_session()
    return session


_executor: tuple[int, ThreadPoolExecutor] | None = None


def _posters() -> ThreadPoolExecutor:
    """The process's posting threads, made in the process that posts (a forked Celery child
    makes its own). Twice a batch, so that a straggler still waiting on its timeout does not
    delay the next batch's POSTs."""
    global _executor
    if _executor is None or _executor[0] != os.getpid():
        threads = 2 * settings.WEBHOOK_BATCH_SIZE
        _executor = (os.getpid(), ThreadPoolExecutor(threads, thread_name_prefix="webhook-post"))
    return _executor[1]


# An answer's body is not awaited (delivered is a 2xx's headers): a short one of a known length
# is read, so that the connection is kept alive; any other ends the connection unread.
_BODY_KEPT = 64 * 1024


def _post(endpoint: WebhookEndpoint, event: Event, watch: Watch | None = None) -> Outcome:
    """Sign and POST the event (in a posting thread); no database access here. `watch` cuts
    the connection when the batch's deadline comes first."""
    started = time.monotonic()

    def took() -> int:
        return round((time.monotonic() - started) * 1000)

    try:
        url_check(endpoint.url)  # again, after DNS: the name may point elsewhere by now
    except UnsafeUrl as exc:
        return Outcome(ok=False, status_code=None, duration_ms=took(), error=exc.message)
    body = json.dumps(event_payload(event), cls=DjangoJSONEncoder, separators=(",", ":"))
    msg_id = str(event.id)
    stamp = dt.datetime.now(dt.UTC)  # the real time: receivers check it against their clocks
    headers = {
        "content-type": "application/json",
        "user-agent": "aidc-webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(stamp.timestamp())),
        "webhook-signature": Webhook(endpoint.secret).sign(msg_id, stamp, body),
    }
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    with watched(watch or Watch()):
        try:
            response = _session().post(
                endpoint.url,
                data=body.encode(),
                headers=headers,
                timeout=(timeout, timeout),
                allow_redirects=False,  # a redirect could lead past the guard: it is a failure
                stream=True,  # the headers only: the body is not waited for
            )
        except requests.RequestException as exc:
            return Outcome(ok=False, status_code=None, duration_ms=took(), error=_why(exc))
        ok = 200 <= response.status_code < 300
        error = "" if ok else f"HTTP {response.status_code}"
        outcome = Outcome(ok=ok, status_code=response.status_code, duration_ms=took(), error=error)
        if watch is not None and not watch.settle(outcome):  # known now, whatever the body does
            response.raw.close()
            return Outcome(ok=False, status_code=None, duration_ms=took(), error="Cut off.")
        _discard_body(response)
    return outcome


def _discard_body(response: requests.Response) -> None:
    """Read a short body of a known length (none, for a 204), so that the connection stays
    alive for the next POST; close the connection on any other."""
    remaining = response.raw.length_remaining  # the raw bytes still to come, if known
    try:
        if remaining is not None and remaining <= _BODY_KEPT:
            response.raw.read(remaining + 1, decode_content=False)
            response.raw.release_conn()
        else:
            response.raw.close()
    except Exception:  # the answer is known: whatever the body does is no matter
        response.raw.close()


def _why(exc: requests.RequestException) -> str:
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    if isinstance(reason, PrivatePeer):  # the guard at connect time: say it plainly
        return reason.message[:300]
    return f"{type(exc).__name__}: {exc}"[:300]


def _post_all(deliveries: list[Delivery]) -> dict[int, Outcome]:
    """POST a batch at once, each on its own thread: one slow receiver does not hold up the
    others. Whatever has no answer's headers within the timeout (5 s, in all) has failed: its
    connection is cut then (a receiver trickling its answer, each byte within the socket's read
    timeout, would hold the thread for ever) and anything it still gets is ignored."""
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    watches = {d.pk: Watch() for d in deliveries}
    posts = {_posters().submit(_post, d.endpoint, d.event, watches[d.pk]): d.pk for d in deliveries}
    done, late = wait(posts, timeout=timeout)
    for post in late:  # cut, so that its thread is free again (a trickled answer has no end)
        watches[posts[post]].cut()
    outcomes = {}
    for post, pk in posts.items():
        answered = watches[pk].outcome
        if post in done and post.exception() is None:
            outcomes[pk] = post.result()
        elif isinstance(answered, Outcome):  # its headers came in time; its body did not end
            outcomes[pk] = answered
        elif post in done:
            error = f"{type(post.exception()).__name__}: {post.exception()}"[:300]
            logger.error("webhook delivery %s: %s", pk, error)
            outcomes[pk] = Outcome(ok=False, status_code=None, duration_ms=0, error=error)
        else:
            error = f"No answer within {timeout:g} s."
            outcomes[pk] = Outcome(
                ok=False, status_code=None, duration_ms=timeout * 1000, error=error
            )
    return outcomes


# Take the due, unclaimed ones of these deliveries for one attempt (one statement: of two
# workers handed the same delivery, the second finds it claimed).
_CLAIM_SQL = """
UPDATE events_delivery SET claimed_until = %(until)s
WHERE id = ANY(%(ids)s)
  AND status = %(pending)s
  AND next_attempt_at <= %(now)s
  AND (claimed_until IS NULL OR claimed_until <= %(now)s)
RETURNING id
"""


def _claim(delivery_ids: Iterable[int]) -> list[Delivery]:
    now = clock.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL,
            {
                "ids": list(delivery_ids),
                "pending": DeliveryStatus.PENDING,
                "now": now,
                "until": now + dt.timedelta(seconds=CLAIM_SECONDS),
            },
        )
        taken = [row[0] for row in cursor.fetchall()]
    if not taken:
        return []
    return list(
        Delivery.objects.select_related("event__tenant", "endpoint")
        .filter(pk__in=taken)
        .order_by("pk")
    )


def deliveries_attempt(delivery_ids: Iterable[int]) -> dict[int, str]:
    """One attempt of each of these deliveries: claim them (one statement), POST them at once
    with no transaction open (never hold a transaction across the network), record the
    outcomes (one short transaction). Returns what happened to each: `delivered`, `retrying`,
    `failed` or `skipped` (not due, or another worker has it)."""
    if connection.in_atomic_block:
        raise RuntimeError("a webhook delivery never runs inside a database transaction")
    ids = list(dict.fromkeys(delivery_ids))
    results = dict.fromkeys(ids, "skipped")
    claimed = _claim(ids)
    off = [d.pk for d in claimed if not d.endpoint.active]
    if off:
        Delivery.objects.filter(pk__in=off).update(
            status=DeliveryStatus.FAILED,
            claimed_until=None,
            next_attempt_at=None,
            last_error="The endpoint is disabled.",
        )
        results.update(dict.fromkeys(off, "failed"))
    posting = [d for d in claimed if d.endpoint.active]
    if posting:
        assert posting[0].claimed_until is not None  # one claim statement: one `until` for all
        results.update(_record(_post_all(posting), posting[0].claimed_until))
    return results


def delivery_attempt(*, delivery_id: int) -> str:
    """One attempt of one delivery (see `deliveries_attempt`)."""
    return deliveries_attempt([delivery_id])[delivery_id]


_RECORDED = [
    "status",
    "attempts",
    "last_attempt_at",
    "last_status_code",
    "last_duration_ms",
    "last_error",
    "claimed_until",
    "delivered_at",
    "next_attempt_at",
]


@transaction.atomic
def _record(outcomes: Mapping[int, Outcome], claimed_until: dt.datetime) -> dict[int, str]:
    """Log each attempt and move each delivery on: delivered, due again after its delay, or
    failed after the last one. A few statements for the whole batch.

    `claimed_until` is the claim the attempts were made under. A delivery no longer under it
    (the answer came after the claim ran out: another worker holds it, delivered it, or it was
    retried by hand) only gets its attempt logged: its state is the current holder's."""
    now = clock.now()
    delays = settings.WEBHOOK_RETRY_DELAYS
    deliveries = list(Delivery.objects.select_for_update().filter(pk__in=outcomes).order_by("pk"))
    attempts: list[DeliveryAttempt] = []
    results: dict[int, str] = {}
    succeeded: set[int] = set()
    failed: set[int] = set()
    for delivery in deliveries:
        outcome = outcomes[delivery.pk]
        delivery.attempts += 1
        held = delivery.claimed_until == claimed_until
        attempts.append(
            DeliveryAttempt(
                delivery=delivery,
                number=delivery.attempts,
                at=now,
                status_code=outcome.status_code,
                duration_ms=outcome.duration_ms,
                ok=outcome.ok,
                error=outcome.error,
            )
        )
        if not held:  # a late answer after the claim ran out
            results[delivery.pk] = "skipped"
            continue
        delivery.last_attempt_at = now
        delivery.last_status_code = outcome.status_code
        delivery.last_duration_ms = outcome.duration_ms
        delivery.last_error = outcome.error
        delivery.claimed_until = None
        (succeeded if outcome.ok else failed).add(delivery.endpoint_id)
        if outcome.ok:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
            results[delivery.pk] = "delivered"
        elif delivery.attempts <= len(delays):
            delivery.next_attempt_at = now + dt.timedelta(seconds=delays[delivery.attempts - 1])
            results[delivery.pk] = "retrying"
        else:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
            results[delivery.pk] = "failed"
    DeliveryAttempt.objects.bulk_create(attempts)
    Delivery.objects.bulk_update(deliveries, _RECORDED)
    if (
        succeeded
    ):  # no lock on endpoints that were not failing: busy endpoints' workers do not queue
        WebhookEndpoint.objects.filter(pk__in=succeeded, failing_since__isnull=False).update(
            failing_since=None, updated_at=now
        )
    if failed - succeeded:  # failing in this batch and not answering any of it
        failing = WebhookEndpoint.objects.select_for_update().filter(pk__in=failed - succeeded)
        for endpoint in failing.order_by("pk"):
            _endpoint_failed(endpoint, now)
    return results


def _endpoint_failed(endpoint: WebhookEndpoint, now: dt.datetime) -> None:
    """Note a failed attempt; an endpoint failing every attempt for the disable period (3 days)
    is turned off, saying why."""
    if endpoint.failing_since is None:
        endpoint.failing_since = now
        endpoint.save(update_fields=["failing_since", "updated_at"])
        return
    period = dt.timedelta(seconds=settings.WEBHOOK_DISABLE_AFTER_SECONDS)
    if endpoint.active and now - endpoint.failing_since >= period:
        endpoint.active = False
        since = clock.local_date(endpoint.failing_since).isoformat()
        endpoint.disabled_reason = (
            f"Disabled on {clock.local_date(now).isoformat()}: every delivery attempt failed "
            f"since {since}."
        )
        endpoint.save(update_fields=["active", "disabled_reason", "updated_at"])
        audit_record(
            actor=None,
            action="webhook_endpoint.disable",
            instance=endpoint,
            after=_audit_view(endpoint),
            reason=endpoint.disabled_reason,
        )


# --- Retention ---

# The oldest events past the retention, with their deliveries and attempt logs, a chunk at a
# time (foreign keys are checked at commit, when all three are gone). Events with a delivery
# still pending stay until it ends; `grant.low_balance` events stay, as they are what says a
# grant was announced (once per grant).
_PURGE_SQL = """
WITH old AS (
    SELECT e.id FROM events_event e
    WHERE e.created < %(cutoff)s
      AND e.type <> %(kept)s
      AND NOT EXISTS (
          SELECT 1 FROM events_delivery d WHERE d.event_id = e.id AND d.status = %(pending)s
      )
    ORDER BY e.created
    LIMIT %(chunk)s
), attempts AS (
    DELETE FROM events_deliveryattempt a
    USING events_delivery d, old
    WHERE a.delivery_id = d.id AND d.event_id = old.id
), deliveries AS (
    DELETE FROM events_delivery d USING old WHERE d.event_id = old.id
)
DELETE FROM events_event e USING old WHERE e.id = old.id
"""


def events_purge(*, chunk: int = 5000) -> int:
    """Delete events older than EVENT_RETENTION_DAYS with their delivery logs (beat, nightly);
    how many events went. A transaction per chunk, so that no lock is held long."""
    cutoff = clock.now() - dt.timedelta(days=settings.EVENT_RETENTION_DAYS)
    purged = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                _PURGE_SQL,
                {
                    "cutoff": cutoff,
                    "kept": EventType.GRANT_LOW_BALANCE,
                    "pending": DeliveryStatus.PENDING,
                    "chunk": chunk,
                },
            )
            deleted = cursor.rowcount
        purged += deleted
        if deleted < chunk:
            return purged
