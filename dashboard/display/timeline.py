"""Timeline rows (PRODUCT 4.2): one row per event with its kind, actor, source and links, grouped
under day dividers, newest first; assignment changes as old -> new names; lockbox rows inside the
showing they belong to. The prospect page, the unit and lockbox pages and the lockbox activity feed
all show these (`row_markup.timeline_days`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from dashboard.display import pills
from dashboard.display.links import link
from dashboard.display.moments import SHORT_DATETIME, Moment, moment
from dashboard.display.pills import Pill
from dashboard.people.names import person_name, user_id_normalize
from integrations.rentengine import vocabulary
from integrations.rentengine.models import LeasingEvent, LockboxEvent, Showing

PLANNED_FORMAT = "%a, %b %-d, %-I:%M %p"
BURST = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class Item:
    """One timeline row."""

    kind: str  # a key of pills.TIMELINE_KINDS
    at: datetime
    when: Moment  # `at` in the account's zone
    title: str
    key: str  # the row's element id
    pill: Pill | None = None
    actor: str = ""
    source: str = ""
    detail: str = ""
    change: tuple[str, str] | None = None  # (before, after) for an assignment
    links: tuple[tuple[str, str], ...] = ()  # (label, url)
    problem: bool = False
    children: tuple[Item, ...] = ()  # lockbox events inside a showing
    planned_when: Moment | None = None  # a showing event's showing time
    folded: tuple[Item, ...] = ()  # a burst folded under this row

    @property
    def css(self) -> str:
        return pills.TIMELINE_KINDS.get(self.kind, ("", "kind-status", ""))[1]

    @property
    def icon(self) -> str:
        return pills.TIMELINE_KINDS.get(self.kind, ("", "", "●"))[2]


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    label: str
    items: tuple[Item, ...]


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
    groups: list[tuple[date, list[Item]]] = []
    for item in items:
        day = item.at.astimezone(zone).date()
        if not groups or groups[-1][0] != day:
            groups.append((day, []))
        groups[-1][1].append(item)
    return [Day(day, day_label(day, today), tuple(rows)) for day, rows in groups]


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
            out[-1] = replace(head, folded=(*head.folded, item))
            continue
        out.append(item)
    return out


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


def leasing_event_item(event: LeasingEvent, names: dict[str, str], zone: ZoneInfo) -> Item:
    kind = pills.leasing_event_kind(event.event_type)
    title, change, pill = event.event_type, None, None
    if kind == "assignment":
        title = "Assigned"
        change = (_names_text(names, event.previous_assigned_user_ids), _names_text(names, event.assigned_user_ids))
    elif kind in ("status", "showing") and event.is_pipeline:
        pill = pills.prospect_status_pill(event.event_type)
    actor = event_actor(event, names)
    return Item(
        kind=kind,
        at=event.created_at,
        when=Moment(event.created_at.astimezone(zone), SHORT_DATETIME),
        title=title,
        key=f"event-{event.id}",
        pill=pill,
        actor=actor,
        # "Automation · Automation" says it once: a source that only repeats the actor is left out.
        source="" if (event.source or "").strip().casefold() == actor.strip().casefold() else event.source,
        detail=event.notes,
        change=change,
        problem=event.event_type in pills.PROBLEM_EVENT_TYPES,
        planned_when=moment(event.planned_at, zone, PLANNED_FORMAT),
    )


def lockbox_event_title(event: LockboxEvent) -> str:
    if event.event_type == vocabulary.LockboxEventType.GENERATE_CODE and event.created_for:
        # A code asked for from the desk carries its outbox reference ("… · desk #12"): ours, not news.
        made_for, _, reference = event.created_for.rpartition(" · desk #")
        if made_for and reference.isdigit():
            return f"Code generated for {made_for} (asked from the desk)"
        return f"Code generated for {event.created_for}"
    return event.event_type


def lockbox_event_item(
    event: LockboxEvent,
    names: dict[str, str],
    zone: ZoneInfo,
    *,
    links: Sequence[tuple[str, str]] = (),
    title: str | None = None,
) -> Item:
    """A lockbox event's row; `links` (label, url) after its details, `title` instead of its own."""
    metadata = event.metadata or {}
    details = [str(metadata.get("notes") or "")]
    if metadata.get("code_type"):
        details.append(f"{metadata['code_type']} code")
    if metadata.get("valid_date"):
        details.append(f"valid {metadata['valid_date']}")
    return Item(
        kind="lockbox",
        at=event.created_at,
        when=Moment(event.created_at.astimezone(zone), SHORT_DATETIME),
        title=lockbox_event_title(event) if title is None else title,
        key=f"lockbox-event-{event.id}",
        pill=pills.lockbox_event_pill(event.event_type),
        actor=person_name(names, metadata.get("installer_id")) if metadata.get("installer_id") else "",
        detail=" · ".join(d for d in details if d),
        links=tuple(links),
    )


def lockbox_event_user_ids(events: Iterable[LockboxEvent]) -> set[str]:
    return {
        str(e.metadata.get("installer_id")) for e in events if isinstance(e.metadata, dict) and e.metadata.get("installer_id")
    }


def showing_item(
    showing: Showing,
    zone: ZoneInfo,
    *,
    with_prospect: bool = False,
    label_format: str = SHORT_DATETIME,
    children: tuple[Item, ...] = (),
) -> Item:
    at = showing.planned_at or showing.created_at or timezone.now()
    links: list[tuple[str, str]] = []
    if showing.unit_id:
        links.append(("Unit", link("unit", showing.unit_id)))
    if with_prospect and showing.prospect_id:
        links.append((showing.prospect_name or "Prospect", link("prospect", showing.prospect_id)))
    return Item(
        kind="showing",
        at=at,
        when=Moment(at.astimezone(zone), label_format),
        title=f"Showing at {showing.property_address}" if showing.property_address else "Showing",
        key=f"showing-{showing.id}",
        pill=pills.showing_status_pill(showing.status),
        actor=showing.agent_name or "Self-guided",
        source="Showings report",
        detail=showing.feedback or showing.cancellation_reason,
        links=tuple(links),
        problem=showing.status in pills.PROBLEM_SHOWING_STATUSES,
        children=children,
    )
