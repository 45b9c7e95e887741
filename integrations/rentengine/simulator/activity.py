"""Living data: the changes a busy leasing team makes, one step at a time.

`--activity N` runs about N steps a minute (exponentially spaced, seeded); the control endpoint can
run steps on demand (`POST /_simulator/activity`). Each step is one realistic change, announced as
webhooks like any other write: a new enquiry (sometimes a known phone asking about another unit), a
prospect moving along the pipeline, an assignment, a note, a showing booked or its outcome, an
access code, a lockbox installed or removed, a unit's price or status changing.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from integrations.rentengine.vocabulary import LOG_NOTE, OPEN_STATUS_FAMILIES, LockboxEventType, ShowingMethod, status_family

from . import lexicon
from .row_shapes import uuid_from
from .seed_lockboxes import visitor
from .seed_prospects import person_new, showing_row
from .state import Row, State, stamp
from .writes import leasing_event_add, prospect_assign, prospect_create, prospect_current, row_insert, row_update

RECENT = 3000  # steps pick among the newest rows: that is where a leasing team's work is

NEXT_STATUS: dict[str, tuple[str, ...]] = {
    "New": (
        "Contacted, Awaiting Information",
        "Contacted, Awaiting Information",
        "Showing Desired",
        "Ghosting",
        "Not Interested",
    ),
    "Contacted, Awaiting Information": ("Showing Desired", "Still Deciding", "Ghosting", "Prescreen Submitted"),
    "Showing Desired": ("Ghosting", "Still Deciding"),
    "Showing Complete": ("Application Sent to Prospect", "Application Sent to Prospect", "Still Deciding", "Not Interested"),
    "Application Sent to Prospect": ("Application Received", "Ghosting"),
    "Application Received": ("Application Pending", "Application in Owner Review"),
    "Application Pending": ("Application Approved", "Application Rejected"),
    "Application in Owner Review": ("Application Approved", "Application Approved", "Application Rejected"),
    "Application Approved": ("Lease out for signing",),
    "Lease out for signing": ("Lease Signed",),
    "Lease Signed": ("Deposit Received", "Move-in Scheduled"),
    "Deposit Received": ("Move-in Scheduled",),
    "Move-in Scheduled": ("Moved In",),
    "Prescreen Submitted": ("Prescreen Approved", "Prescreen Rejected - Self reported income"),
    "Prescreen Approved": ("Showing Desired",),
    "Still Deciding": ("Showing Desired", "Not Interested"),
    "Looking too early": ("Contacted, Awaiting Information",),
    "Ghosting": ("Contacted, Awaiting Information", "Not Interested"),
    "Missed Showing": ("Showing Desired", "Ghosting"),
    "Showing Canceled": ("Showing Desired", "Not Interested"),
    "Showing Failed": ("Showing Desired",),
}
SHOWABLE = frozenset({"New", "Contacted, Awaiting Information", "Showing Desired", "Prescreen Approved", "Still Deciding"})


def activity_step(state: State, kind: str | None = None) -> dict[str, Any]:
    """Make one change (of `kind`, or a weighted random one); returns what was changed."""
    rng = state.rng
    kinds = [k for k, _ in STEPS]
    chosen = kind or rng.choices(kinds, [w for _, w in STEPS])[0]
    if chosen not in STEP_FUNCTIONS:
        raise ValueError(f"kind must be one of {', '.join(kinds)}")
    result = STEP_FUNCTIONS[chosen](state, rng)
    if result is None and kind is None:
        result = step_enquiry(state, rng)  # nothing suitable: a new enquiry always works
    return {"kind": chosen if result else "none", **(result or {})}


async def activity_run(state_of: Callable[[], State], per_minute: float) -> None:
    """Run steps forever, about `per_minute` a minute (`state_of` follows resets)."""
    pace = random.Random(f"pace:{state_of().seed}")
    while True:
        await asyncio.sleep(pace.expovariate(per_minute / 60.0))
        activity_step(state_of())


def _recent(state: State, name: str, rng: random.Random, keep: Callable[[Row], bool], tries: int = 40) -> Row | None:
    rows = state.table(name).rows
    if not rows:
        return None
    low = max(0, len(rows) - RECENT)
    for _ in range(tries):
        row = rows[rng.randrange(low, len(rows))]
        if keep(row):
            return row
    return None


def _agent_for(state: State, rng: random.Random, prospect: Row) -> Row:
    unit = state.table("units").get(prospect["unit_of_interest"]) if prospect["unit_of_interest"] else None
    agents = [u for u in state.users if prospect["account_id"] in u["account_ids"] and u["id"] != lexicon.OWNER_USER_ID]
    team = [a for a in agents if unit and a["subteam_id"] == unit.get("subteam_id")] or agents
    if prospect["_assignees"]:
        assigned = state.user(prospect["_assignees"][0])
        if assigned:
            return assigned
    return rng.choice(team)


def step_enquiry(state: State, rng: random.Random) -> dict[str, Any] | None:
    account = rng.choices(lexicon.ACCOUNTS, [a["share"] for a in lexicon.ACCOUNTS])[0]
    listed = [
        u for u in state.table("units").rows if u["account_id"] == account["id"] and u["status"] in ("Available", "On Hold")
    ]
    units = listed or [u for u in state.table("units").rows if u["account_id"] == account["id"]]
    known = _recent(state, "prospects", rng, lambda p: p["account_id"] == account["id"] and bool(p["phone"]), tries=5)
    if known is not None and rng.random() < 0.2:
        person = {"name": known["name"], "email": known["email"], "phone": known["phone"], "source": known["source"]}
    else:
        person = person_new(rng, account["id"], set())
    unit = rng.choice(units) if units and rng.random() > 0.08 else None
    prospect = prospect_create(
        state, account_id=account["id"], person=person, unit_id=unit["id"] if unit else None, source=person["source"]
    )
    return {"table": "prospects", "id": prospect["id"]}


def step_status(state: State, rng: random.Random) -> dict[str, Any] | None:
    prospect = _recent(state, "prospects", rng, lambda p: p["status"] in NEXT_STATUS)
    if prospect is None:
        return None
    new_status = rng.choice(NEXT_STATUS[prospect["status"]])
    agent = _agent_for(state, rng, prospect)
    event = leasing_event_add(
        state, prospect, new_status, source=rng.choice(("Phone Call", "Text Message", "Email")), created_by=agent["id"]
    )
    if new_status == "Lease Signed" and prospect["unit_of_interest"]:
        unit = state.table("units").get(prospect["unit_of_interest"])
        if unit and unit["status"] != "Leased":
            row_update(state, "units", unit, status="Leased", is_occupied=True, updated_at=event["created_at"])
    return {"table": "leasing_events", "id": event["id"], "prospect_id": prospect["id"], "status": new_status}


def step_assignment(state: State, rng: random.Random) -> dict[str, Any] | None:
    prospect = _recent(
        state, "prospects", rng, lambda p: not p["_assignees"] and status_family(p["status"]) in OPEN_STATUS_FAMILIES
    )
    if prospect is None:
        return None
    agent = _agent_for(state, rng, prospect)
    targets = [prospect]
    if prospect["phone"] and rng.random() < 0.5:
        siblings = state.phones.get((prospect["account_id"], prospect["phone"]), [])
        targets += [prospect_current(state, pid) for pid in siblings if pid != prospect["id"]]
    events = [
        prospect_assign(
            state, p, [agent["id"]], source="Other", notes=None, created_by=lexicon.OWNER_USER_ID, role="Property Manager"
        )
        for p in targets
    ]
    return {"table": "leasing_events", "id": events[0]["id"], "prospect_ids": [p["id"] for p in targets], "assignee": agent["id"]}


def step_note(state: State, rng: random.Random) -> dict[str, Any] | None:
    prospect = _recent(state, "prospects", rng, lambda p: status_family(p["status"]) in OPEN_STATUS_FAMILIES)
    if prospect is None:
        return None
    agent = _agent_for(state, rng, prospect)
    event = leasing_event_add(state, prospect, LOG_NOTE, source="Other", created_by=agent["id"], notes=rng.choice(lexicon.NOTES))
    return {"table": "leasing_events", "id": event["id"], "prospect_id": prospect["id"]}


def step_showing(state: State, rng: random.Random) -> dict[str, Any] | None:
    now = state.clock()
    showings = state.table("showings")
    due = next(
        (
            s
            for s in reversed(showings.rows[-RECENT:])
            if s["status"] in ("Scheduled", "Confirmed") and s["planned_date_time"] < stamp(now)
        ),
        None,
    )
    if due is not None:
        return _showing_outcome(state, rng, due)
    prospect = _recent(state, "prospects", rng, lambda p: p["status"] in SHOWABLE and p["unit_of_interest"] is not None)
    if prospect is None:
        return None
    unit = state.table("units").get(prospect["unit_of_interest"])
    if unit is None:
        return None
    zone = ZoneInfo((state.account(prospect["account_id"]) or {"time_zone": "UTC"})["time_zone"])
    # Mostly later today or in the next days; sometimes a few minutes from now, so the demo sees outcomes.
    if rng.random() < 0.3:
        planned = now + timedelta(minutes=rng.randint(2, 20))
    else:
        day = now.astimezone(zone).date() + timedelta(days=rng.randint(0, 4))
        minutes = rng.randrange(9 * 60, 18 * 60, 30)
        planned = max(
            now + timedelta(minutes=30), datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=zone)
        )
    accompanied = unit["showing_method"] == ShowingMethod.ACCOMPANIED
    agent = _agent_for(state, rng, prospect) if accompanied else None
    showing = showing_row(
        prospect, unit, planned=stamp(planned.astimezone(UTC)), created=stamp(now), agent_id=agent["id"] if agent else None
    )
    showing["id"] = state.new_id("showings")
    showings.append(showing)
    event = leasing_event_add(
        state,
        prospect,
        "Showing Scheduled",
        source="Showing Scheduler",
        created_by=None,
        planned_date_time=showing["planned_date_time"],
    )
    return {"table": "showings", "id": showing["id"], "prospect_id": prospect["id"], "event_id": event["id"]}


def _showing_outcome(state: State, rng: random.Random, showing: Row) -> dict[str, Any]:
    roll = rng.random()
    status, event_type = (
        ("Completed", "Showing Complete") if roll < 0.65
        else ("Missed", "Missed Showing") if roll < 0.82
        else ("Canceled", "Showing Canceled")
    )  # fmt: skip
    now = stamp(state.clock())
    changes: dict[str, Any] = {"status": status, "updated_at": now}
    if status == "Completed":
        changes["feedback"] = rng.choice(lexicon.SHOWING_FEEDBACK)
    if status == "Canceled":
        changes["cancellation_reason"] = rng.choice(lexicon.CANCELLATION_REASONS)
    row_update(state, "showings", showing, **changes)
    prospect = state.table("prospects").get(showing["prospect_id"])
    if prospect is not None:
        leasing_event_add(
            state,
            prospect,
            event_type,
            source="Showing Scheduler",
            created_by=None,
            planned_date_time=showing["planned_date_time"],
        )
    return {"table": "showings", "id": showing["id"], "status": status}


def step_access_code(state: State, rng: random.Random) -> dict[str, Any] | None:
    installation = _recent(state, "lockbox_installations", rng, lambda i: i["uninstalled_at"] is None)
    lockbox = state.table("lockboxes").get(installation["lockbox_id"]) if installation else None
    if installation is None or lockbox is None:
        return None
    zone = ZoneInfo((state.account(lockbox["account_id"]) or {"time_zone": "UTC"})["time_zone"])
    now = state.clock()
    code_type = "SHACKLE" if lockbox["lockbox_type"] == "Sentrilock" and rng.random() < 0.1 else "ACCESS"
    metadata = {"created_for": visitor(rng), "code_type": code_type, "valid_date": now.astimezone(zone).date().isoformat()}
    event = _lockbox_event(state, rng, lockbox, installation["unit_id"], LockboxEventType.GENERATE_CODE, metadata)
    return {"table": "lockbox_events", "id": event["id"]}


def step_lockbox_move(state: State, rng: random.Random) -> dict[str, Any] | None:
    lockbox = rng.choice(state.table("lockboxes").rows) if state.table("lockboxes").rows else None
    if lockbox is None:
        return None
    installations = state.table("lockbox_installations")
    current = next(
        (i for i in reversed(installations.rows) if i["lockbox_id"] == lockbox["id"] and i["uninstalled_at"] is None), None
    )
    installer = rng.choice([u["id"] for u in state.users if lockbox["account_id"] in u["account_ids"]])
    if current is not None:
        event = _lockbox_event(
            state, rng, lockbox, current["unit_id"], LockboxEventType.UNINSTALL, {"installer_id": installer, "notes": "Removed"}
        )
        row_update(state, "lockbox_installations", current, uninstalled_at=event["created_at"])
        return {"table": "lockbox_events", "id": event["id"], "kind": "uninstall"}
    occupied = {i["unit_id"] for i in installations.rows if i["uninstalled_at"] is None}
    candidates = [
        u
        for u in state.table("units").rows
        if u["account_id"] == lockbox["account_id"] and u["status"] in ("Available", "On Hold")
    ]
    candidates = [u for u in candidates if str(u["id"]) not in occupied]
    if not candidates:
        return None
    unit = rng.choice(candidates)
    event = _lockbox_event(
        state,
        rng,
        lockbox,
        str(unit["id"]),
        LockboxEventType.INSTALL,
        {"installer_id": installer, "notes": "Installed on front door"},
    )
    installation = {
        "id": uuid_from(rng),
        "lockbox_id": lockbox["id"],
        "serial_number": lockbox["serial_number"],
        "unit_id": str(unit["id"]),
        "account_id": lockbox["account_id"],
        "installed_at": event["created_at"],
        "uninstalled_at": None,
    }
    installations.append(installation)
    return {"table": "lockbox_events", "id": event["id"], "kind": "install"}


def _lockbox_event(
    state: State, rng: random.Random, lockbox: Row, unit_id: str, kind: LockboxEventType, metadata: dict[str, Any]
) -> Row:
    event = {
        "id": uuid_from(rng),
        "lockbox_id": lockbox["id"],
        "event_type": str(kind),
        "unit_id": unit_id,
        "account_id": lockbox["account_id"],
        "created_at": stamp(state.clock()),
        "metadata": metadata,
    }
    return row_insert(state, "lockbox_events", event)


def step_unit(state: State, rng: random.Random) -> dict[str, Any] | None:
    units = state.table("units").rows
    unit = next((u for u in (rng.choice(units) for _ in range(40)) if u["status"] in ("Available", "On Hold", "Leased")), None)
    if unit is None:
        return None
    now = stamp(state.clock())
    if unit["status"] == "Leased":
        changes: dict[str, Any] = {"status": "Available", "is_occupied": rng.random() < 0.3}
    elif rng.random() < 0.5:
        rate = float(unit["target_rental_rate"]) - rng.choice((25, 50, 75))
        changes = {"target_rental_rate": int(rate) if isinstance(unit["target_rental_rate"], int) else str(int(rate))}
    else:
        changes = {"status": "On Hold" if unit["status"] == "Available" else "Available"}
    row_update(state, "units", unit, updated_at=now, **changes)
    return {"table": "units", "id": unit["id"], **changes}


STEPS: tuple[tuple[str, float], ...] = (
    ("enquiry", 20), ("status", 33), ("assignment", 10), ("note", 5), ("showing", 12), ("access_code", 10),
    ("lockbox_move", 3), ("unit", 7),
)  # fmt: skip
STEP_FUNCTIONS: dict[str, Callable[[State, random.Random], dict[str, Any] | None]] = {
    "enquiry": step_enquiry,
    "status": step_status,
    "assignment": step_assignment,
    "note": step_note,
    "showing": step_showing,
    "access_code": step_access_code,
    "lockbox_move": step_lockbox_move,
    "unit": step_unit,
}
