"""How RentEngine's words look on screen: one table per kind of status, so a colour means the same
thing on every page. The families themselves come from `integrations.rentengine.vocabulary`; this
module only adds labels and CSS classes (the classes are defined in static/css/app.css)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
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
