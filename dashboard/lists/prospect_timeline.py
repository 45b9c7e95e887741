"""A prospect's whole story on one timeline: leasing events and showings merged newest first under
one cursor over (time, source, id), so "load older" continues in both exactly where the page
ended; the lockbox events around each showing hang inside it."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce

from dashboard.display import pills
from dashboard.display.links import link
from dashboard.display.timeline import (
    Day,
    Item,
    bursts_fold,
    by_day,
    leasing_event_item,
    lockbox_event_item,
    lockbox_event_title,
    lockbox_event_user_ids,
    showing_item,
)
from dashboard.lists.filtering import value_fits
from dashboard.people.names import people_names
from integrations.rentengine import vocabulary
from integrations.rentengine.models import LeasingEvent, LockboxEvent, Prospect, Showing

TIMELINE_PAGE = 100
# Lockbox events count as part of a showing from half a day before (codes are made ahead) to
# three hours after its planned start.
SHOWING_WINDOW_BEFORE = timedelta(hours=12)
SHOWING_WINDOW_AFTER = timedelta(hours=3)
MAX_SHOWINGS_FOR_LOCKBOX_LOOKUP = 25


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
        key = int(key)
        if moment.tzinfo is None or rank not in (0, 1) or not (value_fits(moment) and value_fits(key)):
            return None
        return moment, int(rank), key
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


@dataclass(frozen=True)
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
        qs = LeasingEvent.objects.alive().filter(account_id=prospect.account_id, prospect_id=prospect.id).defer("raw")
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
            .filter(account_id=prospect.account_id, prospect_id=prospect.id)
            .defer("raw")
            .annotate(at=Coalesce(F("planned_at"), F("created_at")))
            .filter(at__isnull=False)
        )
        if only == "problems":
            qs_s = qs_s.filter(status__in=pills.PROBLEM_SHOWING_STATUSES)
        showings = list(_older_than(qs_s, "at", 1, position).order_by("-at", "-id")[: size + 1])
    merged: list[tuple[tuple[datetime, int, int], Any]] = [((e.created_at, 0, e.id), e) for e in events]
    merged += [((_showing_at(s), 1, s.id), s) for s in showings]
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
    names = people_names(user_ids, account_id=prospect.account_id)
    items: list[Item] = []
    for _, obj in page:
        if isinstance(obj, LeasingEvent):
            items.append(leasing_event_item(obj, names, zone))
        else:
            children = tuple(_lockbox_child(e, prospect, names, zone) for e in lockbox_events.get(obj.id, []))
            items.append(showing_item(obj, zone, children=children))
    next_cursor = _cursor_encode(*page[-1][0]) if more and page else None
    return Timeline(days=by_day(bursts_fold(items), zone), next_cursor=next_cursor, names=names)


def _showing_at(showing: Showing) -> datetime:
    """Where a showing sits in the merged order: the `at` its query sorted by (planned, else made)."""
    at = showing.planned_at or showing.created_at
    assert at is not None  # the query leaves out showings with neither
    return at


def _lockbox_child(event: LockboxEvent, prospect: Prospect, names: dict[str, str], zone: ZoneInfo) -> Item:
    title = lockbox_event_title(event)
    if event.created_for and prospect.name and event.created_for.strip().lower() == prospect.name.lower():
        title += " (this prospect)"
    return lockbox_event_item(event, names, zone, links=[("Lockbox", link("lockbox", event.lockbox_id))], title=title)


def _lockbox_events_near(showings: list[Showing]) -> dict[int, list[LockboxEvent]]:
    """{showing id: lockbox events on its unit within its window}, in one query."""
    windows = [(s, s.planned_at) for s in showings if s.unit_id and s.planned_at][:MAX_SHOWINGS_FOR_LOCKBOX_LOOKUP]
    if not windows:
        return {}
    condition = Q()
    for showing, planned in windows:
        condition |= Q(
            account_id=showing.account_id,
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
