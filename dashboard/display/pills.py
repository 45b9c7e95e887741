"""How RentEngine's words look on screen: one table per kind of status, so a colour means the same
thing on every page. The families themselves come from `integrations.rentengine.vocabulary`; this
module only adds labels and CSS classes (the classes are defined in static/css/app.css)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from functools import cached_property
from typing import Final

from integrations.rentengine import vocabulary
from integrations.rentengine.vocabulary import LockboxEventType, ShowingStatus, StatusFamily, UnitStatus


@dataclass(frozen=True)
class Pill:
    label: str
    css: str
    title: str = ""


# --- prospects ------------------------------------------------------------------------------------

FAMILY_ORDER: Final = (
    StatusFamily.NEW,
    StatusFamily.WORKING,
    StatusFamily.SHOWING,
    StatusFamily.APPLICATION,
    StatusFamily.WON,
    StatusFamily.LOST,
    StatusFamily.UNKNOWN,
)


def family_pill(family: str) -> Pill:
    try:
        fam = StatusFamily(family)
    except ValueError:
        fam = StatusFamily.UNKNOWN
    return Pill(vocabulary.STATUS_FAMILY_LABELS[fam], f"fam-{fam.value}")


def prospect_status_pill(status: str, family: str | None = None) -> Pill:
    """The status itself as the label, coloured by its family."""
    fam = family or vocabulary.status_family(status).value
    base = family_pill(fam)
    return Pill(status or "No status", base.css, base.label)


def statuses_by_family() -> list[tuple[str, str, list[str]]]:
    """[(family value, family label, [statuses])] for the status filter, in pipeline order."""
    groups: dict[StatusFamily, list[str]] = {f: [] for f in FAMILY_ORDER}
    for status, family in vocabulary.LEASING_EVENT_TYPES.items():
        if family is not None:
            groups[family].append(status)
    return [(f.value, vocabulary.STATUS_FAMILY_LABELS[f], statuses) for f, statuses in groups.items() if statuses]


def source_choices(extra: list[str] | None = None) -> list[str]:
    """Normalised sources agents filter by: the known names, plus any others seen in the data."""
    known = set(vocabulary.SOURCE_ALIASES.values())
    return sorted(known | set(extra or []), key=str.lower)


# --- units ----------------------------------------------------------------------------------------

UNIT_STATUS_TONES: Final[dict[str, tuple[str, str]]] = {
    # status: (family label, css); RentEngine counts only Available and On Hold as on the market.
    UnitStatus.AVAILABLE: ("On the market", "ok"),
    UnitStatus.ON_HOLD: ("On the market", "warn"),
    UnitStatus.LEASED: ("Leased", "info"),
    UnitStatus.INCOMPLETE: ("Being set up", "fam-working"),
    UnitStatus.UNDER_REVIEW: ("Being set up", "fam-working"),
    UnitStatus.PRICE_ANALYSIS: ("Being set up", "fam-working"),
    UnitStatus.ARCHIVED: ("Off the market", "fam-lost"),
    UnitStatus.EXPIRED: ("Off the market", "fam-lost"),
    UnitStatus.WITHDRAWN: ("Off the market", "fam-lost"),
    UnitStatus.WITHDRAWAL_REQUESTED: ("Off the market", "danger"),
}


def unit_status_pill(status: str) -> Pill:
    family, css = UNIT_STATUS_TONES.get(status, ("Unknown status", "fam-unknown"))
    return Pill(status or "No status", css, family)


UNIT_STATUSES: Final = tuple(s.value for s in UnitStatus)


# --- showings -------------------------------------------------------------------------------------

SHOWING_STATUS_TONES: Final[dict[str, str]] = {
    ShowingStatus.SCHEDULED: "info",
    ShowingStatus.CONFIRMED: "info",
    ShowingStatus.ARRIVED: "fam-showing",
    ShowingStatus.STARTED: "fam-showing",
    ShowingStatus.COMPLETED: "ok",
    ShowingStatus.MISSED: "danger",
    ShowingStatus.FAILED: "danger",
    ShowingStatus.CANCELED: "fam-lost",
}
SHOWING_STATUSES: Final = tuple(s.value for s in ShowingStatus)

# The showing-related leasing events, as the status they give the showing they belong to.
SHOWING_EVENT_STATUS: Final[dict[str, str]] = {
    "Showing Desired": "Desired",
    "Showing Scheduled": ShowingStatus.SCHEDULED,
    "Showing Confirmed": ShowingStatus.CONFIRMED,
    "Arrived for Showing": ShowingStatus.ARRIVED,
    "Showing Started": ShowingStatus.STARTED,
    "Showing Complete": ShowingStatus.COMPLETED,
    "Missed Showing": ShowingStatus.MISSED,
    "Showing Failed": ShowingStatus.FAILED,
    "Showing Canceled": ShowingStatus.CANCELED,
    vocabulary.REASSIGN_SHOWING: "Reassigned",
}


def showing_status_pill(status: str) -> Pill:
    return Pill(status or "Unknown", SHOWING_STATUS_TONES.get(status, "fam-unknown"))


# --- lockboxes ------------------------------------------------------------------------------------

# A box installed on a unit that has reported nothing for this long may be dead, not idle.
LOCKBOX_QUIET_AFTER: Final = timedelta(days=14)

LOCKBOX_STATES: Final = {
    "installed": ("Installed", "ok"),
    "quiet": ("Quiet", "warn"),
    "not_installed": ("Not installed", "fam-lost"),
}


def lockbox_state(current_unit_id: int | None, last_event_at: datetime | None, now: datetime) -> str:
    if current_unit_id is None:
        return "not_installed"
    if last_event_at is None or now - last_event_at >= LOCKBOX_QUIET_AFTER:
        return "quiet"
    return "installed"


def lockbox_state_pill(current_unit_id: int | None, last_event_at: datetime | None, now: datetime) -> Pill:
    state = lockbox_state(current_unit_id, last_event_at, now)
    label, css = LOCKBOX_STATES[state]
    if state == "quiet":
        days = (now - last_event_at).days if last_event_at else None
        label = f"Quiet {days} days" if days is not None else "Installed, no events"
    return Pill(label, css)


LOCKBOX_EVENT_TONES: Final[dict[str, str]] = {
    LockboxEventType.INSTALL: "ok",
    LockboxEventType.UNINSTALL: "fam-lost",
    LockboxEventType.GENERATE_CODE: "info",
}
LOCKBOX_EVENT_TYPES: Final = tuple(t.value for t in LockboxEventType)


def lockbox_event_pill(event_type: str) -> Pill:
    return Pill(event_type or "Event", LOCKBOX_EVENT_TONES.get(event_type, "fam-unknown"))


# --- timelines ------------------------------------------------------------------------------------

# Kinds of timeline row: (chip label, css class, icon). Icons are plain characters: no icon font.
TIMELINE_KINDS: Final[dict[str, tuple[str, str, str]]] = {
    "status": ("Status", "kind-status", "●"),
    "assignment": ("Assignments", "kind-assignment", "⇄"),
    "note": ("Notes", "kind-note", "✎"),
    "showing": ("Showings", "kind-showing", "⌂"),
    "lockbox": ("Lockbox", "kind-lockbox", "◆"),
}

# "Only problems": the rows an agent must look at.
PROBLEM_EVENT_TYPES: Final = frozenset({"Showing Failed", "Missed Showing", "Blocklist Prospect", "Application Rejected"})
PROBLEM_SHOWING_STATUSES: Final = frozenset({ShowingStatus.FAILED, ShowingStatus.MISSED})


def leasing_event_kind(event_type: str) -> str:
    if event_type == vocabulary.ASSIGN_TO_USER:
        return "assignment"
    if event_type == vocabulary.LOG_NOTE:
        return "note"
    if event_type in vocabulary.SHOWING_EVENT_TYPES:
        return "showing"
    return "status"


def count_label(count: int, cap: int) -> str:
    """'1,234' or '10,000+' when the count stopped at its cap."""
    return f"{cap:,}+" if count > cap else f"{count:,}"


# --- times ----------------------------------------------------------------------------------------


# strftime costs ~3.5 us a call here, and an agenda page formats ~800 times: the forms lists use
# are written out from the datetime's fields (English names, as strftime's under the C locale
# Django runs in); any other label format goes to strftime.
_DAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _clock(local: datetime) -> str:
    """ "%-I:%M %p"."""
    hour = local.hour
    return f"{hour % 12 or 12}:{local.minute:02d} {'AM' if hour < 12 else 'PM'}"


SHORT_DATE = "%b %-d, %Y"
SHORT_DATETIME = "%b %-d, %-I:%M %p"
_LABELS: Final[dict[str, Callable[[datetime], str]]] = {
    SHORT_DATE: lambda d: f"{_MONTHS[d.month - 1]} {d.day}, {d.year}",
    SHORT_DATETIME: lambda d: f"{_MONTHS[d.month - 1]} {d.day}, {_clock(d)}",
}


class Moment:
    """A time as a list shows it, formatted in Python (the `date` filter costs ~10x more per call,
    and a list page shows hundreds): machine-readable, short label, full title on hover, time of
    day. Each form is made the first time it is read (a row shows two or three of the four, and an
    agenda page holds ~400 moments). Every form is digits, English names and punctuation: nothing
    that needs HTML escaping."""

    def __init__(self, local: datetime, label_format: str = SHORT_DATE) -> None:
        self.local = local
        self.label_format = label_format

    @cached_property
    def iso(self) -> str:
        return self.local.isoformat()

    @cached_property
    def label(self) -> str:
        quick = _LABELS.get(self.label_format)
        return quick(self.local) if quick else self.local.strftime(self.label_format)

    @cached_property
    def title(self) -> str:
        """ "%a, %b %-d %Y, %-I:%M %p %Z"."""
        d = self.local
        return f"{_DAYS[d.weekday()]}, {_MONTHS[d.month - 1]} {d.day} {d.year}, {_clock(d)} {d.tzname() or ''}"

    @cached_property
    def time(self) -> str:
        return _clock(self.local)

    def __str__(self) -> str:
        return self.label

    def __repr__(self) -> str:
        return f"Moment({self.iso!r})"


def moment(value: datetime | None, zone: tzinfo, label: str = SHORT_DATE) -> Moment | None:
    if value is None:
        return None
    return Moment(value.astimezone(zone), label)


def age(since: datetime | None, now: datetime) -> str:
    """How long ago, coarsely ("5 min", "3 h", "12 days"): for "last event" columns."""
    if since is None:
        return ""
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 3600:
        return f"{max(1, seconds // 60)} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    days = seconds // 86400
    return f"{days} day{'s' if days != 1 else ''}"
