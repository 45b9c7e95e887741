"""The showings agenda's rows: one item per showing, with the showing-related leasing events that
belong to it (scheduled, confirmed, arrived, complete...), grouped by day (`row_markup.agenda_days`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from dashboard.display.links import link
from dashboard.display.moments import Moment
from dashboard.display.pills import Pill
from dashboard.display.timeline import day_label


@dataclass(frozen=True, slots=True)
class AgendaEvent:
    """A showing-related leasing event under its showing."""

    id: int
    prospect_id: int
    event_type: str
    planned_at: datetime
    source: str
    unit_id_of_interest: int | None
    property_address: str
    when: Moment  # when the event was made, in the account's zone


@dataclass(frozen=True, slots=True)
class AgendaItem:
    """A showing on the agenda: from the showings report, or (`from_events_only`) known only from
    the leasing events that stand for it until the report lists it."""

    key: str
    at: datetime
    when: Moment
    pill: Pill
    title: str
    prospect_id: int | None
    prospect_name: str
    unit_id: int | None
    agent: str
    detail: str = ""
    events: tuple[AgendaEvent, ...] = ()
    from_events_only: bool = False

    @property
    def prospect_url(self) -> str:
        return link("prospect", self.prospect_id) if self.prospect_id else ""

    @property
    def unit_url(self) -> str:
        return link("unit", self.unit_id) if self.unit_id else ""


@dataclass(frozen=True, slots=True)
class AgendaDay:
    day: date
    label: str
    items: tuple[AgendaItem, ...]


def agenda_by_day(items: Iterable[AgendaItem], zone: ZoneInfo) -> list[AgendaDay]:
    """Items (in time order) under day headings in the account's zone."""
    today = timezone.now().astimezone(zone).date()
    groups: list[tuple[date, list[AgendaItem]]] = []
    for item in items:
        day = item.at.astimezone(zone).date()
        if not groups or groups[-1][0] != day:
            groups.append((day, []))
        groups[-1][1].append(item)
    return [AgendaDay(day, day_label(day, today), tuple(rows)) for day, rows in groups]
