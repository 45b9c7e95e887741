"""Keyset ("seek") pagination: one column plus the primary key orders a list, a page starts after the
last row of the previous one (`?after=`, an opaque cursor), so every page costs the same at any
depth and stays stable while sync and webhooks insert rows. NULLs come last in both directions; a
cursor that doesn't decode means "from the start"."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import F, Model, Q, QuerySet

from dashboard.lists.filtering import Sort, value_fits

PAGE_SIZE = 50


@dataclass(frozen=True)
class Page[R]:
    """One page of a list: model instances, or dicts when the list reads `.values()`."""

    rows: list[R]
    next_cursor: str | None
    cursor: str | None

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def is_first(self) -> bool:
        return self.cursor is None


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, int | float | str) or value is None:
        return value
    return str(value)


def cursor_encode(part: str, value: Any, pk: Any) -> str:
    text = json.dumps([part, _plain(value), _plain(pk)], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def cursor_for(row: object, sort: Sort) -> str:
    """The cursor that continues right after `row`, a model instance or a `.values()` row (which
    carries the primary key as "id"); also used to jump deep in benchmarks."""
    if isinstance(row, Mapping):
        value, pk = row[sort.field], row["id"]
    else:
        assert isinstance(row, Model)
        value, pk = getattr(row, sort.field), row.pk
    return cursor_encode("n" if value is None else "v", value, pk)


def cursor_decode(model: type[Model], sort: Sort, cursor: str | None) -> tuple[str, Any, Any] | None:
    if not cursor:
        return None
    try:
        part, value, pk = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        field = model._meta.get_field(sort.field)
        pk_field = model._meta.pk
        assert pk_field is not None
        pk_value = pk_field.to_python(pk)
        if not value_fits(pk_value):
            return None
        if part == "n":
            return ("n", None, pk_value)
        if part == "v" and value is not None:
            typed = field.to_python(value)  # type: ignore[union-attr]
            return ("v", typed, pk_value) if value_fits(typed) else None
    except (ValueError, TypeError, binascii.Error, ValidationError, UnicodeDecodeError, AttributeError, OverflowError):
        pass
    return None


def keyset_page[R](
    queryset: QuerySet[Any, R], sort: Sort, *, cursor: str | None, size: int = PAGE_SIZE, with_nulls: bool = True
) -> Page[R]:
    """One page of `queryset` in `sort` order, starting after `cursor`. `with_nulls=False` says the
    queryset's own filter excludes NULLs in the sort column (e.g. a range on it): a short page then
    costs no second query for them. A `.values()` queryset must read "id" and the sort column."""
    model = queryset.model
    position = cursor_decode(model, sort, cursor)
    name, desc = sort.field, sort.descending
    less = "lt" if desc else "gt"
    rows: list[R] = []
    if position is None or position[0] == "v":
        values = queryset.filter(**{f"{name}__isnull": False})
        if position is not None:
            value, pk = position[1], position[2]
            # The redundant inclusive bound is what lets the database start an index range at the cursor.
            bound = "lte" if desc else "gte"
            values = values.filter(**{f"{name}__{bound}": value}).filter(
                Q(**{f"{name}__{less}": value}) | Q(**{name: value, f"pk__{less}": pk})
            )
        direction = "-" if desc else ""
        rows = list(values.order_by(f"{direction}{name}", f"{direction}pk")[: size + 1])
    if len(rows) <= size and with_nulls and model._meta.get_field(name).null:
        nulls = queryset.filter(**{f"{name}__isnull": True})
        if position is not None and position[0] == "n":
            nulls = nulls.filter(**{f"pk__{less}": position[2]})
        rows += list(nulls.order_by("-pk" if desc else "pk")[: size + 1 - len(rows)])
    next_cursor = cursor_for(rows[size - 1], sort) if len(rows) > size else None
    return Page(rows=rows[:size], next_cursor=next_cursor, cursor=cursor if position is not None else None)


def count_capped(queryset: QuerySet[Any], cap: int) -> int:
    """How many rows match, counting no further than cap + 1 (never a COUNT over a whole table)."""
    return queryset.order_by()[: cap + 1].count()


def keyset_ordered[M: Model](queryset: QuerySet[M], sort: Sort) -> QuerySet[M]:
    """The whole of `queryset` in the order `keyset_page` walks it (values, then NULLs, each with
    the primary key as tie-breaker): for reading a list end to end, e.g. to export it."""
    column = F(sort.field).desc(nulls_last=True) if sort.descending else F(sort.field).asc(nulls_last=True)
    return queryset.order_by(column, "-pk" if sort.descending else "pk")
