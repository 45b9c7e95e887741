"""The GET list endpoints of /api/public/v1 (API-FACTS section 2 and the Gaps table).

Each endpoint validates its query (validation.py) against the parameters it declares (less those of
INFERRED features this RentEngine lacks: features.py), narrows the token's accounts by the account
filter it accepts (units use `accountId`, lockboxes `account_id`, prospects either: API-FACTS 3.6),
builds one predicate for the rest, and serves a page of the table's cached view. Bare arrays except
GET /leasing_events, which answers `{"data": [...], "page": {...}}` (API-FACTS 1.3).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

from integrations.rentengine.vocabulary import PAGE_LIMIT_DEFAULT, PAGE_LIMIT_MAX, LockboxEventType, UnitStatus

from .features import declared
from .messages import JSON, Request, Response
from .state import Row, State, Table, json_bytes
from .validation import Param, paging, query_parse

Check = Callable[[Row], bool]

UUIDS = Param("uuid[]")
UNITS = {
    "unitIds": Param("integer[]"),
    "extracted_from": Param("string"),
    "accountId": Param("uuid"),
    "statuses": Param("string[]", enum=tuple(UnitStatus)),
    "city": Param("string"),
    "zip_codes": Param("string[]"),
    "updated_after": Param("date-time"),
    "updated_before": Param("date-time"),
    **paging(PAGE_LIMIT_MAX),
}
PROSPECTS = {
    "created_after": Param("date-time"),
    "created_before": Param("date-time"),
    "updated_after": Param("date-time"),
    "accountId": Param("uuid"),
    "account_id": Param("uuid"),
    **paging(PAGE_LIMIT_MAX),
}
LEASING_EVENTS = {
    "prospect_id": Param("integer"),
    "created_after": Param("date-time"),
    "created_before": Param("date-time"),
    "account_id": Param("uuid"),
    **paging(PAGE_LIMIT_MAX),
}
LOCKBOX_TYPE = Param("string", enum=("Sentrilock",))  # the API filters Sentrilock only (API-FACTS 2.1)
LOCKBOXES = {
    "serial_numbers": Param("string[]"),
    "lockbox_ids": UUIDS,
    "account_id": Param("uuid"),
    "lockbox_type": LOCKBOX_TYPE,
    **paging(PAGE_LIMIT_MAX),
}
LOCKBOX_EVENTS = {
    "serial_numbers": Param("string[]"),
    "lockbox_ids": UUIDS,
    "lockbox_event_ids": UUIDS,
    "account_id": Param("uuid"),
    "lockbox_type": LOCKBOX_TYPE,
    "event_types": Param("string[]", enum=tuple(LockboxEventType)),
    "created_at_from": Param("date-time"),
    "created_at_to": Param("date-time"),
    "unit_ids": Param("string[]"),
    **paging(PAGE_LIMIT_MAX),
}
INSTALLATIONS = {
    "lockbox_ids": UUIDS,
    "unit_ids": Param("string[]"),
    "serial_numbers": Param("string[]"),
    "account_id": Param("uuid"),
    **paging(PAGE_LIMIT_MAX),
}
SUBTEAMS = {"subteamIds": UUIDS, "accountId": Param("uuid"), **paging(PAGE_LIMIT_MAX)}
TEMPLATES = {"templateIds": UUIDS, "accountId": Param("uuid"), "isDefault": Param("boolean"), **paging(PAGE_LIMIT_MAX)}
MULTIFAMILY = {"account_id": Param("uuid"), **paging(PAGE_LIMIT_MAX)}
FLOORPLANS = {"multifamily_property_id": Param("uuid"), **paging(PAGE_LIMIT_MAX)}


def accounts_in_scope(request: Request, *wanted: str | None) -> frozenset[str]:
    """The token's accounts, narrowed by each account filter given (an unknown one selects nothing)."""
    accounts = request.accounts
    for account_id in wanted:
        if account_id is not None:
            accounts = accounts & {account_id}
    return accounts


def page_bounds(query: dict[str, Any]) -> tuple[int, int]:
    return query.get("limit", PAGE_LIMIT_DEFAULT), query.get("page_number", 0)


def select(
    table: Table,
    name: str,
    query: dict[str, Any],
    accounts: frozenset[str],
    checks: list[Check],
    *,
    account_field: str = "account_id",
    every_account: frozenset[str] = frozenset(),
    source: Sequence[Row] | None = None,
    sort: Callable[[Row], Any] | None = None,
) -> Sequence[Row]:
    """The rows this query selects, cached by its filters (paging excluded)."""
    if not every_account or not accounts >= every_account:
        checks = [*checks, lambda row: row[account_field] in accounts]
    key = (name, tuple(sorted((k, v) for k, v in query.items() if k not in ("limit", "page_number"))), accounts)
    if isinstance(source, RowRange) and checks and sort is None:
        # A created_at window moves with every page of a sliding pager: filter only as far as this
        # page (and one row beyond, for has_more) instead of caching a view that is never reused.
        limit, page = page_bounds(query)
        wanted = (page + 1) * limit + 1
        return list(itertools.islice((row for row in source if all(check(row) for check in checks)), wanted))
    if not checks:
        return table.view(key, None, source=source, sort=sort)
    if len(checks) == 1:
        return table.view(key, checks[0], source=source, sort=sort)
    return table.view(key, lambda row: all(check(row) for check in checks), source=source, sort=sort)


def array_page(table: Table, rows: Sequence[Row], query: dict[str, Any]) -> Response:
    limit, page = page_bounds(query)
    chunk = rows[page * limit : (page + 1) * limit]
    return Response(200, b"[" + b",".join(table.blob(row) for row in chunk) + b"]", JSON)


def envelope_page(rows: Sequence[Row], query: dict[str, Any], blob: Callable[[Row], bytes]) -> Response:
    limit, page = page_bounds(query)
    chunk = rows[page * limit : (page + 1) * limit]
    has_more = len(rows) > (page + 1) * limit
    paging_info = {"limit": limit, "page_number": page, "has_more": has_more, "next_page_number": page + 1 if has_more else None}
    body = b'{"data":[' + b",".join(blob(row) for row in chunk) + b'],"page":' + json_bytes(paging_info) + b"}"
    return Response(200, body, JSON)


def between(field: str, after: str | None, before: str | None) -> list[Check]:
    """Inclusive at both ends (RentEngine's `created_after` is inclusive: API-FACTS 1.3)."""
    checks: list[Check] = []
    if after is not None:
        checks.append(lambda row: row[field] >= after)
    if before is not None:
        checks.append(lambda row: row[field] <= before)
    return checks


class RowRange(Sequence[Row]):
    """rows[low:high] without copying: a pager sliding `created_after` over 250,000 events would
    otherwise copy the whole tail of the table on every page."""

    def __init__(self, rows: list[Row], low: int, high: int) -> None:
        self.rows, self.low, self.high = rows, low, max(low, high)

    def __len__(self) -> int:
        return self.high - self.low

    @overload
    def __getitem__(self, index: int) -> Row: ...
    @overload
    def __getitem__(self, index: slice) -> list[Row]: ...
    def __getitem__(self, index: int | slice) -> Row | list[Row]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            return self.rows[self.low + start : self.low + stop : step]
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        return self.rows[self.low + index % len(self)]

    def __iter__(self) -> Iterator[Row]:
        return (self.rows[i] for i in range(self.low, self.high))


def created_range(rows: list[Row], after: str | None, before: str | None) -> RowRange | None:
    """The rows (sorted by created_at) created in [after, before], found by bisection, so a pager
    that slides `created_after` page by page costs no scan; None when neither bound is set."""
    if after is None and before is None:
        return None
    low = 0 if after is None else bisect.bisect_left(rows, after, key=lambda row: row["created_at"])
    high = len(rows) if before is None else bisect.bisect_right(rows, before, key=lambda row: row["created_at"])
    return RowRange(rows, low, high)


def member_of(field: str, values: tuple[Any, ...] | None) -> list[Check]:
    if values is None:
        return []
    wanted = frozenset(values)
    return [lambda row: row[field] in wanted]


def all_accounts(state: State) -> frozenset[str]:
    return frozenset(a["id"] for a in state.accounts)


def units_list(state: State, request: Request) -> Response:
    query = query_parse(request.query, declared(UNITS, request))
    checks = member_of("id", query.get("unitIds")) + member_of("status", query.get("statuses"))
    checks += between("updated_at", query.get("updated_after"), query.get("updated_before"))
    if "extracted_from" in query:
        checks.append(lambda row: row["extracted_from"] == query["extracted_from"])
    if "city" in query:
        city = query["city"].strip().lower()
        checks.append(lambda row: (row["address"]["city"] or "").lower() == city)
    if "zip_codes" in query:
        zips = frozenset(query["zip_codes"])
        checks.append(lambda row: row["address"]["zip_code"] in zips)
    accounts = accounts_in_scope(request, query.get("accountId"))
    table = state.table("units")
    rows = select(table, "units", query, accounts, checks, every_account=all_accounts(state))
    return array_page(table, rows, query)


def prospects_list(state: State, request: Request) -> Response:
    query = query_parse(request.query, declared(PROSPECTS, request))
    checks = between("updated_at", query.get("updated_after"), None)
    accounts = accounts_in_scope(request, query.get("accountId"), query.get("account_id"))
    table = state.table("prospects")
    source = created_range(table.rows, query.get("created_after"), query.get("created_before"))
    rows = select(table, "prospects", query, accounts, checks, every_account=all_accounts(state), source=source)
    return array_page(table, rows, query)


def leasing_events_list(state: State, request: Request) -> Response:
    query = query_parse(request.query, declared(LEASING_EVENTS, request))
    checks: list[Check] = []
    accounts = accounts_in_scope(request, query.get("account_id"))
    table = state.table("leasing_events")
    source: Sequence[Row] | None = created_range(table.rows, query.get("created_after"), query.get("created_before"))
    if "prospect_id" in query:
        source = table.groups.get(query["prospect_id"], [])
        checks = between("created_at", query.get("created_after"), query.get("created_before"))
    rows = select(
        table,
        "leasing_events",
        query,
        accounts,
        checks,
        account_field="_account_id",
        every_account=all_accounts(state),
        source=source,
    )
    return envelope_page(rows, query, table.blob)


def lockbox_checks(state: State, query: dict[str, Any], id_field: str) -> list[Check]:
    checks = member_of(id_field, query.get("lockbox_ids"))
    lockboxes = state.table("lockboxes").rows
    if "serial_numbers" in query:
        serials = frozenset(query["serial_numbers"])
        ids = frozenset(box["id"] for box in lockboxes if box["serial_number"] in serials)
        checks.append(lambda row: row[id_field] in ids)
    if "lockbox_type" in query:
        ids_of_type = frozenset(box["id"] for box in lockboxes if box["lockbox_type"] == query["lockbox_type"])
        checks.append(lambda row: row[id_field] in ids_of_type)
    return checks


def lockboxes_list(state: State, request: Request) -> Response:
    query = query_parse(request.query, LOCKBOXES)
    checks = lockbox_checks(state, query, "id")
    table = state.table("lockboxes")
    rows = select(
        table, "lockboxes", query, accounts_in_scope(request, query.get("account_id")), checks, every_account=all_accounts(state)
    )
    return array_page(table, rows, query)


def lockbox_events_list(state: State, request: Request) -> Response:
    query = query_parse(request.query, LOCKBOX_EVENTS)
    checks = lockbox_checks(state, query, "lockbox_id")
    checks += member_of("id", query.get("lockbox_event_ids")) + member_of("event_type", query.get("event_types"))
    checks += member_of("unit_id", query.get("unit_ids"))
    table = state.table("lockbox_events")
    source = created_range(table.rows, query.get("created_at_from"), query.get("created_at_to"))
    accounts = accounts_in_scope(request, query.get("account_id"))
    rows = select(table, "lockbox_events", query, accounts, checks, every_account=all_accounts(state), source=source)
    return array_page(table, rows, query)


def lockbox_installations_list(state: State, request: Request) -> Response:
    query = query_parse(request.query, INSTALLATIONS)
    checks = lockbox_checks(state, query, "lockbox_id") + member_of("unit_id", query.get("unit_ids"))
    table = state.table("lockbox_installations")
    accounts = accounts_in_scope(request, query.get("account_id"))
    rows = select(table, "lockbox_installations", query, accounts, checks, every_account=all_accounts(state))
    return array_page(table, rows, query)


def subteams_list(state: State, request: Request) -> Response:
    query = query_parse(request.query, SUBTEAMS)
    table = state.table("subteams")
    accounts = accounts_in_scope(request, query.get("accountId"))
    rows = select(table, "subteams", query, accounts, member_of("id", query.get("subteamIds")), every_account=all_accounts(state))
    return array_page(table, rows, query)


def prescreening_templates_list(state: State, request: Request) -> Response:
    query = query_parse(request.query, TEMPLATES)
    checks = member_of("id", query.get("templateIds"))
    if "isDefault" in query:
        checks.append(lambda row: row["is_default"] is query["isDefault"])
    table = state.table("prescreening_templates")
    accounts = accounts_in_scope(request, query.get("accountId"))
    rows = select(table, "prescreening_templates", query, accounts, checks, every_account=all_accounts(state))
    return array_page(table, rows, query)


def multifamily_properties_list(state: State, request: Request) -> Response:
    query = query_parse(request.query, MULTIFAMILY)
    table = state.table("multifamily_properties")
    accounts = accounts_in_scope(request, query.get("account_id"))
    rows = select(table, "multifamily_properties", query, accounts, [], every_account=all_accounts(state))
    return array_page(table, rows, query)


def floorplans_list(state: State, request: Request) -> Response:
    query = query_parse(request.query, FLOORPLANS)
    table = state.table("floorplans")
    checks = member_of(
        "multifamily_property_id", (query["multifamily_property_id"],) if "multifamily_property_id" in query else None
    )
    rows = select(
        table, "floorplans", query, request.accounts, checks, account_field="_account_id", every_account=all_accounts(state)
    )
    return array_page(table, rows, query)
