"""The database-level tools the writers share, and the only raw SQL outside the upsert and the change counters.

Each exists because the ORM cannot express it: advisory locks, `SET LOCAL`, and an insert that says
whether it inserted (`ON CONFLICT DO NOTHING RETURNING`).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from django.db import DatabaseError, connection, models

logger = logging.getLogger(__name__)

# Any constant: the PostgreSQL advisory lock that lets one applier at a time into the mirror.
APPLIER_LOCK = 0x52_45_57_48_4F_4F_4B  # "REWHOOK"


def appliers_serialize() -> None:
    """Wait (inside the current transaction) until no other applier is writing derived mirror state.

    Two appliers on disjoint deliveries still touch the same prospects (a status refresh) in
    different orders, which deadlocks; SQLite's IMMEDIATE transactions serialise writers anyway.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [APPLIER_LOCK])


def session_lock_try(key: int) -> bool:
    """Take an advisory lock held as long as this connection lives (it dies with a killed worker's
    connection, which is what makes it useful); True on SQLite, which has none."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        return bool(cursor.fetchone()[0])


def session_lock_release(key: int) -> None:
    if connection.vendor != "postgresql":
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
    except DatabaseError as exc:  # the connection is gone, and the lock with it
        logger.warning("could not release advisory lock %s: %s", key, exc)


def commit_relaxed() -> None:
    """Let this transaction's commit skip waiting for the disk (PostgreSQL): for writes that can be
    redone from RentEngine after a crash (sync pages, change counters), never for webhook deliveries."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO off")  # this transaction only


@functools.cache
def _insert_once_sql(model: type[models.Model], columns: tuple[str, ...], unique: str) -> str:
    quote = connection.ops.quote_name
    meta = model._meta

    def column(name: str) -> str:
        return quote(str(meta.get_field(name).column))  # type: ignore[union-attr]

    names = ", ".join(column(c) for c in columns)
    placeholders = ", ".join(["%s"] * len(columns))
    # Identifiers come from model metadata; every value is a parameter.
    return (
        f"INSERT INTO {quote(meta.db_table)} ({names}) VALUES ({placeholders}) "  # noqa: S608
        f"ON CONFLICT ({column(unique)}) DO NOTHING RETURNING {quote(str(meta.pk.column))}"
    )


def insert_once(model: type[models.Model], values: dict[str, Any], *, unique: str) -> Any:
    """Insert one row unless one with the same `unique` value exists: the new primary key, or None."""
    columns = tuple(values)
    fields = [model._meta.get_field(c) for c in columns]
    params = [f.get_db_prep_save(values[f.name], connection) for f in fields]  # type: ignore[union-attr]
    with connection.cursor() as cursor:
        cursor.execute(_insert_once_sql(model, columns, unique), params)
        row = cursor.fetchone()
    return None if row is None else row[0]
