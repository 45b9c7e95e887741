"""POST /lockboxes/generate_code and POST /lockbox_events (API-FACTS 2.1, 2.2; D2, D4).

generate_code: one locator (`lockbox_id`, `serial_number` or `unit_id`, the unit the box is
installed on), `date` (required, `YYYY-MM-DD`), optional `created_for` and `code_type` (`ACCESS`,
`SHACKLE`; SHACKLE only for SentriLock). Answers 200 `{code, lockboxType, instructions}` and writes a
`Generate Code` lockbox event (metadata `created_for`, `code_type`, `valid_date`) that is announced
as a `lockbox_events` INSERT webhook, like the codes the activity makes. The box must be installed
(the event needs its unit; INFERRED).

lockbox_events: `{"events": [{lockbox_id, event_type: Install|Uninstall, unit_id: number}, ...]}`.
Install needs a box that is not installed and a free unit of its account; Uninstall needs the box
installed on that unit. The installation opens or closes with it. Answers 201 with the events in the
GET shape (`unit_id` a string). Each event is a `lockbox_events` INSERT webhook. Nothing is written
unless the whole request is valid. Neither operation is idempotent.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from integrations.rentengine.vocabulary import LockboxEventType

from .lexicon import OWNER_USER_ID
from .messages import Request, Response, json_response
from .row_shapes import uuid_from
from .state import Row, State, public, stamp
from .validation import BODY_ERROR, UUID, Invalid, detail
from .writes import row_insert, row_update

CODE_FIELDS = ("lockbox_id", "serial_number", "unit_id", "date", "created_for", "code_type")
CODE_TYPES = ("ACCESS", "SHACKLE")
EVENT_FIELDS = ("lockbox_id", "event_type", "unit_id")
POSTABLE_EVENT_TYPES = (str(LockboxEventType.INSTALL), str(LockboxEventType.UNINSTALL))
MAX_CREATED_FOR = 200
MAX_EVENTS = 20
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
INSTRUCTIONS = {
    "Sentrilock": "Press ENTER, key in the code, press ENTER, then pull the key container down.",
    "Codebox": "Enter the code followed by #.",
}


def _invalid(path: str, keyword: str, params: dict[str, Any], message: str) -> Invalid:
    return Invalid(BODY_ERROR, [detail(path, keyword, params, message)])


def _body_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        raise Invalid("Invalid JSON in request body") from None
    if not isinstance(payload, dict):
        raise _invalid("", "type", {"type": "object"}, "must be object")
    return payload


def _no_extra(payload: dict[str, Any], allowed: tuple[str, ...], path: str) -> None:
    extra = next((k for k in payload if k not in allowed), None)
    if extra is not None:
        raise _invalid(path, "additionalProperties", {"additionalProperty": extra}, "must NOT have additional properties")


def _integer(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or (isinstance(value, float) and not value.is_integer()):
        raise _invalid(path, "type", {"type": "integer"}, "must be integer")
    return int(value)


def _uuid(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _invalid(path, "type", {"type": "string"}, "must be string")
    if not UUID.fullmatch(value):
        raise _invalid(path, "format", {"format": "uuid"}, 'must match format "uuid"')
    return value.lower().removeprefix("urn:uuid:")


def _current_installation(state: State, *, lockbox_id: str | None = None, unit_id: str | None = None) -> Row | None:
    for installation in reversed(state.table("lockbox_installations").rows):
        if installation["uninstalled_at"] is not None:
            continue
        if lockbox_id is not None and installation["lockbox_id"] == lockbox_id:
            return installation
        if unit_id is not None and installation["unit_id"] == unit_id:
            return installation
    return None


# --- POST /lockboxes/generate_code ----------------------------------------------------------------


def generate_code(state: State, request: Request) -> Response:
    payload = _body_object(request.body)
    _no_extra(payload, CODE_FIELDS, "")
    if "date" not in payload:
        raise _invalid("", "required", {"missingProperty": "date"}, "must have required property 'date'")
    valid_date = payload["date"]
    if not isinstance(valid_date, str):
        raise _invalid("/date", "type", {"type": "string"}, "must be string")
    if not DAY.fullmatch(valid_date) or not _is_day(valid_date):
        raise _invalid("/date", "format", {"format": "date"}, 'must match format "date"')
    created_for = payload.get("created_for")
    if created_for is not None and not isinstance(created_for, str):
        raise _invalid("/created_for", "type", {"type": "string"}, "must be string")
    if isinstance(created_for, str) and len(created_for) > MAX_CREATED_FOR:
        message = f"must NOT have more than {MAX_CREATED_FOR} characters"
        raise _invalid("/created_for", "maxLength", {"limit": MAX_CREATED_FOR}, message)
    code_type = payload.get("code_type", "ACCESS")
    if code_type not in CODE_TYPES:
        raise _invalid("/code_type", "enum", {"allowedValues": list(CODE_TYPES)}, "must be equal to one of the allowed values")
    locators = [k for k in ("lockbox_id", "serial_number", "unit_id") if k in payload]
    if len(locators) != 1:
        message = "must have exactly one of lockbox_id, serial_number, unit_id"
        raise _invalid("", "oneOf", {"passingSchemas": locators}, message)
    lockbox, installation = _code_target(state, request, locators[0], payload[locators[0]])
    if code_type == "SHACKLE" and lockbox["lockbox_type"] != "Sentrilock":
        raise _invalid(
            "/code_type", "lockboxType", {"lockboxType": lockbox["lockbox_type"]}, "SHACKLE codes are for SentriLock only"
        )
    rng = state.rng
    code = "".join(str(rng.randrange(10)) for _ in range(6 if lockbox["lockbox_type"] == "Sentrilock" else 4))
    metadata = {"created_for": created_for or "", "code_type": code_type, "valid_date": valid_date}
    _event_insert(state, lockbox, installation["unit_id"], LockboxEventType.GENERATE_CODE, metadata)
    answer: dict[str, Any] = {"code": code, "lockboxType": lockbox["lockbox_type"]}
    if lockbox["lockbox_type"] in INSTRUCTIONS:
        answer["instructions"] = INSTRUCTIONS[lockbox["lockbox_type"]]
    return json_response(200, answer)


def _is_day(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _code_target(state: State, request: Request, locator: str, value: Any) -> tuple[Row, Row]:
    lockboxes = state.table("lockboxes")
    path = f"/{locator}"
    if locator == "unit_id":
        unit_id = _integer(value, path)
        unit = state.table("units").get(unit_id)
        if unit is None or unit["account_id"] not in request.accounts:
            raise _invalid(path, "exists", {"unit_id": unit_id}, "must be a unit in an account of this token")
        installation = _current_installation(state, unit_id=str(unit_id))
        if installation is None:
            raise _invalid(path, "installed", {"unit_id": unit_id}, "must be a unit with a lockbox installed")
        lockbox = lockboxes.get(installation["lockbox_id"])
        assert lockbox is not None
        return lockbox, installation
    if locator == "lockbox_id":
        lockbox = lockboxes.get(_uuid(value, path))
    else:
        if not isinstance(value, str):
            raise _invalid(path, "type", {"type": "string"}, "must be string")
        lockbox = next((box for box in lockboxes.rows if box["serial_number"] == value), None)
    if lockbox is None or lockbox["account_id"] not in request.accounts:
        raise _invalid(path, "exists", {locator: value}, "must be a lockbox in an account of this token")
    installation = _current_installation(state, lockbox_id=lockbox["id"])
    if installation is None:
        raise _invalid(path, "installed", {locator: value}, "must be a lockbox installed on a unit")
    return lockbox, installation


# --- POST /lockbox_events -------------------------------------------------------------------------


def lockbox_events_create(state: State, request: Request) -> Response:
    events = _events_from_body(request.body)
    lockboxes = state.table("lockboxes")
    planned: list[tuple[Row, Row, dict[str, Any], Row | None]] = []
    seen: set[str] = set()
    for n, event in enumerate(events):
        path = f"/events/{n}"
        lockbox = lockboxes.get(event["lockbox_id"])
        if lockbox is None or lockbox["account_id"] not in request.accounts:
            raise _invalid(
                f"{path}/lockbox_id",
                "exists",
                {"lockbox_id": event["lockbox_id"]},
                "must be a lockbox in an account of this token",
            )
        if lockbox["id"] in seen:
            raise _invalid(
                f"{path}/lockbox_id", "uniqueLockbox", {"lockbox_id": lockbox["id"]}, "must not repeat a lockbox in one request"
            )
        seen.add(lockbox["id"])
        unit = state.table("units").get(event["unit_id"])
        if unit is None or unit["account_id"] != lockbox["account_id"]:
            raise _invalid(f"{path}/unit_id", "exists", {"unit_id": event["unit_id"]}, "must be a unit in the lockbox's account")
        current = _current_installation(state, lockbox_id=lockbox["id"])
        if event["event_type"] == LockboxEventType.INSTALL:
            if current is not None:
                raise _invalid(
                    f"{path}/lockbox_id", "installed", {"unit_id": current["unit_id"]}, "must be a lockbox not installed"
                )
            if _current_installation(state, unit_id=str(unit["id"])) is not None:
                raise _invalid(f"{path}/unit_id", "free", {"unit_id": unit["id"]}, "must be a unit with no lockbox installed")
        elif current is None or current["unit_id"] != str(unit["id"]):
            raise _invalid(
                f"{path}/unit_id", "installed", {"unit_id": unit["id"]}, "must be the unit the lockbox is installed on"
            )
        planned.append((lockbox, unit, event, current))
    created = []
    for lockbox, unit, event, current in planned:
        kind = LockboxEventType(event["event_type"])
        notes = "Installed" if kind == LockboxEventType.INSTALL else "Removed"
        row = _event_insert(state, lockbox, str(unit["id"]), kind, {"installer_id": OWNER_USER_ID, "notes": notes})
        if kind == LockboxEventType.INSTALL:
            installation = {
                "id": uuid_from(state.rng),
                "lockbox_id": lockbox["id"],
                "serial_number": lockbox["serial_number"],
                "unit_id": str(unit["id"]),
                "account_id": lockbox["account_id"],
                "installed_at": row["created_at"],
                "uninstalled_at": None,
            }
            state.table("lockbox_installations").append(installation)
        else:
            assert current is not None
            row_update(state, "lockbox_installations", current, uninstalled_at=row["created_at"])
        created.append(public(row))
    return json_response(201, created)


def _events_from_body(body: bytes) -> list[dict[str, Any]]:
    payload = _body_object(body)
    if "events" not in payload:
        raise _invalid("", "required", {"missingProperty": "events"}, "must have required property 'events'")
    _no_extra(payload, ("events",), "")
    events = payload["events"]
    if not isinstance(events, list):
        raise _invalid("/events", "type", {"type": "array"}, "must be array")
    if not events:
        raise _invalid("/events", "minItems", {"limit": 1}, "must NOT have fewer than 1 items")
    if len(events) > MAX_EVENTS:
        raise _invalid("/events", "maxItems", {"limit": MAX_EVENTS}, f"must NOT have more than {MAX_EVENTS} items")
    parsed = []
    for n, event in enumerate(events):
        path = f"/events/{n}"
        if not isinstance(event, dict):
            raise _invalid(path, "type", {"type": "object"}, "must be object")
        for name in EVENT_FIELDS:
            if name not in event:
                raise _invalid(path, "required", {"missingProperty": name}, f"must have required property '{name}'")
        _no_extra(event, EVENT_FIELDS, path)
        lockbox_id = _uuid(event["lockbox_id"], f"{path}/lockbox_id")
        if event["event_type"] not in POSTABLE_EVENT_TYPES:
            params = {"allowedValues": list(POSTABLE_EVENT_TYPES)}
            raise _invalid(f"{path}/event_type", "enum", params, "must be equal to one of the allowed values")
        unit_id = _integer(event["unit_id"], f"{path}/unit_id")
        parsed.append({"lockbox_id": lockbox_id, "event_type": event["event_type"], "unit_id": unit_id})
    return parsed


def _event_insert(state: State, lockbox: Row, unit_id: str, kind: LockboxEventType, metadata: dict[str, Any]) -> Row:
    event = {
        "id": uuid_from(state.rng),
        "lockbox_id": lockbox["id"],
        "event_type": str(kind),
        "unit_id": unit_id,
        "account_id": lockbox["account_id"],
        "created_at": stamp(state.clock()),
        "metadata": metadata,
    }
    return row_insert(state, "lockbox_events", event)
