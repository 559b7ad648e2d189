"""Reports may read from a replica of the database (`REPLICA_DATABASE_URL`, optional).

With the setting, the database alias `replica` exists and `ReplicaRouter` sends the ORM's reads
of the models the setting `REPLICA_READ_MODELS` names (the nightly figures) there; raw report
SQL asks `reports_alias()`.
Everything else, and every write, stays on the primary (`default`): a service that has just
written must read what it wrote. Without the setting, `reports_alias()` is the primary.

A replica lags its primary by however long replay is behind, so reports say as of when their
data is (`reports_as_of`): the replica's last replayed commit, moved onto the service's clock.
That understates freshness when the primary has been idle (nothing to replay), never overstates
it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from core import clock

REPLICA = "replica"


def reports_alias() -> str:
    """Where reports read: the replica when one is configured, else the primary."""
    return REPLICA if settings.REPLICA_DATABASE_URL else DEFAULT_DB_ALIAS


def reports_as_of(alias: str) -> dt.datetime:
    """As of when `alias` holds the data: now on a primary; on a replica, now less its replay
    lag (measured by the replica's own clock, so the two clocks never mix)."""
    if alias == DEFAULT_DB_ALIAS:
        return clock.now()
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT CASE WHEN pg_is_in_recovery() THEN now() - pg_last_xact_replay_timestamp() END"
        )
        (lag,) = cursor.fetchone()
    return clock.now() - (lag or dt.timedelta(0))


class ReplicaRouter:
    """Reads of the nightly figures go to the replica (when there is one); nothing is migrated
    there (it is a copy of the primary, migrated with it)."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        if model._meta.label_lower in settings.REPLICA_READ_MODELS:
            return reports_alias()
        return None

    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True  # one database, two connections to it

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return db == DEFAULT_DB_ALIAS
