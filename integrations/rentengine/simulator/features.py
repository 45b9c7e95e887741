"""A RentEngine without some of its INFERRED features, so the client's fallbacks can be tested.

API-FACTS marks several endpoints and parameters INFERRED: the simulator offers them all by default,
but the real service may lack any of them. `--without FEATURE[,FEATURE...]` on the command line, or
`POST /_simulator/features {"without": [...]}` at run time (kept across `/reset`, like tokens), makes
the simulator answer as a RentEngine that lacks them:

| feature | without it |
| --- | --- |
| `lockbox_installations` | GET /lockbox_installations is a 404 `{"error": "Not found"}`, like any unknown path |
| `subteams` | GET /subteams: the same 404 |
| `multifamily_properties` | GET /multifamily_properties: the same 404 (POST too: the path is unknown) |
| `floorplans` | GET /floorplans: the same 404 (POST too) |
| `prospects.updated_after` | GET /prospects no longer declares `updated_after`: sending it is a 400 "must NOT have additional properties" |
| `units.updated_after` | GET /units declares neither `updated_after` nor `updated_before` (one newer-docs reading, CODE, gave both): the same 400 |
| `leasing_events.account_wide` | GET /leasing_events requires `prospect_id` (the only way public code lists events, CODE): a listing without it is a 400 Ajv `required` error naming `prospect_id` |
| `reporting.showings` | GET /reporting/showings is a 403 `{"error": "..."}`, whatever the query |
| `all` | every feature above |

Why 403 for reporting: the endpoint itself is LIVE (public code read showings from it), so the path
exists; "unavailable to a token" means the token's user may not use it (a token carries exactly the
permissions of the user who made it, API-FACTS 1.2). RentEngine answers a wrong or missing token with
401 on every operation, and documents 403 with the same error body for "this user lacks access"
(POST /lockboxes/transfer_accounts); a 404 would deny a path we know exists.

The refusals come after authentication and the rate limit (the request counts against the window)
and before query validation. Webhooks are unaffected: none of these features is a webhook table.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from .messages import Request, Response, error_response

if TYPE_CHECKING:
    from .validation import Param

# feature -> the GET path that answers 404 without it
ENDPOINTS = {
    "lockbox_installations": "/lockbox_installations",
    "subteams": "/subteams",
    "multifamily_properties": "/multifamily_properties",
    "floorplans": "/floorplans",
}
# feature -> (path, the query parameters it no longer declares without it)
PARAMETERS = {
    "prospects.updated_after": ("/prospects", ("updated_after",)),
    "units.updated_after": ("/units", ("updated_after", "updated_before")),
}
# feature -> (path, the query parameter that becomes required without it)
REQUIRED = {"leasing_events.account_wide": ("/leasing_events", "prospect_id")}
# feature -> (path, the 403 error text without it)
FORBIDDEN = {"reporting.showings": ("/reporting/showings", "This token's user has no access to reporting")}

FEATURES = (*ENDPOINTS, *PARAMETERS, *REQUIRED, *FORBIDDEN)
ALL = "all"


def features_parse(values: object) -> set[str]:
    """`"a,b"`, `["a", "b,c"]` or None into a set of known features (`all`: every one); a
    ValueError names the known ones."""
    if values is None:
        return set()
    items = [values] if isinstance(values, str) else values
    if not isinstance(items, list | tuple | set | frozenset):
        raise ValueError("without must be a list of feature names")
    names = {part.strip() for item in items for part in str(item).split(",") if part.strip()}
    if ALL in names:
        return set(FEATURES)
    unknown = sorted(names - set(FEATURES))
    if unknown:
        raise ValueError(f"unknown features: {', '.join(unknown)}; known: {', '.join(FEATURES)} (or {ALL})")
    return names


def path_hidden(path: str, without: frozenset[str] | set[str]) -> bool:
    """Is this path unknown to a RentEngine without these features? (Then every method on it is a
    404, as on any unknown path.)"""
    return any(ENDPOINTS[f] == path for f in without if f in ENDPOINTS)


def refusal(request: Request) -> Response | None:
    """The 403 of a feature this token may not use, or None."""
    for feature in request.without:
        if feature in FORBIDDEN and FORBIDDEN[feature][0] == request.path:
            return error_response(403, FORBIDDEN[feature][1])
    return None


def declared(spec: dict[str, Param], request: Request) -> dict[str, Param]:
    """The query parameters `request.path` declares on this RentEngine: `spec` less the parameters of
    absent features, with the ones they make required marked so."""
    if not request.without:
        return spec
    changed = dict(spec)
    for feature in request.without:
        if feature in PARAMETERS and PARAMETERS[feature][0] == request.path:
            for name in PARAMETERS[feature][1]:
                changed.pop(name, None)
        if feature in REQUIRED and REQUIRED[feature][0] == request.path:
            name = REQUIRED[feature][1]
            changed[name] = replace(changed[name], required=True)
    return changed


def describe(without: frozenset[str] | set[str]) -> dict[str, object]:
    return {"without": sorted(without), "features": list(FEATURES)}
