"""The control endpoint, `/_simulator/...`: drive the simulator from tests, the demo and a terminal.

No token (the simulator binds to 127.0.0.1). JSON in, JSON out; a bad request is a 400 `{"error"}`.

| method, path | what |
| --- | --- |
| GET /_simulator/health | seed, size, anchor, row counts per table, webhook and fault summary, features `without` |
| GET /_simulator/people | accounts (id, name, time_zone), users (id, names, email, role, account_ids, subteam_id), subteams, owner_user_id |
| GET /_simulator/state?resources=a,b&account_id=X | per table, every row's key fields (ids, status, updated_at, assignees...) |
| POST /_simulator/reset `{"seed"?, "size"?, "anchor"?}` | reseed; clears request log, faults, rate windows, webhook queue and stats |
| GET/POST/DELETE /_simulator/faults, DELETE /_simulator/faults/{id} | list, add (`faults.py` describes a fault), clear all, remove one |
| GET /_simulator/requests?since=SEQ&path=&method=&limit= ; DELETE | the request log (`requestlog.py`); clear it |
| POST /_simulator/activity `{"steps": 1, "kind"?}` | run activity steps now; answers the changes made |
| GET /_simulator/webhooks?recent=N ; POST (settings) | delivery stats and recent attempts; change url/key/retry/duplicate/reorder settings |
| POST /_simulator/rate_limit `{"rate_limit": "30/5s"}` or `{"limit", "window"}`, optional `{"neighbour": N, "spurious_429": p}` | change the rate limit and its shared-budget faults (and reset the windows) |
| POST /_simulator/tokens `{"token", "account_ids"?}` ; DELETE /_simulator/tokens/{token} | accept another token (null account_ids: every account) |
| GET /_simulator/features ; POST `{"without": ["subteams", "prospects.updated_after", ...]}` | the INFERRED features this RentEngine lacks (features.py); a POST replaces the set at once (`[]`: all back); reset keeps it |
"""

from __future__ import annotations

import json
from typing import Any, Protocol
from urllib.parse import parse_qsl

from integrations.rentengine.vocabulary import LOG_NOTE

from .activity import activity_step
from .config import SimulatorConfig, anchor_parse, rate_limit_faults, rate_limit_parse
from .faults import FaultBook
from .features import describe, features_parse
from .lexicon import OWNER_USER_ID
from .messages import Request, Response, error_response, json_response, not_found
from .ratelimit import SlidingWindow
from .requestlog import RequestLog
from .state import Row, State, stamp
from .webhook_sender import WebhookSender
from .writes import leasing_event_add, row_update


class Simulator(Protocol):
    """What the control endpoint drives: the parts of `app.Simulator` it reads and changes."""

    config: SimulatorConfig
    state: State
    limiter: SlidingWindow
    faults: FaultBook
    log: RequestLog
    webhooks: WebhookSender

    def reset(self, *, seed: int | None = None, size: str | None = None, anchor: Any = None) -> None: ...


PREFIX = "/_simulator"

KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "units": ("id", "account_id", "status", "is_occupied", "target_rental_rate", "created_at", "updated_at"),
    "prospects": ("id", "account_id", "status", "phone", "unit_of_interest", "created_at", "updated_at"),
    "leasing_events": ("id", "prospect_id", "event_type", "created_by", "deleted", "created_at"),
    "showings": ("id", "prospect_id", "unit_id", "account_id", "status", "planned_date_time", "agent_user_id", "updated_at"),
    "lockboxes": ("id", "serial_number", "lockbox_type", "account_id", "updated_at"),
    "lockbox_events": ("id", "lockbox_id", "event_type", "unit_id", "account_id", "created_at"),
    "lockbox_installations": ("id", "lockbox_id", "unit_id", "account_id", "installed_at", "uninstalled_at"),
    "subteams": ("id", "account_id", "name", "user_ids", "updated_at"),
    "prescreening_templates": ("id", "account_id", "is_default", "updated_at"),
    "multifamily_properties": ("id", "account_id", "updated_at"),
    "floorplans": ("id", "multifamily_property_id", "updated_at"),
}
WEBHOOK_SETTINGS = (
    "url", "key", "header", "max_attempts", "backoff_seconds", "max_backoff_seconds", "timeout_seconds", "queue_limit", "concurrency",
    "duplicate_probability", "reorder_probability", "reorder_delay_seconds",
)  # fmt: skip


def handle(sim: Simulator, request: Request) -> Response:
    path, method = request.path.rstrip("/") or "/", request.method
    params = dict(_pairs(request.query))
    body = json.loads(request.body) if request.body.strip() else {}
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    if path == "/health" and method == "GET":
        return json_response(200, health(sim))
    if path == "/people" and method == "GET":
        return json_response(200, people(sim))
    if path == "/state" and method == "GET":
        return json_response(200, state_keys(sim, params.get("resources"), params.get("account_id")))
    if path == "/reset" and method == "POST":
        sim.reset(
            seed=body.get("seed"), size=body.get("size"), anchor=anchor_parse(body["anchor"]) if body.get("anchor") else None
        )
        return json_response(200, health(sim))
    if path == "/faults":
        if method == "GET":
            return json_response(200, {"faults": [f.describe() for f in sim.faults.faults]})
        if method == "POST":
            return json_response(201, sim.faults.add(body).describe())
        if method == "DELETE":
            sim.faults.clear()
            return json_response(200, {"faults": []})
    if path.startswith("/faults/") and method == "DELETE":
        return json_response(200, {"removed": sim.faults.remove(path.removeprefix("/faults/"))})
    if path == "/requests":
        if method == "GET":
            limit = int(params["limit"]) if params.get("limit") else None
            rows = sim.log.select(
                since=int(params.get("since") or 0), path=params.get("path"), method=params.get("method"), limit=limit
            )
            return json_response(200, {"requests": rows, "next_seq": sim.log.next_seq})
        if method == "DELETE":
            sim.log.clear()
            return json_response(200, {"requests": [], "next_seq": sim.log.next_seq})
    if path == "/activity" and method == "POST":
        steps = int(body.get("steps", 1))
        return json_response(200, {"changes": [activity_step(sim.state, body.get("kind")) for _ in range(steps)]})
    if path == "/webhooks":
        if method == "POST":
            webhooks_configure(sim, body)
        if method in ("GET", "POST"):
            return json_response(200, sim.webhooks.stats(int(params.get("recent", 200))))
    if path == "/records" and method == "POST":
        return json_response(200, record_change(sim, body))
    if path == "/leasing_events" and method == "POST":
        return json_response(201, leasing_event_note(sim, body))
    if path == "/rate_limit" and method == "POST":
        chosen = rate_limit_parse(body["rate_limit"]) if "rate_limit" in body else None
        settings = sim.config.rate_limit
        settings.limit = chosen.limit if chosen else body.get("limit", settings.limit)
        settings.window = chosen.window if chosen else float(body.get("window", settings.window))
        rate_limit_faults(settings, neighbour=body.get("neighbour"), spurious_429=body.get("spurious_429"))
        sim.limiter.reset()
        return json_response(
            200,
            {
                "limit": settings.limit,
                "window": settings.window,
                "neighbour": settings.neighbour,
                "spurious_429": settings.spurious_429,
            },
        )
    if path == "/tokens" and method == "POST":
        token = body["token"]
        if not isinstance(token, str) or not token:
            raise ValueError("token must be a non-empty string")
        sim.config.tokens[token] = body.get("account_ids")
        return json_response(201, {"token": token, "account_ids": body.get("account_ids")})
    if path.startswith("/tokens/") and method == "DELETE":
        return json_response(200, {"removed": sim.config.tokens.pop(path.removeprefix("/tokens/"), False) is not False})
    if path == "/features":
        if method == "POST":
            if "without" not in body:
                raise ValueError('the body must name the features to be without: {"without": [...]}')
            sim.config.without = features_parse(body["without"])
        if method in ("GET", "POST"):
            return json_response(200, describe(sim.config.without))
    if path in (
        "/records",
        "/leasing_events",
        "/health",
        "/people",
        "/state",
        "/reset",
        "/faults",
        "/requests",
        "/activity",
        "/webhooks",
        "/rate_limit",
        "/tokens",
        "/features",
    ):
        return error_response(405, "Method not allowed")
    return not_found()


def _pairs(query: str) -> list[tuple[str, str]]:
    return parse_qsl(query, keep_blank_values=True)


def health(sim: Simulator) -> dict[str, Any]:
    state = sim.state
    return {
        "ok": True,
        "seed": state.seed,
        "size": state.size,
        "anchor": state.anchor.isoformat().replace("+00:00", "Z"),
        "base_path": "/api/public/v1",
        "counts": {name: len(table.rows) for name, table in state.tables.items()},
        "rate_limit": {"limit": sim.config.rate_limit.limit, "window": sim.config.rate_limit.window},
        "faults": len(sim.faults.faults),
        "webhooks": {k: v for k, v in sim.webhooks.stats(0).items() if k != "recent_attempts"},
        "activity_per_minute": sim.config.activity_per_minute,
        "without": sorted(sim.config.without),
    }


def people(sim: Simulator) -> dict[str, Any]:
    state = sim.state
    return {
        "accounts": state.accounts,
        "users": state.users,
        "subteams": [{k: v for k, v in t.items() if not k.startswith("_")} for t in state.table("subteams").rows],
        "owner_user_id": OWNER_USER_ID,
    }


def state_keys(sim: Simulator, resources: str | None, account_id: str | None) -> dict[str, list[Row]]:
    names = [n.strip() for n in resources.split(",")] if resources else list(KEY_FIELDS)
    unknown = [n for n in names if n not in KEY_FIELDS]
    if unknown:
        raise ValueError(f"unknown resources: {', '.join(unknown)}; known: {', '.join(KEY_FIELDS)}")
    result: dict[str, list[Row]] = {}
    for name in names:
        fields = KEY_FIELDS[name]
        rows = []
        for row in sim.state.table(name).rows:
            account = row.get("account_id", row.get("_account_id"))
            if account_id and account != account_id:
                continue
            key = {f: row.get(f) for f in fields}
            if name == "prospects":
                key["assigned_user_ids"] = list(row["_assignees"])
            if name == "leasing_events":
                key["account_id"] = row["_account_id"]
            rows.append(key)
        result[name] = rows
    return result


def webhooks_configure(sim: Simulator, body: dict[str, Any]) -> None:
    unknown = set(body) - set(WEBHOOK_SETTINGS)
    if unknown:
        raise ValueError(f"unknown webhook settings: {', '.join(sorted(unknown))}")
    for name, value in body.items():
        setattr(sim.webhooks.settings, name, value)


def record_change(sim: Simulator, body: dict[str, Any]) -> dict[str, Any]:
    """Change fields of one row as a person would (an enquiry form, an agent's edit): a new version
    of the row, announced as an UPDATE webhook. Leasing events never change; add one instead."""
    table_name, changes = body.get("table"), body.get("changes")
    if table_name not in ("units", "prospects", "lockboxes") or not isinstance(changes, dict):
        raise ValueError('the body must be {"table": "units"|"prospects"|"lockboxes", "id": ..., "changes": {...}}')
    table = sim.state.table(table_name)
    row = table.get(body.get("id"))
    if row is None:
        raise ValueError(f"no {table_name} row with id {body.get('id')!r}")
    return row_update(sim.state, table_name, row, **changes, updated_at=stamp(sim.state.clock()))


def leasing_event_note(sim: Simulator, body: dict[str, Any]) -> dict[str, Any]:
    """Add a leasing event with the given notes to a prospect (a "Log Note" by default)."""
    prospect = sim.state.table("prospects").get(body.get("prospect_id"))
    if prospect is None:
        raise ValueError(f"no prospect with id {body.get('prospect_id')!r}")
    return leasing_event_add(
        sim.state,
        prospect,
        str(body.get("event_type") or LOG_NOTE),
        source="Leasing Agent",
        created_by=OWNER_USER_ID,
        notes=body.get("notes"),
    )
