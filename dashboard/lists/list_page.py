"""What every list page shares: reading filters from the query string, the query string for the next
page, distinct values for filter menus, and which template part answers an htmx request.

Convention (ARCHITECTURE 2): one template per page with two named partials, `results` (the count,
the table and the pager: what the filter form swaps) and `rows` (the rows plus the next "load more"
row: what "load more" appends). Without JavaScript the same links and forms load whole pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Model
from django.http import HttpRequest, QueryDict

MAX_QUERY_LENGTH = 100


@dataclass
class Params:
    """Typed reads of request.GET; a bad value reads as "not set", never as an error."""

    data: QueryDict

    def text(self, name: str, *, max_length: int = MAX_QUERY_LENGTH) -> str:
        return " ".join((self.data.get(name) or "").split())[:max_length]

    def choice(self, name: str, allowed: dict[str, Any] | tuple[str, ...] | list[str] | frozenset[str], default: str = "") -> str:
        value = self.data.get(name) or ""
        return value if value in allowed else default

    def integer(self, name: str) -> int | None:
        try:
            value = int(self.data.get(name) or "")
        except ValueError:
            return None
        return value if -(2**62) < value < 2**62 else None

    def decimal(self, name: str) -> Decimal | None:
        try:
            value = Decimal((self.data.get(name) or "").replace(",", "").replace("$", "").strip())
        except InvalidOperation:
            return None
        return value if value.is_finite() and abs(value) < 10**9 else None

    def day(self, name: str) -> date | None:
        try:
            return date.fromisoformat((self.data.get(name) or "").strip())
        except ValueError:
            return None


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """Midnight at the start of `day` in the account's zone (an aware datetime)."""
    return datetime.combine(day, time.min, tzinfo=zone)


def day_end(day: date, zone: ZoneInfo) -> datetime:
    return day_start(day + timedelta(days=1), zone)


def query_without(data: QueryDict, *names: str) -> str:
    """The current query string minus some keys (the cursor, usually), urlencoded."""
    copy = data.copy()
    for name in names:
        copy.pop(name, None)
    for key in [k for k, v in copy.lists() if not any(v)]:
        copy.pop(key)
    return copy.urlencode()


def list_template(request: HttpRequest, template: str) -> str:
    """The whole page, or the part an htmx request asked for."""
    htmx = getattr(request, "htmx", None)
    if not htmx:
        return template
    if htmx.target == "results":
        return f"{template}#results"
    if request.GET.get("after"):
        return f"{template}#rows"
    return template


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
    # Identifiers come from model metadata (quoted); values are parameters.
    sql = (
        f"WITH RECURSIVE v(x, n) AS ("  # noqa: S608
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
