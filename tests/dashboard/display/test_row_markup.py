"""Every row built in Python (dashboard/display/row_markup.py) against its reference partial
(templates/rows/reference.html), for the same rows: the same markup, whitespace aside."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.template.loader import render_to_string

from dashboard.display import pills, row_markup
from dashboard.display.agenda_rows import AgendaDay, AgendaEvent, AgendaItem
from dashboard.display.moments import SHORT_DATETIME, Moment
from dashboard.display.row_models import LockboxRow, ProspectRow, UnitProspectRow, UnitRow
from dashboard.display.timeline import Day, Item
from tests.dashboard.conftest import HOSTILE

ZONE = ZoneInfo("America/Chicago")
AT = datetime(2026, 3, 1, 20, 5, tzinfo=UTC)
WHEN = Moment(AT.astimezone(ZONE), SHORT_DATETIME)


def same_markup(html: str) -> str:
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", html)).strip()


def reference(partial: str, **context: Any) -> str:
    return render_to_string(f"rows/reference.html#{partial}", context)


def prospect(**changes: Any) -> ProspectRow:
    values: dict[str, Any] = {
        "id": 12345,
        "url": "/prospects/12345/",
        "name": "Zoë Ñúñez",
        "phone": "+1 (555) 123-4567",
        "email": "zoe@example.com",
        "pill": pills.prospect_status_pill("Showing Scheduled"),
        "unit_id": 3318,
        "unit_url": "/units/3318/",
        "unit_text": "3318 Chesapeake Blvd",
        "source": "Zillow",
        "assignee_names": ("Ari Agent", "Bo Agent"),
        "follow_up": WHEN,
        "created": Moment(AT.astimezone(ZONE)),
    }
    return ProspectRow(**(values | changes))


PROSPECTS = [
    prospect(),
    prospect(name="", phone="", email="", unit_text="", unit_id=None, source="", assignee_names=(), follow_up=None, created=None),
    prospect(name=HOSTILE, email=HOSTILE, unit_text="", source=HOSTILE, assignee_names=(HOSTILE,), gone=True),
]


def unit(**changes: Any) -> UnitRow:
    values: dict[str, Any] = {
        "id": 3318,
        "url": "/units/3318/",
        "address": "3318 Chesapeake Blvd",
        "city": "Norfolk",
        "state": "VA",
        "pill": pills.unit_status_pill("Available"),
        "occupied": False,
        "bedrooms": Decimal("3"),
        "bathrooms": Decimal("2.5"),
        "rent": Decimal("1925.50"),
        "showing_method": "Self Guided",
        "lockbox_url": "/lockboxes/0b9c1e5e-1111-4bbb-8ccc-000000000001/",
        "lockbox_serial": "1234567",
        "open_prospects": 4,
        "open_prospects_url": "/prospects/?assignee=all&family=open&unit=3318",
    }
    return UnitRow(**(values | changes))


UNITS = [
    unit(),
    unit(address="", city="", state="", occupied=True, bedrooms=None, bathrooms=None, rent=None, showing_method="",
         lockbox_url="", lockbox_serial="", open_prospects=0),
    unit(address=HOSTILE, city=HOSTILE, state="", lockbox_serial="", rent=Decimal("1234567"), gone=True),
]  # fmt: skip


def lockbox(**changes: Any) -> LockboxRow:
    values: dict[str, Any] = {
        "id": "0b9c1e5e-1111-4bbb-8ccc-000000000001",
        "url": "/lockboxes/0b9c1e5e-1111-4bbb-8ccc-000000000001/",
        "serial_number": "1234567",
        "lockbox_type": "Sentrilock",
        "pill": pills.lockbox_state_pill(3318, AT, AT + timedelta(days=1)),
        "unit_id": 3318,
        "unit_url": "/units/3318/",
        "unit_text": "3318 Chesapeake Blvd",
        "installed": Moment(AT.astimezone(ZONE)),
        "last_event": WHEN,
        "last_event_age": "3 h",
    }
    return LockboxRow(**(values | changes))


LOCKBOXES = [
    lockbox(),
    lockbox(serial_number="", unit_text="", installed=None, last_event=None, last_event_age=""),
    lockbox(serial_number=HOSTILE, lockbox_type=HOSTILE, unit_id=None, unit_text="", gone=True),
]


def item(key: str, **changes: Any) -> Item:
    values: dict[str, Any] = {"kind": "status", "at": AT, "when": WHEN, "title": "Contacted", "key": key}
    return Item(**(values | changes))


CHILD = item("lockbox-event-1", kind="lockbox", title=f"Code generated for {HOSTILE}",
             pill=pills.lockbox_event_pill("Generate Code"), detail="ACCESS code", links=(("Lockbox", "/lockboxes/x/"),))  # fmt: skip
DAYS = [
    Day(date(2026, 3, 1), "Today", (
        item("event-1", pill=pills.prospect_status_pill("Contacted"), actor="Ari Agent", source="Phone Call",
             detail=f"first line\r\nsecond {HOSTILE}\rthird"),
        item("event-2", kind="assignment", title="Assigned", change=("Bo Agent", HOSTILE), actor="Mia Manager",
             folded=(item("event-3", kind="note", title="Log Note", actor="Mia Manager"),
                     item("event-4", planned_when=Moment(AT.astimezone(ZONE), "%a, %b %-d, %-I:%M %p"), problem=True))),
        item("showing-7", kind="showing", title="Showing at 3318 Chesapeake", pill=pills.showing_status_pill("Failed"),
             problem=True, children=(CHILD,), links=(("Unit", "/units/3318/"), (HOSTILE, "/prospects/1/"))),
    )),
    Day(date(2026, 2, 28), "Yesterday", (item("event-9", kind="mystery", title=HOSTILE),)),
]  # fmt: skip


def agenda_item(key: str, **changes: Any) -> AgendaItem:
    values: dict[str, Any] = {
        "key": key,
        "at": AT,
        "when": WHEN,
        "pill": pills.showing_status_pill("Scheduled"),
        "title": "3318 Chesapeake Blvd",
        "prospect_id": 12345,
        "prospect_name": "Zoë Ñúñez",
        "unit_id": 3318,
        "agent": "Ari Agent",
    }
    return AgendaItem(**(values | changes))


EVENT = AgendaEvent(id=1, prospect_id=12345, event_type="Showing Scheduled", planned_at=AT, source=HOSTILE,
                    unit_id_of_interest=3318, property_address="", when=WHEN)  # fmt: skip
AGENDA = [
    AgendaDay(date(2026, 3, 1), "Today", (
        agenda_item("showing-1", detail="Canceled by the prospect", events=(EVENT, EVENT)),
        agenda_item("event-showing-2", prospect_id=None, prospect_name="", unit_id=None, agent="", from_events_only=True),
        agenda_item("showing-3", prospect_name=HOSTILE, title=HOSTILE, agent=HOSTILE, detail=HOSTILE),
    )),
    AgendaDay(date(2026, 3, 2), "Tomorrow", (agenda_item("showing-4"),)),
]  # fmt: skip


UNIT_PROSPECTS = [
    UnitProspectRow(id=12345, url="/prospects/12345/", name="Zoë Ñúñez", phone="+1 555", pill=pills.prospect_status_pill("New"),
                    assignee_names=("Ari Agent", "Bo Agent"), created=Moment(AT.astimezone(ZONE))),
    UnitProspectRow(id=12346, url="/prospects/12346/", name="", phone="", pill=pills.prospect_status_pill(""),
                    assignee_names=(), created=None),
    UnitProspectRow(id=12347, url="/prospects/12347/", name=HOSTILE, phone=HOSTILE, pill=pills.prospect_status_pill(HOSTILE),
                    assignee_names=(HOSTILE,), created=WHEN),
]  # fmt: skip
SHOWINGS = [
    item("showing-1", kind="showing", title="Showing", pill=pills.showing_status_pill("Completed"), actor="Ari Agent",
         links=(("Unit", "/units/3318/"), ("Zoë Ñúñez", "/prospects/12345/"))),
    item("showing-2", kind="showing", title="Showing", pill=pills.showing_status_pill(""), actor=HOSTILE, detail=HOSTILE,
         links=((HOSTILE, "/prospects/1/?a=1&b=2"),)),
]  # fmt: skip


@pytest.mark.parametrize("row", UNIT_PROSPECTS)
def test_a_prospect_row_on_the_unit_page(row: UnitProspectRow) -> None:
    assert same_markup(row_markup.unit_prospect_row(row)) == same_markup(reference("unit_prospect_row", p=row))


def test_the_showings_on_the_unit_page() -> None:
    assert same_markup(row_markup.showing_rows(SHOWINGS)) == same_markup(reference("showing_rows", items=SHOWINGS))


@pytest.mark.parametrize("row", PROSPECTS)
def test_a_prospect_row(row: ProspectRow) -> None:
    assert same_markup(row_markup.prospect_row(row)) == same_markup(reference("prospect_row", p=row))


@pytest.mark.parametrize("row", UNITS)
def test_a_unit_row(row: UnitRow) -> None:
    assert same_markup(row_markup.unit_row(row)) == same_markup(reference("unit_row", u=row))


@pytest.mark.parametrize("row", LOCKBOXES)
def test_a_lockbox_row(row: LockboxRow) -> None:
    assert same_markup(row_markup.lockbox_row(row)) == same_markup(reference("lockbox_row", box=row))


def test_timeline_days_and_their_rows() -> None:
    assert same_markup(row_markup.timeline_days(DAYS)) == same_markup(reference("timeline_days", days=DAYS))


def test_agenda_days_and_their_items() -> None:
    today = date(2026, 3, 1)
    assert same_markup(row_markup.agenda_days(AGENDA, today)) == same_markup(reference("agenda_days", days=AGENDA, today=today))


def test_values_are_escaped_once() -> None:
    html = (
        row_markup.prospect_row(PROSPECTS[2]) + row_markup.timeline_days(DAYS) + row_markup.agenda_days(AGENDA, date(2026, 3, 1))
    )
    assert HOSTILE not in html
    assert "&lt;script&gt;" in html
    assert "&amp;lt;" not in html
