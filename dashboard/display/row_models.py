"""What one row of a list shows, one frozen dataclass per kind of row: the views build them from the
mirror's rows (names resolved, times formatted in the account's zone, links made), and templates and
`row_markup` only print them. Timeline and agenda rows live with the code that builds them
(`timeline.Item`, `agenda.AgendaItem`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from dashboard.bulk_assignment import Progress
from dashboard.display.moments import Moment
from dashboard.display.pills import Pill


@dataclass(frozen=True, slots=True)
class ProspectRow:
    """A row of the prospects list (and of its live updates)."""

    id: int
    url: str
    name: str
    phone: str
    email: str
    pill: Pill
    unit_id: int | None
    unit_url: str
    unit_text: str  # the unit's address (or id) when the mirror holds the unit, else ""
    source: str
    assignee_names: tuple[str, ...]
    follow_up: Moment | None
    created: Moment | None
    gone: bool = False  # deleted in RentEngine since the page showed it


@dataclass(frozen=True, slots=True)
class UnitRow:
    """A row of the units list (and of its live updates)."""

    id: int
    url: str
    address: str
    city: str
    state: str
    pill: Pill
    occupied: bool
    bedrooms: Decimal | None
    bathrooms: Decimal | None
    rent: Decimal | None
    showing_method: str
    lockbox_url: str  # "" when no lockbox is on the unit
    lockbox_serial: str
    open_prospects: int
    open_prospects_url: str
    gone: bool = False


@dataclass(frozen=True, slots=True)
class LockboxRow:
    """A row of the lockbox inventory (and of its live updates)."""

    id: str
    url: str
    serial_number: str
    lockbox_type: str
    pill: Pill
    unit_id: int | None
    unit_url: str
    unit_text: str  # the unit's address (or id) when the mirror holds the unit, else ""
    installed: Moment | None
    last_event: Moment | None
    last_event_age: str
    gone: bool = False


@dataclass(frozen=True, slots=True)
class UnitProspectRow:
    """A prospect on the unit page."""

    id: int
    url: str
    name: str
    phone: str
    pill: Pill
    assignee_names: tuple[str, ...]
    created: Moment | None


@dataclass(frozen=True, slots=True)
class SearchProspect:
    """One enquiry under a person in the search results."""

    id: int
    unit_address: str
    pill: Pill


@dataclass(frozen=True, slots=True)
class SearchPerson:
    """One human behind one or more prospect rows (RentEngine makes a prospect per unit enquired)."""

    name: str
    phone: str
    email: str
    prospects: tuple[SearchProspect, ...]


@dataclass(frozen=True, slots=True)
class SearchUnit:
    id: int
    address: str
    pill: Pill


@dataclass(frozen=True, slots=True)
class JobRow:
    """A bulk assignment on /assignments/."""

    id: int
    url: str
    is_undo: bool
    undo_of_id: int | None
    created_at: datetime
    created_by: str
    people: tuple[str, ...]
    progress: Progress


@dataclass(frozen=True, slots=True)
class SavedViewRow:
    """A saved view on the views page."""

    id: int
    name: str
    url: str
    list_label: str
    is_default: bool
    shared: bool
    owner_name: str


@dataclass(frozen=True, slots=True)
class TemplateRow:
    """A prescreening template on the reference page."""

    id: str
    name: str
    is_default: bool
    rule_lines: tuple[tuple[str, str], ...]
    questions: int
    units: int
