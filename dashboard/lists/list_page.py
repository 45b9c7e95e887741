"""The skeleton every list page shares: one keyset page of the filtered rows, the count above it, and
which named partial of the list's template answers (`results` when a filter changes, `rows` for
"load more", the whole page otherwise). `views/unit_pages.py: unit_list` is the recipe in full:
a filter definition (`lists/filters.py`), `list_page`, row models for the rows, `render_zoned`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict

from dashboard.display.pills import count_label
from dashboard.lists.filtering import ListFilter
from dashboard.lists.paging import PAGE_SIZE, Page, count_capped, keyset_page
from integrations.rentengine.models import Account

COUNT_CAP = 1_000


def query_without(data: QueryDict, *names: str) -> str:
    """The current query string minus some keys (the cursor, usually), urlencoded."""
    copy = data.copy()
    for name in names:
        copy.pop(name, None)
    for key in [k for k, v in copy.lists() if not any(v)]:
        copy.pop(key)
    return copy.urlencode()


def list_part(request: HttpRequest) -> str:
    """The part an htmx request asks for: "results" (a filter changed), "rows" (load more), or ""
    (the whole page)."""
    htmx = getattr(request, "htmx", None)
    if not htmx:
        return ""
    if htmx.target == "results":
        return "results"
    if request.GET.get("after"):
        return "rows"
    return ""


@dataclass(frozen=True)
class ListPage[R]:
    page: Page[R]
    template: str  # "x/list.html", or one of its parts ("x/list.html#rows")
    context: dict[str, Any]

    @property
    def whole(self) -> bool:
        """The whole page: the filter sheet's choices are needed."""
        return "#" not in self.template

    @property
    def rows_only(self) -> bool:
        return self.template.endswith("#rows")


def list_page[R](
    request: HttpRequest,
    account: Account,
    filters: ListFilter,
    rows: QuerySet[Any, R],
    template: str,
    *,
    title: str,
    size: int = PAGE_SIZE,
    count_cap: int | None = COUNT_CAP,
    with_nulls: bool = True,
    parts: bool = True,
) -> ListPage[R]:
    """One page of `rows` (the filter's queryset, narrowed to what a row shows, models or
    `.values()`) in the filter's
    sort from its cursor, and the context every list template reads: the page, the filter values
    (`f`), the query string without the cursor, and the count (first pages only, capped).
    `parts=False`: the template has no named parts, every request gets the whole page."""
    part = list_part(request) if parts else ""
    page = keyset_page(rows, filters.sort, cursor=filters.cursor, size=size, with_nulls=with_nulls)
    context: dict[str, Any] = {
        "title": title,
        "account": account,
        "page": page,
        "f": filters.values,
        "query": query_without(request.GET, "after"),
    }
    if part != "rows" and count_cap is not None:
        count = None
        if page.is_first:
            # A first page that is not full is the whole answer: no counting query at all. A text
            # search is not counted either: counting substring matches scans (and re-tests) rows.
            count = (
                len(page.rows) if not page.has_next else None if filters.values.get("q") else count_capped(filters.qs, count_cap)
            )
        context |= {"count": count, "count_label": count_label(count, count_cap) if count is not None else ""}
    return ListPage(page=page, template=f"{template}#{part}" if part else template, context=context)
