"""A local RentEngine: the Public API v1 as ../shared/rentengine/API-FACTS.md describes it (and its Gaps
table where facts are missing), strict rather than friendly, with seeded data, webhooks and faults.

Run it with `python manage.py rentengine_simulator --port 8765` (or `python -m
integrations.rentengine.simulator`); drive it from tests with tests/support/simulator.py. It imports
only the standard library, installed packages and `integrations.rentengine.vocabulary`: never the
mirror or the dashboard, and its state lives in its own memory.

The wire contract (also in openapi.json, served at /api/public/v1/openapi.json without a token):

* Base `/api/public/v1`; `Authorization: Bearer <token>`; a missing or wrong token is a 401
  `{"error": "..."}`. A token spans the accounts it was given; a list without an account filter returns
  the rows of all of them.
* Errors: `{"error": str, "details": [{instancePath, schemaPath, keyword, params, message}]}` (Ajv).
  Query problems are 400 `"Invalid query parameters"`: an unknown parameter "must NOT have additional
  properties", a bad date-time `must match format "date-time"`, `limit` over 100 "must be <= 100" (no
  clamping). Unknown paths are 404 `{"error": "Not found"}`; a known path with another method is 405.
* Lists: `limit` (default 50, max 100; reporting 2000), `page_number` 0-indexed; ordered by
  `created_at` then `id` (installations by `installed_at`, reporting by `planned_date_time`); array
  filters comma-separated; unknown ids select nothing; `*_after`/`*_before`/`*_from`/`*_to` inclusive.
  Bare arrays, except GET /leasing_events and /reporting/* which answer `{"data": [...], "page":
  {"limit", "page_number", "has_more", "next_page_number"}}`.
* Timestamps `2024-10-05T18:53:03.406168Z`. Every API response has `X-Ratelimit-Limit: 30`; past 30
  accepted requests in a sliding 5 s window per token: 429 with `Retry-After` seconds.
* Endpoints: GET /units, /prospects, /leasing_events, /lockboxes, /lockbox_events,
  /lockbox_installations, /subteams, /prescreening_templates, /multifamily_properties, /floorplans,
  /showings/availability, /reporting/showings; POST /leasing_events (exactly one "Assign to User"
  event; assignees must be users of the prospect's account; `applyActionInBulk` covers every prospect
  of that account with the same phone; 201 with `prospect`, not `prospect_id`, and
  `context.previousAssignedToUserIds`).
* Webhooks: every change is POSTed as `{type, table, record, old_record, schema}` with the raw row,
  `X-API-Key`, `Upstash-Message-Id` (stable across retries) and `Upstash-Retried`; retried with
  exponential backoff; duplicates and reordering on request.
* INFERRED features can be taken away, to test a client's fallbacks: `--without FEATURE[,...]` (or
  `POST /_simulator/features`) makes GET /lockbox_installations, /subteams, /multifamily_properties
  or /floorplans a 404, drops `updated_after` from /prospects or /units (a 400 "must NOT have
  additional properties"), makes `prospect_id` required on GET /leasing_events, or answers GET
  /reporting/showings with a 403 (features.py lists them and says why).

Outside the API: `/_simulator/...`, the control endpoint (control.py): people, state, reset, faults,
request log, activity, webhook stats and settings, rate limit, tokens, features.

Modules: config (options), server (uvicorn, signals), app (ASGI routing, auth, rate limit, faults,
log), endpoints / showings / assignments (the API), features (what `--without` takes away),
validation (Ajv-style errors), state (tables, cached JSON), seed + seed_prospects + seed_lockboxes +
lexicon (data), rows (record and webhook shapes), writes (every change, announced), activity (living
data), webhooks (delivery), faults, ratelimit, requestlog, control, wire (request/response values).
"""
