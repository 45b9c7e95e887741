"""GET /showings/availability (API-FACTS 2.11) and GET /reporting/showings (2.12), both read from the
simulator's own showings table, so the two agree with each other and with the leasing events.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from integrations.rentengine.vocabulary import REPORTING_LIMIT_MAX, REPORTING_MAX_SPAN_DAYS, ShowingMethod, ShowingStatus

from .list_endpoints import accounts_in_scope, envelope_page, select
from .messages import Request, Response, json_response, not_found
from .row_shapes import showing_report_row
from .state import Row, State, json_bytes, stamp, stamp_parse
from .validation import QUERY_ERROR, Invalid, Param, detail, paging, query_parse

AVAILABILITY = {"unitId": Param("integer", required=True)}
REPORTING = {
    "account_ids": Param("uuid[]", required=True),
    "start": Param("date-time", required=True),
    "end": Param("date-time", required=True),
    **paging(REPORTING_LIMIT_MAX),
}
SLOT = timedelta(minutes=30)
BUSY = frozenset({ShowingStatus.SCHEDULED, ShowingStatus.CONFIRMED, ShowingStatus.ARRIVED, ShowingStatus.STARTED})


def availability(state: State, request: Request) -> Response:
    query = query_parse(request.query, AVAILABILITY)
    unit = state.table("units").get(query["unitId"])
    if unit is None or unit["account_id"] not in request.accounts:
        return not_found()
    account = state.account(unit["account_id"]) or {"time_zone": "America/Chicago"}
    zone = ZoneInfo(account["time_zone"])
    now = state.clock()
    taken = {
        s["planned_date_time"]
        for s in state.table("showings").rows
        if s["unit_id"] == unit["id"] and s["status"] in BUSY and s["planned_date_time"] >= stamp(now)
    }
    method = unit["showing_method"]
    accompanied = method == ShowingMethod.ACCOMPANIED
    invited = sorted(
        u["id"] for u in state.users if unit["account_id"] in u["account_ids"] and u["subteam_id"] == unit.get("subteam_id")
    )
    windows, preferred = [], []
    local_today = now.astimezone(zone).date()
    for offset in range(1, 8):
        day = local_today + timedelta(days=offset)
        for minute in range(9 * 60, 18 * 60, 30):
            start = datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=zone).astimezone(UTC)
            if stamp(start) in taken:
                continue
            window = {
                "start": stamp(start),
                "end": stamp(start + SLOT),
                "invitedUserIdsArray": invited[:2] if accompanied else [],
                "showingMethodsAvailable": [method] if accompanied else [method, str(ShowingMethod.ACCOMPANIED)],
            }
            windows.append(window)
            # Windows next to a booked showing let an agent stack visits (API-FACTS 2.11).
            if stamp(start - SLOT) in taken or stamp(start + SLOT) in taken:
                preferred.append(window)
    return json_response(
        200,
        {
            "availability": {
                "unitId": unit["id"],
                "preferredShowingWindows": preferred,
                "availableShowingWindows": windows,
                "showingMethod": method,
                "timezoneName": account["time_zone"],
                "timezoneAbbreviation": now.astimezone(zone).tzname(),
                "unitStatus": unit["status"],
            }
        },
    )


def reporting_showings(state: State, request: Request) -> Response:
    query = query_parse(request.query, REPORTING)
    start, end = query["start"], query["end"]
    span = stamp_parse(end) - stamp_parse(start)
    if span < timedelta(0):
        raise Invalid(QUERY_ERROR, [detail("/end", "formatMinimum", {"comparison": ">=", "limit": start}, "must be >= start")])
    if span > timedelta(days=REPORTING_MAX_SPAN_DAYS):
        message = f"date range must not exceed {REPORTING_MAX_SPAN_DAYS} days"
        raise Invalid(QUERY_ERROR, [detail("/end", "maxSpan", {"maxDays": REPORTING_MAX_SPAN_DAYS}, message)])
    accounts: frozenset[str] = frozenset()
    for account_id in query["account_ids"]:
        accounts |= accounts_in_scope(request, account_id)
    table = state.table("showings")
    checks = [lambda row: start <= row["planned_date_time"] <= end]
    rows = select(table, "reporting_showings", query, accounts, checks, sort=lambda row: (row["planned_date_time"], row["id"]))
    return envelope_page(rows, query, lambda row: report_blob(state, row))


def report_blob(state: State, showing: Row) -> bytes:
    prospect = state.table("prospects").get(showing["prospect_id"])
    unit = state.table("units").get(showing["unit_id"])
    agent = state.user(showing["agent_user_id"]) if showing["agent_user_id"] else None
    row: dict[str, Any] = showing_report_row(
        showing,
        prospect_name=prospect["name"] if prospect else None,
        property_address=unit["address"]["formatted_address"] if unit else None,
        agent_name=agent["name"] if agent else None,
    )
    return json_bytes(row)
