"""Timelines (PRODUCT 4.2): newest first, day dividers, one row per event with its kind, actor, source
and links; assignment changes as old -> new names; lockbox rows inside the showing they belong to.

A prospect's timeline merges two paged sources (leasing events and showings) with one cursor over
(time, source, id), so "load older" continues exactly where the page ended in both. Lockbox events
are not a third source: they hang under the showing whose unit and time window they fall in.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from dashboard.display import pills
from dashboard.display.pills import Pill
from dashboard.people.names import people_names, person_name, user_id_normalize
from integrations.rentengine import vocabulary
from integrations.rentengine.models import LeasingEvent, LockboxEvent, Prospect, Showing

TIMELINE_PAGE = 100
# Lockbox events count as part of a showing from half a day before (codes are made ahead) to
# three hours after its planned start.
SHOWING_WINDOW_BEFORE = timedelta(hours=12)
SHOWING_WINDOW_AFTER = timedelta(hours=3)
MAX_SHOWINGS_FOR_LOCKBOX_LOOKUP = 25


_INT_MARK = 987654321987
_UUID_MARK = "0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f"


@lru_cache(maxsize=32)
def _pattern(name: str, kind: str) -> str:
    return reverse(name, args=[_INT_MARK if kind == "int" else _UUID_MARK])


def link(name: str, value: Any) -> str:
    """reverse(name, args=[value]) for one-id URLs, without resolving the pattern per row (a feed
    page links hundreds of rows; reverse() is the costliest part of building each)."""
    if isinstance(value, int):
        return _pattern(name, "int").replace(str(_INT_MARK), str(value))
    return _pattern(name, "uuid").replace(_UUID_MARK, str(value))


@dataclass
class Item:
    kind: str
    at: datetime
    title: str
    key: str
    pill: Pill | None = None
    actor: str = ""
    source: str = ""
    detail: str = ""
    change: tuple[str, str] | None = None
    links: list[tuple[str, str]] = field(default_factory=list)
    problem: bool = False
    children: list[Item] = field(default_factory=list)
    planned: datetime | None = None
    folded: list[Item] = field(default_factory=list)  # a burst folded under this row
    # Formatted by `by_day` in the account's zone (templates print them as they are).
    when: pills.Moment | None = None
    planned_when: pills.Moment | None = None

    @property
    def css(self) -> str:
        return pills.TIMELINE_KINDS.get(self.kind, ("", "kind-status", ""))[1]

    @property
    def icon(self) -> str:
        return pills.TIMELINE_KINDS.get(self.kind, ("", "", "●"))[2]


@dataclass
class Day:
    day: date
    label: str
    items: list[Item]


def day_label(day: date, today: date) -> str:
    if day == today:
        return "Today"
    if day == today - timedelta(days=1):
        return "Yesterday"
    if day == today + timedelta(days=1):
        return "Tomorrow"
    return f"{day:%a} {day.day} {day:%b %Y}"


def by_day(items: Iterable[Item], zone: ZoneInfo) -> list[Day]:
    """Group items (already in display order) under day dividers in the account's zone."""
    today = timezone.now().astimezone(zone).date()
    days: list[Day] = []
    for item in items:
        item.when = pills.moment(item.at, zone, pills.SHORT_DATETIME)
        item.planned_when = pills.moment(item.planned, zone, "%a, %b %-d, %-I:%M %p")
        for child in getattr(item, "children", ()):
            child.when = pills.moment(child.at, zone, pills.SHORT_DATETIME)
        for folded in getattr(item, "folded", ()):
            folded.when = pills.moment(folded.at, zone, pills.SHORT_DATETIME)
            folded.planned_when = pills.moment(folded.planned, zone, "%a, %b %-d, %-I:%M %p")
        day = item.at.astimezone(zone).date()
        if not days or days[-1].day != day:
            days.append(Day(day, day_label(day, today), []))
        days[-1].items.append(item)
    return days


# --- rows for one event ------------------------------------------------------------------------------


def _names_text(names: dict[str, str], user_ids: list[str]) -> str:
    return ", ".join(person_name(names, u) for u in user_ids) or "Unassigned"


def event_actor(event: LeasingEvent, names: dict[str, str]) -> str:
    if user_id_normalize(event.created_by):
        return person_name(names, event.created_by)
    if event.created_by:
        return event.created_by
    if event.source in (vocabulary.LeasingEventSource.AUTOMATION, vocabulary.LeasingEventSource.SHOWING_SCHEDULER):
        return "Automation"
    return "Prospect"


def leasing_event_item(event: LeasingEvent, names: dict[str, str]) -> Item:
    kind = pills.leasing_event_kind(event.event_type)
    item = Item(
        kind=kind,
        at=event.created_at,
        title=event.event_type,
        key=f"event-{event.id}",
        actor=event_actor(event, names),
        source=event.source,
        detail=event.notes,
        problem=event.event_type in pills.PROBLEM_EVENT_TYPES,
    )
    if kind == "assignment":
        item.title = "Assigned"
        item.change = (_names_text(names, event.previous_assigned_user_ids), _names_text(names, event.assigned_user_ids))
    elif kind in ("status", "showing") and event.is_pipeline:
        item.pill = pills.prospect_status_pill(event.event_type)
    item.planned = event.planned_at
    return item


def lockbox_event_item(event: LockboxEvent, names: dict[str, str], *, with_lockbox: bool = True, with_unit: bool = True) -> Item:
    metadata = event.metadata or {}
    title = event.event_type
    if event.event_type == vocabulary.LockboxEventType.GENERATE_CODE and event.created_for:
        title = f"Code generated for {event.created_for}"
    details = [str(metadata.get("notes") or "")]
    if metadata.get("code_type"):
        details.append(f"{metadata['code_type']} code")
    if metadata.get("valid_date"):
        details.append(f"valid {metadata['valid_date']}")
    item = Item(
        kind="lockbox",
        at=event.created_at,
        title=title,
        key=f"lockbox-event-{event.id}",
        pill=pills.lockbox_event_pill(event.event_type),
        actor=person_name(names, metadata.get("installer_id")) if metadata.get("installer_id") else "",
        detail=" · ".join(d for d in details if d),
    )
    if with_lockbox:
        item.links.append(("Lockbox", link("lockbox", event.lockbox_id)))
    if with_unit and event.unit_id:
        item.links.append(("Unit", link("unit", event.unit_id)))
    return item


def lockbox_event_user_ids(events: Iterable[LockboxEvent]) -> set[str]:
    return {
        str(e.metadata.get("installer_id")) for e in events if isinstance(e.metadata, dict) and e.metadata.get("installer_id")
    }


def showing_item(showing: Showing, *, with_prospect: bool = False) -> Item:
    at = showing.planned_at or showing.created_at or timezone.now()
    detail = showing.feedback or showing.cancellation_reason
    item = Item(
        kind="showing",
        at=at,
        title=f"Showing at {showing.property_address}" if showing.property_address else "Showing",
        key=f"showing-{showing.id}",
        pill=pills.showing_status_pill(showing.status),
        actor=showing.agent_name or "Self-guided",
        source="Showings report",
        detail=detail,
        problem=showing.status in pills.PROBLEM_SHOWING_STATUSES,
    )
    if showing.unit_id:
        item.links.append(("Unit", link("unit", showing.unit_id)))
    if with_prospect and showing.prospect_id:
        item.links.append((showing.prospect_name or "Prospect", link("prospect", showing.prospect_id)))
    return item


# --- the merged prospect timeline -----------------------------------------------------------------

SOURCES = ("event", "showing")  # the rank of each source in the merged order


def _cursor_encode(at: datetime, rank: int, key: int) -> str:
    text = json.dumps([at.isoformat(), rank, key], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _cursor_decode(cursor: str | None) -> tuple[datetime, int, int] | None:
    if not cursor:
        return None
    try:
        at, rank, key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None or rank not in (0, 1):
            return None
        return moment, int(rank), int(key)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        return None


def _older_than(queryset: QuerySet[Any], time_field: str, rank: int, cursor: tuple[datetime, int, int] | None) -> QuerySet[Any]:
    """Rows after the cursor in the merged newest-first order (time, source rank, id), for one source."""
    if cursor is None:
        return queryset
    at, cursor_rank, key = cursor
    if rank < cursor_rank:
        return queryset.filter(**{f"{time_field}__lte": at})
    if rank > cursor_rank:
        return queryset.filter(**{f"{time_field}__lt": at})
    return queryset.filter(Q(**{f"{time_field}__lt": at}) | Q(**{time_field: at, "id__lt": key}))


TIMELINE_FILTERS = ("status", "assignment", "note", "showing", "lockbox", "problems")


@dataclass
class Timeline:
    days: list[Day]
    next_cursor: str | None
    names: dict[str, str]


def prospect_timeline(
    prospect: Prospect,
    *,
    zone: ZoneInfo,
    only: str = "",
    cursor: str | None = None,
    size: int = TIMELINE_PAGE,
    names_also: Iterable[str] = (),
) -> Timeline:
    """One page of the prospect's merged story. `only`: one of TIMELINE_FILTERS, or "" for all."""
    position = _cursor_decode(cursor)
    events: list[LeasingEvent] = []
    showings: list[Showing] = []
    if only in ("", "status", "assignment", "note", "showing", "problems"):
        qs = LeasingEvent.objects.alive().filter(prospect_id=prospect.id).defer("raw")
        if only == "assignment":
            qs = qs.filter(event_type=vocabulary.ASSIGN_TO_USER)
        elif only == "note":
            qs = qs.filter(event_type=vocabulary.LOG_NOTE)
        elif only == "showing":
            qs = qs.filter(event_type__in=vocabulary.SHOWING_EVENT_TYPES)
        elif only == "status":
            qs = qs.filter(is_pipeline=True).exclude(event_type__in=vocabulary.SHOWING_EVENT_TYPES)
        elif only == "problems":
            qs = qs.filter(event_type__in=pills.PROBLEM_EVENT_TYPES)
        events = list(_older_than(qs, "created_at", 0, position).order_by("-created_at", "-id")[: size + 1])
    if only in ("", "showing", "lockbox", "problems"):
        qs_s = (
            Showing.objects.alive()
            .filter(prospect_id=prospect.id)
            .defer("raw")
            .annotate(at=Coalesce(F("planned_at"), F("created_at")))
            .filter(at__isnull=False)
        )
        if only == "problems":
            qs_s = qs_s.filter(status__in=pills.PROBLEM_SHOWING_STATUSES)
        showings = list(_older_than(qs_s, "at", 1, position).order_by("-at", "-id")[: size + 1])
    merged: list[tuple[tuple[datetime, int, int], Any]] = [((e.created_at, 0, e.id), e) for e in events]
    merged += [((s.at, 1, s.id), s) for s in showings]  # type: ignore[attr-defined]
    merged.sort(key=lambda pair: pair[0], reverse=True)
    page, more = merged[:size], len(merged) > size
    page_showings = [obj for _, obj in page if isinstance(obj, Showing)]
    lockbox_events = _lockbox_events_near(page_showings)
    if only == "lockbox":
        page = [pair for pair in page if lockbox_events.get(pair[1].id)]
    user_ids: set[str] = set(names_also)
    for _, obj in page:
        if isinstance(obj, LeasingEvent):
            user_ids.update([obj.created_by, *obj.assigned_user_ids, *obj.previous_assigned_user_ids])
    user_ids |= lockbox_event_user_ids(e for group in lockbox_events.values() for e in group)
    names = people_names(user_ids)
    items: list[Item] = []
    for _, obj in page:
        if isinstance(obj, LeasingEvent):
            items.append(leasing_event_item(obj, names))
        else:
            item = showing_item(obj)
            for lockbox_event in lockbox_events.get(obj.id, []):
                child = lockbox_event_item(lockbox_event, names, with_unit=False)
                if (
                    lockbox_event.created_for
                    and prospect.name
                    and lockbox_event.created_for.strip().lower() == prospect.name.lower()
                ):
                    child.title += " (this prospect)"
                item.children.append(child)
            items.append(item)
    next_cursor = _cursor_encode(*page[-1][0]) if more and page else None
    return Timeline(days=by_day(bursts_fold(items), zone), next_cursor=next_cursor, names=names)


BURST = timedelta(minutes=2)


def bursts_fold(items: list[Item]) -> list[Item]:
    """Fold a burst (leasing events by the same actor within two minutes) under its newest row, so
    five quick edits read as one expandable row (twenty#3131). Problems and showings never fold."""
    out: list[Item] = []
    for item in items:
        head = out[-1] if out else None
        if (
            head is not None
            and item.key.startswith("event-")
            and head.key.startswith("event-")
            and not item.problem
            and not head.problem
            and item.actor == head.actor
            and head.at - item.at <= BURST
        ):
            head.folded.append(item)
            continue
        out.append(item)
    return out


def _lockbox_events_near(showings: list[Showing]) -> dict[int, list[LockboxEvent]]:
    """{showing id: lockbox events on its unit within its window}, in one query."""
    windows = [(s, s.planned_at) for s in showings if s.unit_id and s.planned_at][:MAX_SHOWINGS_FOR_LOCKBOX_LOOKUP]
    if not windows:
        return {}
    condition = Q()
    for showing, planned in windows:
        condition |= Q(
            unit_id=showing.unit_id,
            created_at__gte=planned - SHOWING_WINDOW_BEFORE,
            created_at__lte=planned + SHOWING_WINDOW_AFTER,
        )
    found: dict[int, list[LockboxEvent]] = {}
    events = LockboxEvent.objects.alive().filter(condition).defer("raw").order_by("created_at", "id")[:200]
    for event in events:
        for showing, planned in windows:
            if (
                event.unit_id == showing.unit_id
                and planned - SHOWING_WINDOW_BEFORE <= event.created_at <= planned + SHOWING_WINDOW_AFTER
            ):
                found.setdefault(showing.id, []).append(event)
    return found
