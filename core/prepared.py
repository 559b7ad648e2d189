"""Prepared statements for the hot reads (list pages, token lookup).

The statements of a list page are small: PostgreSQL plans them in about as long as it runs them
(~1 ms of planning for a lease page with its joins, ~1 ms for its cards-and-servers aggregate,
against 0.3-1.5 ms of execution). Django's cursors bind parameters on the client, so every
request plans every statement again. `prepared_cursor()` gives a Django cursor (queries are
logged and counted, errors wrapped, as with `connection.cursor()`) that binds parameters on the
server and prepares each statement on its connection the first time it runs it: later runs of
the same statement (same text, same parameter types) skip parsing, and after five runs
PostgreSQL may keep a generic plan and skip planning too. With persistent connections
(`CONN_MAX_AGE`) a worker prepares its few statements once.

The setting `PREPARED_STATEMENTS` (default on) turns this off: through a pooler that does not
carry prepared statements across server connections (PgBouncer in transaction mode before
1.21, or without `max_prepared_statements`), turn it off; the statements then run unprepared,
with the same results.

Django's own cursors stay client-side binding: only statements run through `prepared_cursor()`
are prepared, so the set of prepared statements per connection stays small (psycopg keeps at
most 100 and deallocates the least recently used).

`prepared_cursor(binary=True)` also asks for the results in PostgreSQL's binary format, which
psycopg reads in C: a page of 50 leases (four timestamps, a decimal and twelve other columns a
row) was read in 0.27 ms instead of 0.83 ms in text. The values are the same Python values
(datetimes in the connection's zone, UTC, as Django's text loader gives them) for the column
types `binary_safe()` names; others (JSON above all: Django reads jsonb as text and decodes it
itself) must be read in text.
"""

from __future__ import annotations

from typing import Any

import psycopg
from django.db import connections
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.db.backends.utils import CursorWrapper
from psycopg.postgres import types
from psycopg.pq import Format

# Field types whose values psycopg reads the same from binary results as Django from text ones.
_BINARY_SAFE = frozenset(
    {
        "AutoField", "BigAutoField", "SmallAutoField", "IntegerField", "BigIntegerField",
        "SmallIntegerField", "PositiveIntegerField", "PositiveBigIntegerField",
        "PositiveSmallIntegerField", "CharField", "TextField", "SlugField", "EmailField",
        "DecimalField", "DateTimeField", "DateField", "BooleanField",
    }
)  # fmt: skip


def binary_safe(field: Any) -> bool:
    """Whether `field`'s column may be read in binary (see the module); a foreign key as the
    field it refers to."""
    while field.get_internal_type() in ("ForeignKey", "OneToOneField"):
        field = field.target_field
    return field.get_internal_type() in _BINARY_SAFE


class _PreparingCursor(psycopg.Cursor[Any]):
    """A server-side binding cursor that asks for every statement to be prepared (psycopg does
    so only when the connection's `prepare_threshold` is not None: see settings)."""

    binary_results = False

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        kwargs["prepare"] = True
        kwargs.setdefault("binary", self.binary_results)
        return super().execute(query, params, **kwargs)

    def _send_query_prepared(self, name: bytes, pgq: Any, **kwargs: Any) -> None:
        self._query = pgq  # what Django logs as the statement (psycopg keeps it only unprepared)
        super()._send_query_prepared(name, pgq, **kwargs)


def prepared_cursor(using: str = "default", *, binary: bool = False) -> CursorWrapper:
    """A cursor of the `using` connection whose statements are prepared, and whose results
    are read in binary if `binary` (see the module)."""
    connection = connections[using]
    # What `connection.cursor()` does, with our cursor class in place of the connection's
    # client-side binding one.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = _PreparingCursor(connection.connection)
        raw.binary_results = binary
        loader = raw.adapters.get_loader(types["timestamptz"].oid, Format.TEXT)
        if connection.timezone != getattr(loader, "timezone", None):
            register_tzloader(connection.timezone, raw)
        cursor: CursorWrapper = connection._prepare_cursor(raw)  # type: ignore[attr-defined]
    return cursor
