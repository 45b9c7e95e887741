"""CSV export of every list, exactly as filtered: each export reads the query string through the
list's own filter definition (`lists/filters.py`) and walks the rows in the list's own order, so
the file is the list with every page loaded. The link sits on each list (`{% list_tools %}`) and
carries its query."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import batched
from typing import Any

from django.db.models import Prefetch
from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from dashboard.display import pills
from dashboard.display.phones import phone_csv
from dashboard.display.timeline import lockbox_event_item, lockbox_event_user_ids
from dashboard.lists.csv_export import ROWS_PER_QUERY, csv_response, local_time
from dashboard.lists.filters import AgendaFilter, LockboxActivityFilter, LockboxFilter, ProspectFilter, UnitFilter
from dashboard.lists.paging import keyset_ordered, keyset_page
from dashboard.lists.showing_agenda import AGENDA_PAGE, agenda_items, agenda_showings
from dashboard.people.access import account_zone, my_user_id, request_account
from dashboard.people.names import people_in_account, people_names, person_name
from dashboard.views import lockbox_pages, prospect_pages, unit_pages
from integrations.rentengine.models import Account

MATCH_BATCH = lockbox_pages.PAGE_SIZE  # showings are matched to lockbox events a list page at a time, as on screen


def _account(request: HttpRequest) -> Account:
    account = request_account(request)
    if account is None:
        raise Http404("No account.")
    return account


@require_GET
def prospects_csv(request: HttpRequest) -> StreamingHttpResponse:
    account = _account(request)
    filters = ProspectFilter(request.GET, account=account, me=my_user_id(request))
    zone = account_zone(account)
    names = people_in_account(account.id)
    rows_qs = keyset_ordered(
        filters.qs.select_related("unit")
        .only(*prospect_pages.PROSPECT_ROW_FIELDS, "source")
        .prefetch_related(Prefetch("assignees", to_attr="assignee_rows")),
        filters.sort,
    )

    def rows() -> Iterator[list[Any]]:
        for chunk in batched(rows_qs.iterator(chunk_size=ROWS_PER_QUERY), ROWS_PER_QUERY):
            unknown = {str(a.user_id) for p in chunk for a in p.assignee_rows} - names.keys()
            if unknown:
                names.update(people_names(unknown, account_id=account.pk))
            for p in chunk:
                yield [
                    p.id,
                    p.name,
                    p.email,
                    phone_csv(p.phone),
                    p.status,
                    pills.family_pill(p.status_family).label,
                    p.unit_id,
                    p.unit.address if p.unit else "",
                    p.source_normalized,
                    "; ".join(person_name(names, a.user_id) for a in p.assignee_rows),
                    local_time(p.next_follow_up, zone),
                    local_time(p.created_at, zone),
                ]

    header = ["Prospect id", "Name", "Email", "Phone", "Status", "Stage", "Unit id", "Unit", "Source", "Assigned to",
              "Next follow-up", "Created"]  # fmt: skip
    return csv_response(request, "prospects", header, rows())


@require_GET
def units_csv(request: HttpRequest) -> StreamingHttpResponse:
    account = _account(request)
    filters = UnitFilter(request.GET, account=account)
    rows_qs = keyset_ordered(filters.qs.only(*unit_pages.UNIT_ROW_FIELDS, "zip_code", "subteam_id"), filters.sort)

    def rows() -> Iterator[list[Any]]:
        for chunk in batched(rows_qs.iterator(chunk_size=ROWS_PER_QUERY), ROWS_PER_QUERY):
            extras = unit_pages.unit_extras(account, [u.id for u in chunk])  # the list's own lockbox and interest columns
            for u in chunk:
                box = extras.lockboxes.get(u.id)
                yield [
                    u.id, u.address, u.city, u.state, u.zip_code, u.status, u.bedrooms, u.bathrooms, u.rent,
                    u.is_occupied, u.showing_method, box.serial_number if box else "", extras.open_prospects.get(u.id, 0),
                ]  # fmt: skip

    header = ["Unit id", "Address", "City", "State", "Zip", "Status", "Bedrooms", "Bathrooms", "Rent", "Occupied",
              "Showing method", "Lockbox", "Open prospects"]  # fmt: skip
    return csv_response(request, "units", header, rows())


@require_GET
def lockboxes_csv(request: HttpRequest) -> StreamingHttpResponse:
    account = _account(request)
    filters = LockboxFilter(request.GET, account=account)
    zone = account_zone(account)
    rows_qs = keyset_ordered(filters.qs.select_related("current_unit").defer("raw", "current_unit__raw"), filters.sort)
    now = timezone.now()

    def rows() -> Iterator[list[Any]]:
        for box in rows_qs.iterator(chunk_size=ROWS_PER_QUERY):
            unit = box.current_unit
            yield [
                box.id,
                box.serial_number,
                box.lockbox_type,
                pills.lockbox_state_pill(box.current_unit_id, box.last_event_at, now).label,
                box.current_unit_id,
                unit.address if unit else "",
                local_time(box.installed_at, zone) if box.current_unit_id else "",
                local_time(box.last_event_at, zone),
            ]

    header = ["Lockbox id", "Serial", "Type", "State", "Unit id", "Unit", "Installed", "Last event"]
    return csv_response(request, "lockboxes", header, rows())


@require_GET
def lockbox_activity_csv(request: HttpRequest) -> StreamingHttpResponse:
    account = _account(request)
    filters = LockboxActivityFilter(request.GET, account=account)
    zone = account_zone(account)
    rows_qs = keyset_ordered(filters.qs.select_related("lockbox", "unit").only(*lockbox_pages.ACTIVITY_FIELDS), filters.sort)

    def rows() -> Iterator[list[Any]]:
        for chunk in batched(rows_qs.iterator(chunk_size=ROWS_PER_QUERY), MATCH_BATCH):
            events = list(chunk)
            names = people_names(lockbox_event_user_ids(events), account_id=account.pk)
            matches = lockbox_pages.showings_matching(account, events)
            for event in events:
                item = lockbox_event_item(event, names, zone)
                showing = matches.get(event.id)
                yield [
                    local_time(event.created_at, zone),
                    event.event_type,
                    item.title,
                    event.lockbox.serial_number if event.lockbox else "",
                    event.lockbox.lockbox_type if event.lockbox else "",
                    event.unit_id,
                    event.unit.address if event.unit else "",
                    item.actor,
                    item.detail,
                    showing.id if showing else "",
                    showing.status if showing else "",
                    showing.prospect_id if showing else "",
                    showing.prospect_name if showing else "",
                ]

    header = ["Time", "Type", "Event", "Lockbox", "Lockbox type", "Unit id", "Unit", "By", "Detail", "Showing id",
              "Showing status", "Prospect id", "Prospect"]  # fmt: skip
    return csv_response(request, "lockbox-activity", header, rows())


@require_GET
def showings_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The agenda's range under its filters, page after page as "load more" would show them."""
    account = _account(request)
    filters = AgendaFilter(request.GET, account=account, request=request)
    zone = account_zone(account)
    showings = agenda_showings(filters)

    def rows() -> Iterator[list[Any]]:
        cursor: str | None = None
        while True:
            page = keyset_page(showings, filters.sort, cursor=cursor, size=AGENDA_PAGE, with_nulls=False)
            for item in agenda_items(filters, page):
                yield [
                    local_time(item.at, zone),
                    item.pill.label,
                    item.prospect_id,
                    item.prospect_name,
                    item.unit_id,
                    item.title,
                    item.agent,
                    item.detail,
                    "; ".join(e.event_type for e in item.events),
                    "leasing events" if item.from_events_only else "showings report",
                ]
            if not page.has_next:
                return
            cursor = page.next_cursor

    header = ["Time", "Status", "Prospect id", "Prospect", "Unit id", "Address", "Agent", "Detail", "Events", "Known from"]
    return csv_response(request, "showings", header, rows())
