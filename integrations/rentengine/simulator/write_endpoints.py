"""POST /leasing_events: the one write the API supports today (docs-page.txt, API-FACTS 2.8).

Body `{"events": [exactly one event]}`; only "Assign to User"; `context.assignedToUserIds` must be a
non-empty list of users of the prospect's account; `context.applyActionInBulk` also assigns every
prospect of that account with the same phone number. Answers 201 with one event per prospect
assigned, in the POST shape (`prospect`, not `prospect_id`), each carrying that prospect's
`previousAssignedToUserIds`. Nothing is written unless the whole request is valid.
"""

from __future__ import annotations

import json
from typing import Any

from integrations.rentengine.vocabulary import LEASING_EVENT_SOURCES_WRITABLE, LEASING_EVENT_TYPES_WRITABLE

from .lexicon import OWNER_USER_ID
from .messages import Request, Response, json_response
from .row_shapes import leasing_event_post_shape
from .state import State
from .validation import BODY_ERROR, UUID, Invalid, detail
from .writes import prospect_assign

EVENT_FIELDS = ("prospect_id", "event_type", "source", "notes", "context")


def _invalid(path: str, keyword: str, params: dict[str, Any], message: str, error: str = BODY_ERROR) -> Invalid:
    return Invalid(error, [detail(path, keyword, params, message, f"#{path.replace('/0', '/items')}/{keyword}")])


def leasing_events_create(state: State, request: Request) -> Response:
    event = _event_from_body(request.body)
    prospect = state.table("prospects").get(event["prospect_id"])
    if prospect is None or prospect["account_id"] not in request.accounts:
        raise _invalid(
            "/events/0/prospect_id",
            "exists",
            {"prospect_id": event["prospect_id"]},
            "must be a prospect in an account of this token",
        )
    context = event["context"]
    allowed = state.account_user_ids(prospect["account_id"])
    user_ids = list(dict.fromkeys(u.lower() for u in context["assignedToUserIds"]))
    for n, user_id in enumerate(user_ids):
        if user_id not in allowed:
            raise _invalid(
                f"/events/0/context/assignedToUserIds/{n}",
                "userOfAccount",
                {"userId": user_id},
                "must be a user of the prospect's account",
            )
    targets = [prospect]
    if context.get("applyActionInBulk") and prospect["phone"]:
        for other_id in state.phones.get((prospect["account_id"], prospect["phone"]), []):
            other = state.table("prospects").get(other_id)
            if other is not None and other["id"] != prospect["id"]:
                targets.append(other)
    owner = state.user(OWNER_USER_ID)
    created = []
    for target in targets:
        row = prospect_assign(
            state,
            target,
            user_ids,
            source=event.get("source"),
            notes=event.get("notes"),
            created_by=OWNER_USER_ID,
            role=owner["role"] if owner else "Property Manager",
        )
        created.append(leasing_event_post_shape(row))
    return json_response(201, created)


def _event_from_body(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        raise Invalid("Invalid JSON in request body") from None
    if not isinstance(payload, dict):
        raise _invalid("", "type", {"type": "object"}, "must be object")
    if "events" not in payload:
        raise _invalid("", "required", {"missingProperty": "events"}, "must have required property 'events'")
    extra = next((k for k in payload if k != "events"), None)
    if extra is not None:
        raise _invalid("", "additionalProperties", {"additionalProperty": extra}, "must NOT have additional properties")
    events = payload["events"]
    if not isinstance(events, list):
        raise _invalid("/events", "type", {"type": "array"}, "must be array")
    if len(events) < 1:
        raise _invalid("/events", "minItems", {"limit": 1}, "must NOT have fewer than 1 items")
    if len(events) > 1:
        raise _invalid("/events", "maxItems", {"limit": 1}, "must NOT have more than 1 items")
    event = events[0]
    if not isinstance(event, dict):
        raise _invalid("/events/0", "type", {"type": "object"}, "must be object")
    for name in ("prospect_id", "event_type"):
        if name not in event:
            raise _invalid("/events/0", "required", {"missingProperty": name}, f"must have required property '{name}'")
    extra = next((k for k in event if k not in EVENT_FIELDS), None)
    if extra is not None:
        raise _invalid("/events/0", "additionalProperties", {"additionalProperty": extra}, "must NOT have additional properties")
    prospect_id = event["prospect_id"]
    if isinstance(prospect_id, bool) or not isinstance(prospect_id, int | float):
        raise _invalid("/events/0/prospect_id", "type", {"type": "number"}, "must be number")
    if event["event_type"] not in LEASING_EVENT_TYPES_WRITABLE:
        raise _invalid(
            "/events/0/event_type",
            "enum",
            {"allowedValues": list(LEASING_EVENT_TYPES_WRITABLE)},
            "must be equal to one of the allowed values",
        )
    if "source" in event and event["source"] not in LEASING_EVENT_SOURCES_WRITABLE:
        allowed = [str(s) for s in LEASING_EVENT_SOURCES_WRITABLE]
        raise _invalid("/events/0/source", "enum", {"allowedValues": allowed}, "must be equal to one of the allowed values")
    if "notes" in event and not isinstance(event["notes"], str):
        raise _invalid("/events/0/notes", "type", {"type": "string"}, "must be string")
    context = event.get("context")
    if not isinstance(context, dict):
        if context is None and "context" not in event:
            raise _invalid("/events/0", "required", {"missingProperty": "context"}, "must have required property 'context'")
        raise _invalid("/events/0/context", "type", {"type": "object"}, "must be object")
    assigned = context.get("assignedToUserIds")
    if "assignedToUserIds" not in context:
        message = "must have required property 'assignedToUserIds'"
        raise _invalid("/events/0/context", "required", {"missingProperty": "assignedToUserIds"}, message)
    if not isinstance(assigned, list):
        raise _invalid("/events/0/context/assignedToUserIds", "type", {"type": "array"}, "must be array")
    if not assigned:
        raise _invalid("/events/0/context/assignedToUserIds", "minItems", {"limit": 1}, "must NOT have fewer than 1 items")
    for n, user_id in enumerate(assigned):
        if not isinstance(user_id, str) or not UUID.fullmatch(user_id):
            path = f"/events/0/context/assignedToUserIds/{n}"
            raise _invalid(path, "format", {"format": "uuid"}, 'must match format "uuid"')
    bulk = context.get("applyActionInBulk", False)
    if not isinstance(bulk, bool):
        raise _invalid("/events/0/context/applyActionInBulk", "type", {"type": "boolean"}, "must be boolean")
    if isinstance(prospect_id, float):
        if not prospect_id.is_integer():
            raise _invalid(
                "/events/0/prospect_id", "exists", {"prospect_id": prospect_id}, "must be a prospect in an account of this token"
            )
        event["prospect_id"] = int(prospect_id)
    return event
