"""My day (`/today/`): what an agent in the field needs today, read from the mirror in the account's
time zone. An agent gets their own day; a manager of the account the team's (every agent's showings,
follow-ups and assignments). One query per section, whatever the day holds:

- showings today in time order, each with its unit, the lockbox installed on it and the lockbox codes
  generated for that unit today (subqueries of the same statement);
- follow-ups due today or overdue: `Prospect.next_follow_up`, the newest `next_follow_up` RentEngine's
  leasing events carried (API-FACTS: POST /leasing_events' `next_follow_up`), on open prospects;
- new unassigned leads on units of my subteams (RentEngine: someone in no subteam sees every
  property; units in no subteam belong to everyone);
- recent assignments: the "Assign to User" events of the last days that gave me (the team) a prospect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from dashboard.display import pills
from dashboard.display.moments import SHORT_DATETIME, Moment
from dashboard.models import PersonName
from dashboard.people.access import day_end, day_start
from dashboard.people.names import assignee_user_ids, with_assignee_ids
from integrations.rentengine import vocabulary
from integrations.rentengine.models import (
    Account,
    LeasingEvent,
    Lockbox,
    LockboxEvent,
    Prospect,
    ProspectAssignee,
    Showing,
    Subteam,
)

SECTION_ROWS = 25  # rows a section shows; the rest is a link to the full list
SHOWING_ROWS = 50  # a team's day can hold hundreds of showings: the rest is in the Agenda
RECENT_DAYS = 7  # how far back "recent assignments" look
OPEN_FAMILIES = [f.value for f in vocabulary.OPEN_STATUS_FAMILIES]


@dataclass(frozen=True)
class Viewer:
    """Whose day it is: one agent (their RentEngine id and the names the showings report gives them),
    or the team (a manager of the account)."""

    team: bool
    user_id: str | None
    full_name: str


@dataclass(frozen=True)
class DayShowing:
    id: int
    at: Moment | None
    status: pills.Pill
    prospect_id: int | None
    prospect_name: str
    unit_id: int | None
    address: str
    agent_name: str
    lockbox_id: str | None
    lockbox_label: str
    lockbox_pill: pills.Pill
    codes_today: int
    last_code_at: Moment | None
    last_code_for: str


@dataclass(frozen=True)
class DayProspect:
    id: int
    name: str
    phone: str
    status: pills.Pill
    address: str
    unit_id: int | None
    when: Moment | None
    overdue: bool = False
    assignee_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class DayAssignment:
    event_id: int
    prospect_id: int
    prospect_name: str
    at: Moment
    to_ids: tuple[str, ...]
    by_id: str


@dataclass
class MyDay:
    today: Any  # the account's local date
    viewer: Viewer
    showings: list[DayShowing]
    showings_more: bool
    follow_ups: list[DayProspect]
    follow_ups_more: bool
    new_leads: list[DayProspect]
    new_leads_more: bool
    assignments: list[DayAssignment]
    user_ids: set[str] = field(default_factory=set)  # every RentEngine id the sections show, for names


def my_day(account: Account, viewer: Viewer, zone: ZoneInfo, *, now: datetime | None = None) -> MyDay:
    now = now or timezone.now()
    today = now.astimezone(zone).date()
    start, end = day_start(today, zone), day_end(today, zone)
    follow_ups = _follow_ups(account, viewer, now, end, zone)
    leads = _new_leads(account, viewer, zone)
    assignments = _assignments(account, viewer, now, zone)
    showings = _showings(account, viewer, start, end, now, zone)
    day = MyDay(
        today=today,
        viewer=viewer,
        showings=showings[:SHOWING_ROWS],
        showings_more=len(showings) > SHOWING_ROWS,
        follow_ups=follow_ups[:SECTION_ROWS],
        follow_ups_more=len(follow_ups) > SECTION_ROWS,
        new_leads=leads[:SECTION_ROWS],
        new_leads_more=len(leads) > SECTION_ROWS,
        assignments=assignments,
    )
    if viewer.team:
        day.user_ids = {u for p in day.follow_ups for u in p.assignee_ids}
        day.user_ids |= {u for a in assignments for u in a.to_ids} | {a.by_id for a in assignments if a.by_id}
    else:
        day.user_ids = {a.by_id for a in assignments if a.by_id}
    return day


# --- showings -------------------------------------------------------------------------------------


def my_agent_names_q(account: Account, viewer: Viewer) -> Q:
    """The showings report names its agent in words: mine are those under my login's full name or the
    name a manager gave my RentEngine id in this account (as the agenda's "mine" reads them)."""
    names = Q(agent_name=viewer.full_name) if viewer.full_name else Q(pk__in=[])
    if viewer.user_id:
        given = PersonName.objects.filter(account=account, user_id=viewer.user_id).values("name")
        names |= Q(agent_name__in=Subquery(given))
    return names


def _showings(
    account: Account, viewer: Viewer, start: datetime, end: datetime, now: datetime, zone: ZoneInfo
) -> list[DayShowing]:
    showings = Showing.objects.alive().filter(account=account, planned_at__gte=start, planned_at__lt=end)
    if not viewer.team:
        showings = showings.filter(my_agent_names_q(account, viewer))
    box = Lockbox.objects.alive().filter(account=account, current_unit_id=OuterRef("unit_id")).order_by("-installed_at", "id")
    codes = LockboxEvent.objects.alive().filter(
        account=account,
        unit_id=OuterRef("unit_id"),
        event_type=vocabulary.LockboxEventType.GENERATE_CODE,
        created_at__gte=start,
        created_at__lt=end,
    )
    code_count = codes.order_by().values("unit_id").annotate(n=Count("id")).values("n")
    rows = (
        showings.annotate(
            box_id=Subquery(box.values("id")[:1]),
            box_serial=Subquery(box.values("serial_number")[:1]),
            box_type=Subquery(box.values("lockbox_type")[:1]),
            box_last_event=Subquery(box.values("last_event_at")[:1]),
            codes_today=Subquery(code_count, output_field=IntegerField()),
            last_code_at=Subquery(codes.order_by("-created_at").values("created_at")[:1]),
            last_code_for=Subquery(codes.order_by("-created_at").values("created_for")[:1]),
        )
        .order_by("planned_at", "id")
        .values(
            "id", "planned_at", "status", "prospect_id", "prospect_name", "unit_id", "property_address", "agent_name",
            "unit__address", "box_id", "box_serial", "box_type", "box_last_event", "codes_today", "last_code_at",
            "last_code_for",
        )[: SHOWING_ROWS + 1]
    )  # fmt: skip
    found = []
    for r in rows:
        has_box = r["box_id"] is not None
        found.append(
            DayShowing(
                id=r["id"],
                at=_moment(r["planned_at"], zone),
                status=pills.showing_status_pill(r["status"]),
                prospect_id=r["prospect_id"],
                prospect_name=r["prospect_name"],
                unit_id=r["unit_id"],
                address=r["unit__address"] or r["property_address"] or "",
                agent_name=r["agent_name"],
                lockbox_id=str(r["box_id"]) if has_box else None,
                lockbox_label=f"{r['box_type'] or 'Lockbox'} {r['box_serial'] or ''}".strip() if has_box else "",
                lockbox_pill=pills.lockbox_state_pill(r["unit_id"] if has_box else None, r["box_last_event"], now),
                codes_today=r["codes_today"] or 0,
                last_code_at=_moment(r["last_code_at"], zone),
                last_code_for=r["last_code_for"] or "",
            )
        )
    return found


# --- prospects ------------------------------------------------------------------------------------


def _assigned_to(viewer: Viewer) -> Q:
    """Mine (assigned to my RentEngine id) or, for the team, anyone's."""
    if viewer.team:
        return Q(Exists(ProspectAssignee.objects.filter(prospect_id=OuterRef("pk"))))
    if not viewer.user_id:
        return Q(pk__in=[])
    return Q(Exists(ProspectAssignee.objects.filter(prospect_id=OuterRef("pk"), user_id=viewer.user_id)))


FOLLOW_UP_FIELDS = (
    "id",
    "name",
    "phone",
    "status",
    "status_family",
    "unit_id",
    "unit__address",
    "next_follow_up",
    "assignee_ids",
)


def _follow_ups(account: Account, viewer: Viewer, now: datetime, end: datetime, zone: ZoneInfo) -> list[DayProspect]:
    """Due before tonight, newest due first (so the most recently missed come right after today's),
    then today's put back in time order."""
    rows = list(
        with_assignee_ids(
            Prospect.objects.alive().filter(
                _assigned_to(viewer), account=account, status_family__in=OPEN_FAMILIES, next_follow_up__lt=end
            )
        )
        .order_by("-next_follow_up", "-id")
        .values(*FOLLOW_UP_FIELDS)[: SECTION_ROWS + 1]
    )
    due = sorted((r for r in rows if r["next_follow_up"] >= now), key=lambda r: (r["next_follow_up"], r["id"]))
    overdue = [r for r in rows if r["next_follow_up"] < now]
    return [
        _prospect(r, zone, "next_follow_up", assignee_user_ids(r), overdue=r["next_follow_up"] < now) for r in [*due, *overdue]
    ]


def _my_subteams(account: Account, viewer: Viewer) -> QuerySet[Subteam]:
    # The ids are stored as RentEngine sent them; a text match works on every database backend.
    return Subteam.objects.alive().filter(account=account, user_ids__icontains=viewer.user_id or "-none-")


def _new_leads(account: Account, viewer: Viewer, zone: ZoneInfo) -> list[DayProspect]:
    leads = Prospect.objects.alive().filter(account=account, status_family=vocabulary.StatusFamily.NEW.value)
    leads = leads.exclude(Exists(ProspectAssignee.objects.filter(prospect_id=OuterRef("pk"))))
    if not viewer.team:
        mine = _my_subteams(account, viewer)
        leads = leads.filter(
            Q(unit__subteam_id__in=mine.values("id")) | Q(unit__subteam_id__isnull=True) | ~Exists(mine.values("id"))
        )
    rows = leads.order_by("-created_at", "-id").values(
        "id", "name", "phone", "status", "status_family", "unit_id", "unit__address", "created_at"
    )[: SECTION_ROWS + 1]
    return [_prospect(r, zone, "created_at", []) for r in rows]


def _prospect(r: dict[str, Any], zone: ZoneInfo, when: str, assignees: list[str], *, overdue: bool = False) -> DayProspect:
    return DayProspect(
        id=r["id"],
        name=r["name"],
        phone=r["phone"],
        status=pills.prospect_status_pill(r["status"], r["status_family"]),
        address=r["unit__address"] or "",
        unit_id=r["unit_id"],
        when=_moment(r[when], zone),
        overdue=overdue,
        assignee_ids=tuple(assignees),
    )


# --- assignments ----------------------------------------------------------------------------------


def _assignments(account: Account, viewer: Viewer, now: datetime, zone: ZoneInfo) -> list[DayAssignment]:
    events = LeasingEvent.objects.alive().filter(
        account=account, event_type=vocabulary.ASSIGN_TO_USER, created_at__gte=now - timedelta(days=RECENT_DAYS)
    )
    if not viewer.team:
        if not viewer.user_id:
            return []
        events = events.filter(context__icontains=viewer.user_id)  # then checked exactly below
    rows = events.order_by("-created_at", "-id").values(
        "id", "prospect_id", "prospect__name", "created_at", "context", "created_by"
    )[: SECTION_ROWS * 2]
    found = []
    for r in rows:
        context = r["context"] if isinstance(r["context"], dict) else {}
        to = tuple(str(u) for u in context.get("assignedToUserIds") or [])
        if not viewer.team and viewer.user_id not in to:
            continue
        found.append(
            DayAssignment(
                event_id=r["id"],
                prospect_id=r["prospect_id"],
                prospect_name=r["prospect__name"] or f"Prospect {r['prospect_id']}",
                at=Moment(r["created_at"].astimezone(zone), SHORT_DATETIME),
                to_ids=to,
                by_id=str(r["created_by"] or ""),
            )
        )
    return found[:SECTION_ROWS]


def _moment(value: datetime | None, zone: ZoneInfo) -> Moment | None:
    return Moment(value.astimezone(zone), SHORT_DATETIME) if value else None
