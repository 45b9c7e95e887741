"""Every change to the simulated data goes through here, so each one lands in its table, moves the
prospect's status when it should, and is announced as a webhook (`State.emit`).

A prospect's status is the type of its latest pipeline event (vocabulary.is_pipeline_status); its
`updated_at` moves with every status change. "Assign to User" events change who the prospect is
assigned to (kept in the internal `_assignees`), not its status, so they touch no prospect row.
"""

from __future__ import annotations

from typing import Any

from integrations.rentengine.vocabulary import ASSIGN_TO_USER, is_pipeline_status

from .row_shapes import leasing_event_row
from .state import Row, State, stamp


def row_update(state: State, table_name: str, row: Row, **changes: Any) -> Row:
    """Replace `row` with a changed copy and announce the UPDATE (old and new rows)."""
    table = state.table(table_name)
    new = {**row, **changes}
    table.replace(new)
    state.emit(table_name, "UPDATE", new, row)
    return new


def row_insert(state: State, table_name: str, row: Row) -> Row:
    state.table(table_name).append(row)
    state.emit(table_name, "INSERT", row, None)
    return row


def leasing_event_add(
    state: State,
    prospect: Row,
    event_type: str,
    *,
    source: str | None,
    created_by: str | None,
    notes: str | None = None,
    context: dict[str, Any] | None = None,
    planned_date_time: str | None = None,
    next_follow_up: str | None = None,
) -> Row:
    """Record one leasing event for a prospect; a pipeline event also becomes the prospect's status."""
    now = stamp(state.clock())
    unit = state.table("units").get(prospect["unit_of_interest"]) if prospect["unit_of_interest"] else None
    event = leasing_event_row(
        event_id=state.new_id("leasing_events"),
        prospect=prospect,
        event_type=event_type,
        created_at=now,
        source=source,
        created_by=created_by,
        property_address=unit["address"]["formatted_address"] if unit else None,
        notes=notes,
        context=context,
        planned_date_time=planned_date_time,
        next_follow_up=next_follow_up,
    )
    row_insert(state, "leasing_events", event)
    if is_pipeline_status(event_type):
        row_update(state, "prospects", prospect, status=event_type, updated_at=now)
    return event


def prospect_assign(
    state: State,
    prospect: Row,
    user_ids: list[str],
    *,
    source: str | None,
    notes: str | None,
    created_by: str,
    role: str,
) -> Row:
    """An "Assign to User" event: the prospect's assignees become `user_ids`."""
    previous = list(prospect["_assignees"])
    context = {"assignedToUserIds": list(user_ids), "createdByUserRole": role, "previousAssignedToUserIds": previous}
    event = leasing_event_add(state, prospect, ASSIGN_TO_USER, source=source, created_by=created_by, notes=notes, context=context)
    # Internal field only: the prospect's API row does not change, so its cached JSON stays valid.
    prospect["_assignees"] = list(user_ids)
    return event


def prospect_create(state: State, *, account_id: str, person: dict[str, Any], unit_id: int | None, source: str | None) -> Row:
    now = stamp(state.clock())
    prospect = {
        "id": state.new_id("prospects"),
        "name": person["name"],
        "email": person["email"],
        "phone": person["phone"],
        "status": "New",
        "source": person.get("source", source),
        "unit_of_interest": unit_id,
        "account_id": account_id,
        "prospect_type": "Self",
        "prescreened": False,
        "notes": None,
        "created_at": now,
        "updated_at": now,
        "_assignees": [],
    }
    row_insert(state, "prospects", prospect)
    if prospect["phone"]:
        state.phones.setdefault((account_id, prospect["phone"]), []).append(prospect["id"])
    first_source = source if source in ("Phone Call", "Text Message") else "Automation"
    leasing_event_add(state, prospect, "New", source=first_source, created_by=None)
    return state.table("prospects").get(prospect["id"]) or prospect


def prospect_current(state: State, prospect_id: int) -> Row:
    """The live row (rows are replaced on update, so references go stale)."""
    row = state.table("prospects").get(prospect_id)
    assert row is not None
    return row
