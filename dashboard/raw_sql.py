"""The dashboard's only hand-written SQL, for what the ORM cannot say: the loose index scan behind
filter menus, a bare `SELECT 1`, emptying whole tables. Identifiers come from model metadata;
values are always parameters."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.db.models import Model


def distinct_values(model: type[Model], column_field: str, *, account_id: Any, limit: int = 200) -> list[str]:
    """Distinct non-empty values of one column within an account, for a filter menu.

    A loose index scan (a recursive CTE that jumps from value to value along the (account, column)
    index), so 100,000 rows with 20 distinct values cost 20 index probes, not a scan. Works on SQLite.
    """
    meta = model._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    field = meta.get_field(column_field)
    column = quote(str(field.column))  # type: ignore[union-attr]
    account = quote(str(meta.get_field("account").column))  # type: ignore[union-attr]
    sql = (
        f"WITH RECURSIVE v(x, n) AS ("  # noqa: S608 - identifiers from model metadata
        f" SELECT (SELECT {column} FROM {table} WHERE {account} = %s AND {column} > '' ORDER BY {column} LIMIT 1), 1"
        f" UNION ALL"
        f" SELECT (SELECT {column} FROM {table} WHERE {account} = %s AND {column} > v.x ORDER BY {column} LIMIT 1), n + 1"
        f" FROM v WHERE v.x IS NOT NULL AND n < %s"
        f") SELECT x FROM v WHERE x IS NOT NULL"
    )
    account_value = meta.get_field("account").get_db_prep_value(account_id, connection)  # type: ignore[union-attr]
    with connection.cursor() as cursor:
        cursor.execute(sql, [account_value, account_value, limit])
        return [row[0] for row in cursor.fetchall()]


def database_answers() -> str:
    """`SELECT 1` (for /healthz): a round trip that reads no table. Returns the database's vendor."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def tables_empty(models: Iterable[type[Model]]) -> int:
    """Delete every row of these tables, in the order given (dependants first), in one transaction;
    returns the rows removed. A plain DELETE: the ORM's delete() would first collect each row's
    cascades, and these tables are emptied whole."""
    removed = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608 - model metadata
            removed += max(cursor.rowcount, 0)
    return removed
