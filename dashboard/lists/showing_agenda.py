"""The showings agenda's data: one keyset page of the showings in the agenda's date range and the
items they make. Each item is a reporting showing with the showing-related leasing events that
belong to it; events whose showing the reporting sync has not brought yet stand as their own items.
The agenda view and its CSV export both read it."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet

from dashboard.display import pills
from dashboard.display.agenda_rows import AgendaEvent, AgendaItem
from dashboard.display.moments import SHORT_DATETIME, Moment
from dashboard.lists.filters import AgendaFilter
from dashboard.lists.paging import Page, cursor_decode
from integrations.rentengine import vocabulary
from integrations.rentengine.models import LeasingEvent, Prospect, Showing, Unit

AGENDA_PAGE = 100
MAX_EVENTS = 1000
# What an agenda item shows, read as plain values: a page holds 100 showings.
AGENDA_SHOWING_FIELDS = (
    "id",
    "prospect_id",
    "unit_id",
    "property_address",
    "prospect_name",
    "status",
    "agent_name",
    "cancellation_reason",
    "planned_at",
)
EVENT_FIELDS = (
    "id",
    "prospect_id",
    "event_type",
    "planned_at",
    "created_at",
    "source",
    "unit_id_of_interest",
    "property_address",
)


def agenda_showings(filters: AgendaFilter) -> QuerySet[Showing, dict[str, Any]]:
    """The filtered showings in the agenda's date range (none without a time: no query for NULLs)."""
    return filters.qs.filter(planned_at__gte=filters.start, planned_at__lt=filters.end).values(*AGENDA_SHOWING_FIELDS)


def agenda_items(filters: AgendaFilter, page: Page[dict[str, Any]]) -> list[AgendaItem]:
    """The items one page of showings makes, with the events of exactly the time span it covers."""
    position = cursor_decode(Showing, filters.sort, page.cursor)
    span_start = position[1] if position and position[0] == "v" else filters.start
    span_end = (page.rows[-1]["planned_at"] if page.has_next and page.rows else None) or filters.end
    return _items(filters, page.rows, span_start, span_end, first=position is None, last=not page.has_next)


def _items(
    filters: AgendaFilter, showings: list[dict[str, Any]], span_start: datetime, span_end: datetime, *, first: bool, last: bool
) -> list[AgendaItem]:
    zone: ZoneInfo = filters.zone
    f: dict[str, Any] = filters.values
    events = LeasingEvent.objects.alive().filter(
        account_id=filters.account_id, event_type__in=vocabulary.SHOWING_EVENT_TYPES, planned_at__gte=span_start
    )
    events = events.filter(planned_at__lt=span_end) if last else events.filter(planned_at__lte=span_end)
    if f["agent"]:
        # Event-only showings carry no agent, so with an agent filter the events matter only for
        # the showings on this page: read theirs, not the whole span's (hundreds on a busy day).
        events = events.filter(prospect_id__in={s["prospect_id"] for s in showings if s["prospect_id"]})
    elif f["unit"] is not None:
        events = events.filter(
            Q(unit_id_of_interest=f["unit"]) | Q(prospect_id__in=[s["prospect_id"] for s in showings if s["prospect_id"]])
        )
    by_showing: dict[tuple[int, datetime], list[AgendaEvent]] = {}
    if not f["agent"] or any(s["prospect_id"] for s in showings):
        # Plain rows, not models: a day's span holds hundreds of events and only a few fields show.
        for row in events.values_list(*EVENT_FIELDS).order_by("planned_at", "created_at", "id")[:MAX_EVENTS]:
            event_id, prospect_id, event_type, planned_at, created_at, source, unit_id, address = row
            event = AgendaEvent(
                id=event_id,
                prospect_id=prospect_id,
                event_type=event_type,
                planned_at=planned_at,
                source=source,
                unit_id_of_interest=unit_id,
                property_address=address,
                when=Moment(created_at.astimezone(zone), SHORT_DATETIME),
            )
            by_showing.setdefault((prospect_id, planned_at), []).append(event)
    items = []
    for s in showings:
        planned = s["planned_at"]
        items.append(
            AgendaItem(
                key=f"showing-{s['id']}",
                at=planned,
                when=Moment(planned.astimezone(zone), SHORT_DATETIME),
                pill=pills.showing_status_pill(s["status"]),
                title=s["property_address"] or "Showing",
                prospect_id=s["prospect_id"],
                prospect_name=s["prospect_name"],
                unit_id=s["unit_id"],
                agent=s["agent_name"] or "Self-guided",
                detail=s["cancellation_reason"],
                events=tuple(by_showing.pop((s["prospect_id"] or 0, planned), [])),
            )
        )
    if not f["agent"]:  # event-only showings carry no agent, so an agent filter leaves them out
        groups = []
        for (prospect_id, planned), group in by_showing.items():
            if not first and planned <= span_start:
                continue  # shown on the previous page
            status = pills.SHOWING_EVENT_STATUS.get(group[-1].event_type, "")
            if f["status"] and status != f["status"]:
                continue
            groups.append((prospect_id, planned, status, group))
        orphans = {prospect_id for prospect_id, _, _, _ in groups if prospect_id}
        found = Prospect.objects.filter(id__in=orphans).values_list("id", "name", "unit_id") if orphans else []
        names = {pid: name for pid, name, _ in found}
        prospect_units = {pid: unit_id for pid, _, unit_id in found}
        # An entry known from events names its unit: the event's, else the prospect's (never a bare "Showing").
        unit_of = {
            (prospect_id, planned): group[-1].unit_id_of_interest or prospect_units.get(prospect_id)
            for prospect_id, planned, _, group in groups
        }
        wanted = {u for u in unit_of.values() if u}
        addresses = dict(Unit.objects.filter(id__in=wanted).values_list("id", "address")) if wanted else {}
        for prospect_id, planned, status, group in groups:
            unit_id = unit_of[(prospect_id, planned)]
            items.append(
                AgendaItem(
                    key=f"event-showing-{group[-1].id}",
                    at=planned,
                    when=Moment(planned.astimezone(zone), SHORT_DATETIME),
                    pill=pills.showing_status_pill(status),
                    title=group[-1].property_address
                    or (addresses.get(unit_id) if unit_id else None)
                    or (f"Unit {unit_id}" if unit_id else "Unit not known"),
                    prospect_id=prospect_id,
                    prospect_name=names.get(prospect_id, "") if prospect_id else "",
                    unit_id=unit_id,
                    agent="",
                    events=tuple(group),
                    from_events_only=True,
                )
            )
    items.sort(key=lambda item: (item.at, item.key))
    return items
