"""Patching the rows a list already shows, and counting the rows that would join it: the list's live
element asks its own view for `live=rows&ids=<the ids on screen>`, and gets those rows rendered as
the list renders them plus the number of new matches within the stretch on screen (the "N new ·
show" pill). Nothing moves under the cursor until the person asks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest

from dashboard.lists.filtering import Sort, value_fits
from dashboard.lists.list_page import query_without
from dashboard.lists.paging import count_capped

MAX_IDS = 300  # at most ~11 KB of query string (uuids); a longer list patches its first 300 rows
NEW_CAP = 99
PARAMS = ("live", "ids", "last", "more", "count_new")


@dataclass
class RowsAsk:
    ids: list[Any]
    last: Any | None
    more: bool  # the list goes on past `last` (a "Load more" row): new rows count only up to it
    count_new: bool  # off for a page opened part-way down the list (after a cursor)


def rows_ask(request: HttpRequest, model: type[Model]) -> RowsAsk | None:
    """The live row request, if this is one (ids that don't parse are left out, never an error)."""
    data = request.GET
    if data.get("live") != "rows":
        return None
    pk = model._meta.pk
    assert pk is not None
    ids: list[Any] = []
    for raw in data.get("ids", "").split(",")[:MAX_IDS]:
        try:
            value = pk.to_python(raw.strip())
        except (ValidationError, ValueError, TypeError):
            continue
        if value not in (None, "") and value_fits(value):
            ids.append(value)
    last = ids[-1] if ids else None
    return RowsAsk(ids=ids, last=last, more=data.get("more") == "1", count_new=data.get("count_new", "1") == "1")


def at_or_before(sort: Sort, anchor: Model) -> Q:
    """Rows that come no later than `anchor` in the list's order (keyset order: the column, NULLs
    last in either direction, then the primary key in the column's direction)."""
    name = sort.field
    value = getattr(anchor, name)
    earlier = "gt" if sort.descending else "lt"
    if value is None:
        return Q(**{f"{name}__isnull": False}) | Q(**{f"{name}__isnull": True, f"pk__{earlier}": anchor.pk}) | Q(pk=anchor.pk)
    return Q(**{f"{name}__{earlier}": value}) | Q(**{name: value, f"pk__{earlier}": anchor.pk}) | Q(pk=anchor.pk)


def new_count(ask: RowsAsk, matching: QuerySet[Any], sort: Sort, every_row: QuerySet[Any]) -> int:
    """How many rows match the filter within the stretch on screen but are not on screen (capped).
    `every_row` finds the anchor even when it no longer matches (it stays on screen until asked)."""
    if not ask.count_new:
        return 0
    window = matching
    if ask.more and ask.last is not None:
        anchor = every_row.filter(pk=ask.last).only("pk", sort.field).first()
        if anchor is None:
            return 0  # the stretch can't be placed; the next notice tries again
        window = matching.filter(at_or_before(sort, anchor))
    return count_capped(window.exclude(pk__in=ask.ids), NEW_CAP)


def live_rows_context(request: HttpRequest, ask: RowsAsk, rows: list[Any], new: int) -> dict[str, Any]:
    """What `live/rows.html` needs: the rows, and the pill (whose "show" reloads the results)."""
    return {
        "live_rows": rows,
        "new_count": new,
        "new_label": f"{NEW_CAP}+" if new > NEW_CAP else str(new),
        "results_query": query_without(request.GET, "after", *PARAMS),
    }
