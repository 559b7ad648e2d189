"""Ingesting usage records from external meters, in batches (docs/domain.md §Usage).

Validation is per record in plain Python (types, windows) and then set-based against the
database (one query each for leases, cards and corrected records), never a query per record.
Valid records are staged by a binary `COPY` and go on in one statement: their keys into
`UsageKey` with `ON CONFLICT DO NOTHING`, and the records whose keys were new into the
(partitioned) ledger.
Unique per (source, external_id) within the ids of one poster for one tenant, across all months,
so a retried batch adds nothing and reports its duplicates, and nobody else's ids ever make a
record a "duplicate".

Ids belong to whoever posts them: the platform's meter (its source `platform` is reserved), the
operator's meters (staff callers), or one tenant. A correction names a record of the same poster
and tenant.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum

from billing.choices import RESERVED_SOURCES, UsagePoster
from billing.models import Metric, UsageKey, UsageRecord
from billing.pricebook import ensure_builtin_metrics
from core import clock
from core.exceptions import InvalidInput
from core.queue import enqueue_nudge
from leasing.models import Allocation

MAX_BATCH = 10_000
RECORD_FIELDS = frozenset(
    {"source", "external_id", "lease", "card", "metric", "quantity", "start", "end", "corrects"}
)
# One record is one meter's reading over one window: |quantity| < 10^8 in the price book's units
# (TB, TB-hours, card-hours). 10^8 TB-hours is 100 PB stored for a 31-day month; 10^8 TB of
# egress is years of a site's uplinks. Far above any real reading, and low enough that a record
# at any built-in price fits an invoice line. The serializer's decimal (14 digits, 6 places)
# documents the same bound. What many records sum to is bounded by the invoice run.
MAX_QUANTITY = Decimal("1e8")
SIX_PLACES = Decimal("0.000001")


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Record:
    index: int
    source: str
    external_id: str
    lease_id: int
    card_id: int | None
    metric: str
    quantity: Decimal
    start: dt.datetime
    end: dt.datetime
    corrects: str | None


class _Reject(Exception):
    def __init__(self, code: str, message: str) -> None:
        self.code, self.message = code, message


def _storable(value: str) -> bool:
    """Whether UTF-8 can hold the text: a lone surrogate (JSON's "\\ud800") cannot."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _text(raw: dict[str, Any], name: str, limit: int) -> str:
    value = raw.get(name)
    if (
        not isinstance(value, str)
        or not value
        or len(value) > limit
        or "\x00" in value
        or not (value.isascii() or _storable(value))
    ):
        raise _Reject("invalid", f"{name} must be a non-empty string of at most {limit} characters")
    return value


def _int(raw: dict[str, Any], name: str, required: bool = True) -> int | None:
    value = raw.get(name)
    if value is None and not required:
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 20:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise _Reject("invalid", f"{name} must be an integer id")
    return value


def _instant(raw: dict[str, Any], name: str) -> dt.datetime:
    value = raw.get(name)
    try:
        if not isinstance(value, str):
            raise ValueError
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise _Reject("invalid", f"{name} must be an ISO 8601 datetime with a time zone") from None
    if parsed.tzinfo is None:
        raise _Reject("invalid", f"{name} must carry a time zone (e.g. Z or +08:00)")
    try:  # in UTC: PostgreSQL takes offsets up to ±15:59 only (+21:28 was a 500)
        return parsed.astimezone(dt.UTC)
    except OverflowError:
        raise _Reject("invalid", f"{name} is out of range") from None


def _quantity(raw: dict[str, Any]) -> Decimal:
    value = raw.get("quantity")
    if isinstance(value, (bool, float)) or value is None:
        # floats are refused: the JSON parser hands numbers over as Decimal
        raise _Reject("invalid", "quantity must be a decimal number")
    try:
        quantity = Decimal(value) if not isinstance(value, Decimal) else value
    except (InvalidOperation, TypeError, ValueError):
        raise _Reject("invalid", "quantity must be a decimal number") from None
    if not quantity.is_finite():
        raise _Reject("invalid", "quantity must be a decimal number")
    if abs(quantity) >= MAX_QUANTITY:
        raise _Reject(
            "quantity_out_of_range", f"quantity must be less than {MAX_QUANTITY:,f} in magnitude"
        )
    if quantity != quantity.quantize(SIX_PLACES):
        raise _Reject("invalid", "quantity has more than 6 decimal places")
    if not quantity:
        raise _Reject("invalid", "quantity must not be zero")
    return quantity


def _parse(index: int, raw: Any) -> _Record:
    if not isinstance(raw, dict):
        raise _Reject("invalid", "a record must be a JSON object")
    unknown = set(raw) - RECORD_FIELDS
    if unknown:
        raise _Reject("unknown_field", f"unknown field(s): {', '.join(sorted(map(str, unknown)))}")
    start, end = _instant(raw, "start"), _instant(raw, "end")
    if end <= start:
        raise _Reject("invalid_window", "end must be after start")
    corrects = _text(raw, "corrects", 128) if raw.get("corrects") is not None else None
    lease_id = _int(raw, "lease")
    assert lease_id is not None
    return _Record(
        index=index,
        source=_text(raw, "source", 64),
        external_id=_text(raw, "external_id", 128),
        lease_id=lease_id,
        card_id=_int(raw, "card", required=False),
        metric=_text(raw, "metric", 40),
        quantity=_quantity(raw),
        start=start,
        end=end,
        corrects=corrects,
    )


_Key = tuple[int, str, str]  # (tenant, source, external_id) among one poster's records


def _corrections_state(
    *, parsed: list[_Record], leases: dict[int, Any], poster: UsagePoster
) -> tuple[dict[_Key, tuple[int, int, Decimal, int]], dict[_Key, Decimal], set[_Key]]:
    """The records the batch's corrections name, among the poster's records for the tenant of
    each correction's lease: (lease, metric, quantity, id) of each, what is left of each after
    the corrections stored so far, and which of the batch's corrections are stored already
    (retries). Three set-based queries (two by the key table), none when the batch corrects
    nothing."""
    corrected: dict[_Key, tuple[int, int, Decimal, int]] = {}
    remaining: dict[_Key, Decimal] = {}
    correcting = [r for r in parsed if r.corrects and r.lease_id in leases]
    if not correcting:
        return corrected, remaining, set()
    tenants = {leases[r.lease_id][1] for r in correcting}
    wanted = {(leases[r.lease_id][1], r.source, r.corrects) for r in correcting}
    pks: dict[int, _Key] = {}
    with connection.cursor() as cursor:  # by the key table, then (id, month): one partition each
        cursor.execute(
            """
            SELECT k.record_id, k.tenant_id, k.source, k.external_id, u.lease_id, u.metric_id,
                   u.quantity
            FROM billing_usagekey k
            JOIN billing_usagerecord u ON u.id = k.record_id AND u.month = k.month
            WHERE k.poster = %s AND k.tenant_id = ANY(%s) AND k.source = ANY(%s)
              AND k.external_id = ANY(%s)
            """,
            [
                poster.value,
                list(tenants),
                list({s for _, s, _ in wanted}),
                list({e for _, _, e in wanted}),
            ],
        )
        rows = cursor.fetchall()
    for pk, tenant, source, external_id, lease_id, metric_id, quantity in rows:
        key = (tenant, source, external_id)
        if key in wanted:
            corrected[key] = (lease_id, metric_id, quantity, pk)
            remaining[key] = quantity
            pks[pk] = key
    for corrects_id, total in (
        UsageRecord.objects.filter(corrects_id__in=pks)
        .values("corrects_id")
        .annotate(total=Sum("quantity"))
        .values_list("corrects_id", "total")
    ):
        remaining[pks[corrects_id]] += total
    stored = set(
        UsageKey.objects.filter(
            poster=poster,
            tenant_id__in=tenants,
            source__in={r.source for r in correcting},
            external_id__in={r.external_id for r in correcting},
        ).values_list("tenant_id", "source", "external_id")
    )
    return corrected, remaining, stored


# The batch's valid records reach the database by a binary COPY into a session's temporary
# staging table (psycopg formats rows in C; binding 1,000-element arrays cost ~9 ms of Python a
# batch), and one statement moves them on: keys first, records only for the keys that were new,
# so the key table's primary key decides between two batches racing with the same ids. The
# statement empties the staging table as it reads it, so a batch never sees another's rows,
# whatever the transaction around it.
#
# Each staged row carries its lease's tenant, which validation read (the ledger's foreign key
# on (lease, tenant) checks the pair): joining the leases again for it cost a hash of the whole
# lease table per batch (~3.5 ms of a 1,000-record batch's ~21 ms statement at 10,000 leases).
_STAGING_SQL = """
SET LOCAL client_min_messages = warning;
CREATE TEMPORARY TABLE IF NOT EXISTS billing_usage_batch (
    tenant_id bigint, lease_id bigint, card_id bigint, metric_id bigint, quantity numeric,
    start timestamptz, "end" timestamptz, source text, external_id text, corrects_id bigint
) ON COMMIT DELETE ROWS
"""
_COPY_SQL = "COPY billing_usage_batch FROM STDIN (FORMAT BINARY)"
_COPY_TYPES = [
    "int8", "int8", "int8", "int8", "numeric", "timestamptz", "timestamptz", "text", "text",
    "int8",
]  # fmt: skip


def ledger_insert_sql(records: str) -> str:
    """The tail of a `WITH` statement that puts the rows of `records` into the ledger: the
    ledger's one way in (ingestion and the platform's meter). `records` is a SELECT of
    (tenant_id, lease_id, card_id, metric_id, quantity, start, "end", month, source,
    external_id, corrects_id, created_at); `%(poster)s` posts them all.

    Each row draws an id (`r` is materialized, being read twice), its usage key is inserted
    first, and only the rows whose key was new become records: the key table is what keeps
    (tenant, poster, source, external_id) unique across the ledger's monthly partitions, so a
    retried record is a duplicate, not a second row."""
    return f"""r AS MATERIALIZED (
    SELECT nextval('billing_usagerecord_id_seq') AS id, x.*
    FROM ({records}) x
),
k AS (
    INSERT INTO billing_usagekey (tenant_id, poster, source, external_id, record_id, month)
    SELECT tenant_id, %(poster)s, source, external_id, id, month FROM r
    ON CONFLICT DO NOTHING
    RETURNING record_id
)
INSERT INTO billing_usagerecord
    (id, tenant_id, lease_id, card_id, metric_id, quantity, start, "end", month, source,
     external_id, poster, corrects_id, created_at)
SELECT r.id, r.tenant_id, r.lease_id, r.card_id, r.metric_id, r.quantity, r.start, r."end",
       r.month, r.source, r.external_id, %(poster)s, r.corrects_id, r.created_at
FROM r JOIN k ON k.record_id = r.id
"""


_INSERT_SQL = """
WITH staged AS (
    DELETE FROM billing_usage_batch RETURNING *
),
""" + ledger_insert_sql("""
    SELECT s.tenant_id, s.lease_id, s.card_id, s.metric_id, s.quantity, s.start, s."end",
           date_trunc('month', s.start AT TIME ZONE %(tz)s)::date AS month, s.source,
           s.external_id, s.corrects_id, now() AS created_at
    FROM staged s""")


@transaction.atomic
def usage_records_ingest(
    *, records: Any, atomic: bool = True, tenant_id: int | None = None
) -> IngestResult:
    """Validate and store a batch. `tenant_id` (tenant callers) limits it to that tenant's leases
    and makes the tenant the poster; without it (staff callers) the operator posts.

    With `atomic` (the default) one bad record rejects the whole batch; otherwise the good
    records go in and each bad one comes back with its index, code and message.
    """
    _batch_check(records)
    result = IngestResult()
    parsed = _records_parse(records, errors=result.errors)
    poster = UsagePoster.OPERATOR if tenant_id is None else UsagePoster.TENANT
    state = _IngestState.load(parsed=parsed, tenant_id=tenant_id, poster=poster)
    valid = _records_validate(parsed, state, errors=result.errors)
    result.errors.sort(key=lambda error: error["index"])
    if result.errors and atomic:
        return result
    if valid:
        result.accepted = _records_insert(valid, poster=poster, leases=state.leases)
        result.duplicates = len(valid) - result.accepted
        if result.accepted:  # spend limits: the batch's tenants spent more
            transaction.on_commit(lambda: enqueue_nudge("billing.evaluate_spend", tenant_id))
    return result


def _batch_check(records: Any) -> None:
    """The batch itself: a non-empty list of at most MAX_BATCH records."""
    if not isinstance(records, list) or not records:
        raise InvalidInput("records must be a non-empty list.", fields={"records": ["Required."]})
    if len(records) > MAX_BATCH:
        raise InvalidInput(
            f"At most {MAX_BATCH} records per batch.", fields={"records": ["Too many."]}
        )


def _records_parse(records: list[Any], *, errors: list[dict[str, Any]]) -> list[_Record]:
    """The records that parse; each one that does not adds its error to `errors`."""
    parsed: list[_Record] = []
    for index, raw in enumerate(records):
        try:
            parsed.append(_parse(index, raw))
        except _Reject as reject:
            errors.append({"index": index, "code": reject.code, "message": reject.message})
    return parsed


@dataclass
class _IngestState:
    """What the batch's records are checked against, read in a few set-based queries. The
    correction tallies (`remaining`, `stored_corrections`) move as the batch's records pass."""

    metrics: dict[str, Metric]
    leases: dict[int, Any]  # id -> (id, tenant_id, start, end, status)
    held_cards: set[tuple[int, int]]
    corrected: dict[_Key, tuple[int, int, Decimal, int]]
    remaining: dict[_Key, Decimal]
    stored_corrections: set[_Key]
    now: dt.datetime

    @classmethod
    def load(
        cls, *, parsed: list[_Record], tenant_id: int | None, poster: UsagePoster
    ) -> _IngestState:
        metrics = {m.code: m for m in Metric.objects.all()}
        if not metrics:
            ensure_builtin_metrics()
            metrics = {m.code: m for m in Metric.objects.all()}
        with connection.cursor() as cursor:  # one array, not a parameter per lease
            cursor.execute(
                'SELECT id, tenant_id, start, "end", status FROM leasing_lease'
                " WHERE id = ANY(%s) AND (%s::bigint IS NULL OR tenant_id = %s)",
                [list({r.lease_id for r in parsed}), tenant_id, tenant_id],
            )
            leases = {row[0]: row for row in cursor.fetchall()}
        card_pairs = {(r.lease_id, r.card_id) for r in parsed if r.card_id is not None}
        held_cards = set(
            Allocation.objects.filter(
                lease_id__in={lease for lease, _ in card_pairs},
                card_id__in={card for _, card in card_pairs},
            ).values_list("lease_id", "card_id")
        )
        corrected, remaining, stored = _corrections_state(
            parsed=parsed, leases=leases, poster=poster
        )
        return cls(metrics, leases, held_cards, corrected, remaining, stored, clock.now())


def _records_validate(
    parsed: list[_Record], state: _IngestState, *, errors: list[dict[str, Any]]
) -> list[tuple[_Record, int, int | None]]:
    """`(record, metric id, corrected id)` of each record that passes; each one that does not
    adds its error to `errors`."""
    valid: list[tuple[_Record, int, int | None]] = []
    for record in parsed:
        try:
            metric_id, corrects_id = _record_check(record, state)
        except _Reject as reject:
            errors.append({"index": record.index, "code": reject.code, "message": reject.message})
        else:
            valid.append((record, metric_id, corrects_id))
    return valid


def _record_check(record: _Record, state: _IngestState) -> tuple[int, int | None]:
    """The record's metric id and the id of the record it corrects (if any), or `_Reject`."""
    if record.source in RESERVED_SOURCES:
        raise _Reject(
            "reserved_source", f"the source {record.source!r} is the platform's own meter"
        )
    metric = state.metrics.get(record.metric)
    if metric is None:
        raise _Reject("unknown_metric", f"no metric {record.metric!r} in the price book")
    if not metric.external:
        raise _Reject("metric_not_external", f"{metric.code} is metered by the platform")
    lease = state.leases.get(record.lease_id)
    if lease is None:
        raise _Reject("unknown_lease", f"no lease {record.lease_id} of yours")
    _, _, lease_start, lease_end, status = lease
    if record.end > state.now + clock.CLOCK_SKEW:
        raise _Reject("in_future", "the window has not ended yet: report usage after it")
    if (
        status == "cancelled"
        or record.start < lease_start
        or (lease_end is not None and record.end > lease_end)
    ):
        raise _Reject("outside_lease_term", "the window lies outside the lease's term")
    if record.card_id is not None and (record.lease_id, record.card_id) not in state.held_cards:
        raise _Reject("card_not_in_lease", f"card {record.card_id} is not in this lease")
    if record.corrects is not None:
        return metric.pk, _correction_check(record, lease[1], metric.pk, state)
    if record.quantity < 0:
        raise _Reject(
            "negative_without_correction",
            "a negative quantity is a correction: name the record in 'corrects'",
        )
    return metric.pk, None


def _correction_check(record: _Record, tenant_id: int, metric_id: int, state: _IngestState) -> int:
    """The id of the record a correction corrects; counts the correction once a batch (a
    stored one is a retry) and refuses one that would take the corrected record below zero."""
    assert record.corrects is not None
    key = (tenant_id, record.source, record.corrects)
    target = state.corrected.get(key)
    if target is None:
        raise _Reject("unknown_correction", "the corrected record does not exist")
    if target[:2] != (record.lease_id, metric_id):
        raise _Reject("correction_mismatch", "a correction keeps lease and metric")
    own_key = (tenant_id, record.source, record.external_id)
    if own_key not in state.stored_corrections:  # else a retry
        state.stored_corrections.add(own_key)  # once a batch
        if state.remaining[key] + record.quantity < 0:
            raise _Reject(
                "over_correction",
                f"corrections would take {record.corrects} below zero "
                f"({state.remaining[key]} left)",
            )
        state.remaining[key] += record.quantity
    return target[3]


def _records_insert(
    valid: list[tuple[_Record, int, int | None]],
    *,
    poster: UsagePoster,
    leases: dict[int, Any],
) -> int:
    """Insert the valid records (of `leases`, as `_IngestState` read them): staged by COPY,
    then one set-based statement; how many were new (the others repeat a stored record's key
    and change nothing)."""
    with connection.cursor() as cursor:
        cursor.execute(_STAGING_SQL)
        with cursor.cursor.copy(_COPY_SQL) as copy:
            copy.set_types(_COPY_TYPES)
            for record, metric_id, corrects_id in valid:
                copy.write_row(
                    (
                        leases[record.lease_id][1], record.lease_id, record.card_id, metric_id,
                        record.quantity, record.start, record.end, record.source,
                        record.external_id, corrects_id,
                    )
                )  # fmt: skip
        cursor.execute(_INSERT_SQL, {"tz": settings.OPERATOR_TIME_ZONE, "poster": poster.value})
        return cursor.rowcount
