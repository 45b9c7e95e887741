"""The conditional upsert every mirror write goes through: one INSERT ... ON CONFLICT statement per batch.

A versioned row is replaced only by a newer version, an unversioned one only when it differs, and a
deliberate delete's tombstone only by a strictly newer version.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import connection, models
from django.utils import timezone

BATCH = 500


def column(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    return str(field.column)


def _distinct(left: str, right: str) -> str:
    return f"{left} IS DISTINCT FROM {right}" if connection.vendor == "postgresql" else f"{left} IS NOT {right}"


def _version(row: dict[str, Any]) -> datetime:
    return row.get("source_updated_at") or datetime.min.replace(tzinfo=timezone.get_current_timezone())


def _default(field: models.Field) -> Any:
    if field.has_default():
        return field.get_default()
    if field.null:
        return None
    if isinstance(field, models.CharField | models.TextField):
        return ""
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")


def value_clean(value: Any) -> Any:
    """A value the database can store: strings (at any depth) lose NUL characters, which PostgreSQL
    text and JSON refuse, lone surrogates become U+FFFD, and NaN or infinite numbers (which Python's
    JSON reader lets through) become null. Values are cleaned, never serialized JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        if "\x00" in value:
            value = value.replace("\x00", "")
        return _SURROGATE.sub("\ufffd", value) if not value.isascii() else value
    if isinstance(value, dict):
        return {value_clean(k): value_clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [value_clean(v) for v in value]
    return value


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def upsert(
    model: type[models.Model], rows: Sequence[dict[str, Any]], *, compare: Sequence[str] = ("raw",), keep: Sequence[str] = ()
) -> list[Any]:
    """Write `rows` (dicts keyed by field attname) and return the primary keys inserted or changed.

    `compare`: columns whose difference counts as a change when versions can't decide.
    `keep`: derived columns an incoming record never overwrites (they are recomputed separately).
    """
    if not rows:
        return []
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    # One row per key, the newest version winning (Postgres refuses to touch a row twice in one statement).
    by_key: dict[Any, dict[str, Any]] = {}
    for row in rows:
        current = by_key.get(row[pk.attname])
        if current is None or _version(row) >= _version(current):
            by_key[row[pk.attname]] = row
    fields = list(meta.concrete_fields)
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    pk_column = quote(str(pk.column))
    keep_columns = {column(model, name) for name in keep}
    columns = [str(f.column) for f in fields]
    updates = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in columns if c != pk.column and c not in keep_columns)
    t, x = table, "EXCLUDED"
    version, deleted, reason = quote("source_updated_at"), quote("deleted_at"), quote("tombstone_reason")
    differs = " OR ".join(_distinct(f"{t}.{quote(column(model, n))}", f"{x}.{quote(column(model, n))}") for n in compare)
    newer = f"({x}.{version} IS NOT NULL AND {t}.{version} IS NOT NULL AND {x}.{version} > {t}.{version})"
    not_blocked = f"({t}.{deleted} IS NULL OR {t}.{reason} = 'missing' OR {newer})"
    changed = (
        f"({newer} OR ({t}.{version} IS NULL AND {x}.{version} IS NOT NULL)"
        f" OR (({x}.{version} IS NULL OR {x}.{version} = {t}.{version}) AND ({differs}))"
        f" OR ({t}.{deleted} IS NOT NULL AND {t}.{reason} = 'missing'))"
    )
    # Identifiers come from model metadata (quoted); every value is a parameter.
    conflict = f" ON CONFLICT ({pk_column}) DO UPDATE SET {updates} WHERE {not_blocked} AND {changed} RETURNING {pk_column}"
    column_list = ", ".join(quote(c) for c in columns)
    values = list(by_key.values())
    slots = [(f.attname, str(f.column), _default(f)) for f in fields]  # defaults computed once, not per cell
    changed_keys: list[Any] = []
    with connection.cursor() as cursor:
        for start in range(0, len(values), BATCH):
            chunk = values[start : start + BATCH]
            if connection.vendor == "postgresql":
                types = ", ".join(f"{quote(str(f.column))} {f.db_type(connection)}" for f in fields)
                payload = json.dumps(
                    [{column: value_clean(row.get(name, default)) for name, column, default in slots} for row in chunk],
                    default=_json_value,
                )
                sql = f"INSERT INTO {table} ({column_list}) SELECT {column_list} FROM jsonb_to_recordset(%s::jsonb) AS x({types})"  # noqa: S608
                cursor.execute(sql + conflict, [payload])
            else:
                params = [
                    f.get_db_prep_save(value_clean(row.get(name, default)), connection)
                    for row in chunk
                    for f, (name, _, default) in zip(fields, slots, strict=True)
                ]
                placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
                sql = f"INSERT INTO {table} ({column_list}) VALUES " + ", ".join([placeholder] * len(chunk))  # noqa: S608
                cursor.execute(sql + conflict, params)
            changed_keys += [pk.to_python(r[0]) for r in cursor.fetchall()]
    return changed_keys


def rows_update(model: type[models.Model], rows: Sequence[dict[str, Any]], fields: Sequence[str]) -> None:
    """Set `fields` on many rows by primary key in one statement (Django's bulk_update builds a CASE
    per field and row, which costs more than the update itself at a page of rows)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update([model(**value_clean(row)) for row in rows], list(fields))
        return
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    quote = connection.ops.quote_name
    targets = [meta.get_field(name) for name in fields]
    assert all(isinstance(f, models.Field) for f in targets)
    columns = [pk, *targets]
    types = ", ".join(f"{quote(str(f.column))} {f.db_type(connection)}" for f in columns)  # type: ignore[union-attr]
    sets = ", ".join(f"{quote(str(f.column))} = x.{quote(str(f.column))}" for f in targets)  # type: ignore[union-attr]
    payload = json.dumps([{str(f.column): value_clean(row.get(f.attname)) for f in columns} for row in rows], default=_json_value)  # type: ignore[union-attr]
    table = quote(meta.db_table)
    pk_column = quote(str(pk.column))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {sets} FROM jsonb_to_recordset(%s::jsonb) AS x({types}) WHERE {table}.{pk_column} = x.{pk_column}",  # noqa: S608
            [payload],
        )
