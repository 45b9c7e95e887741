"""The simulator answers like RentEngine: auth, shapes, paging, strict validation, account scope."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import httpx

from integrations.rentengine.simulator.lexicon import BIRCH_ACCOUNT_ID, MAPLE_ACCOUNT_ID
from tests.support.simulator import SimulatorHandle


def get(sim: SimulatorHandle, path: str, **params: object) -> httpx.Response:
    return httpx.get(f"{sim.base_url}{path}", params=params, headers=sim.headers, timeout=10)


def assert_query_error(response: httpx.Response, keyword: str, message: str) -> dict:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "Invalid query parameters"
    [detail] = body["details"]
    assert detail["keyword"] == keyword
    assert detail["message"] == message
    assert set(detail) >= {"instancePath", "schemaPath", "keyword", "params", "message"}
    return detail


# --- auth and headers -------------------------------------------------------------------------------


def test_a_request_without_a_token_gets_401_with_the_error_body(sim: SimulatorHandle) -> None:
    response = httpx.get(f"{sim.base_url}/units")
    assert response.status_code == 401
    assert isinstance(response.json()["error"], str)


def test_a_wrong_token_gets_401_with_the_error_body(sim: SimulatorHandle) -> None:
    response = httpx.get(f"{sim.base_url}/units", headers={"Authorization": "Bearer not-the-token"})
    assert response.status_code == 401
    assert isinstance(response.json()["error"], str)


def test_every_api_response_carries_x_ratelimit_limit(sim: SimulatorHandle) -> None:
    answers = [
        get(sim, "/units"),
        get(sim, "/units", account_id=MAPLE_ACCOUNT_ID),
        httpx.get(f"{sim.base_url}/units"),
        get(sim, "/no_such_thing"),
    ]
    assert [a.status_code for a in answers] == [200, 400, 401, 404]
    assert all(a.headers["X-Ratelimit-Limit"] == "30" for a in answers)


def test_the_openapi_document_is_served_without_a_token(sim: SimulatorHandle) -> None:
    document = httpx.get(f"{sim.base_url}/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert "/leasing_events" in document["paths"]


def test_an_unknown_path_is_a_404_and_a_wrong_method_a_405(sim: SimulatorHandle) -> None:
    assert get(sim, "/calls").json() == {"error": "Not found"}
    response = httpx.post(f"{sim.base_url}/units", json={}, headers=sim.headers)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    assert "not in the simulator" in response.json()["error"]


# --- shapes -----------------------------------------------------------------------------------------


def test_units_are_a_bare_array_with_the_live_oddities(sim: SimulatorHandle) -> None:
    units = get(sim, "/units", limit=100).json()
    assert isinstance(units, list)
    assert len(units) == 50
    unit = units[0]
    assert isinstance(unit["id"], int)
    assert {"formatted_address", "city", "state", "zip_code", "coordinates"} <= set(unit["address"])
    assert all(isinstance(u["bedrooms"], str) and isinstance(u["sqft"], str) for u in units)
    rates = {type(u["target_rental_rate"]) for u in units}
    assert rates == {int, str}, "most rents are numbers, some numeric strings"
    amounts = {type(fee["amount"]) for u in units for fee in u["monthly_fees"] + u["move_in_fees"] + u["pet_fees"]}
    assert amounts >= {str}
    assert amounts & {int, float}
    assert any(u["highlighted_amenities"] == "None" for u in units)
    assert {"subteam_id", "prescreen_template_id", "showing_method", "is_occupied", "marketing_photos"} <= set(unit)
    statuses = [u["status"] for u in units]
    assert statuses.count("Leased") > len(units) / 2


def test_prospects_are_a_bare_array_with_integer_ids_and_account_ids(sim: SimulatorHandle) -> None:
    prospects = get(sim, "/prospects", limit=100).json()
    assert len(prospects) == 100
    first = prospects[0]
    assert isinstance(first["id"], int)
    assert {
        "name",
        "email",
        "phone",
        "status",
        "source",
        "unit_of_interest",
        "account_id",
        "prospect_type",
        "prescreened",
    } <= set(first)
    assert first["created_at"].endswith("Z")
    assert len(first["created_at"]) == len("2024-10-05T18:53:03.406168Z")


def test_leasing_events_come_in_an_envelope(sim: SimulatorHandle) -> None:
    body = get(sim, "/leasing_events", limit=5).json()
    assert set(body) == {"data", "page"}
    assert body["page"] == {"limit": 5, "page_number": 0, "has_more": True, "next_page_number": 1}
    event = body["data"][0]
    assert {"id", "prospect_id", "event_type", "context", "created_by", "property_address", "unit_of_interest", "deleted"} <= set(
        event
    )


def test_lockbox_events_carry_unit_id_as_a_string_and_metadata(sim: SimulatorHandle) -> None:
    events = get(sim, "/lockbox_events", limit=100).json()
    assert all(isinstance(e["unit_id"], str) for e in events)
    codes = [e for e in events if e["event_type"] == "Generate Code"]
    assert codes
    assert {"created_for", "code_type", "valid_date"} <= set(codes[0]["metadata"])
    installs = get(sim, "/lockbox_events", event_types="Install,Uninstall", limit=100).json()
    assert installs
    assert all("installer_id" in e["metadata"] for e in installs)


def test_subteams_list_member_user_ids_and_installations_follow_lockbox_events(sim: SimulatorHandle) -> None:
    subteams = get(sim, "/subteams").json()
    assert len(subteams) == 3
    assert all(team["user_ids"] for team in subteams)
    installations = get(sim, "/lockbox_installations", limit=100).json()
    open_ones = [i for i in installations if i["uninstalled_at"] is None]
    assert open_ones
    assert all(isinstance(i["unit_id"], str) for i in installations)


def test_showing_availability_is_wrapped_and_unknown_units_are_404(sim: SimulatorHandle) -> None:
    unit_id = get(sim, "/units", limit=1).json()[0]["id"]
    availability = get(sim, "/showings/availability", unitId=unit_id).json()["availability"]
    assert availability["unitId"] == unit_id
    assert availability["availableShowingWindows"]
    assert availability["timezoneName"].startswith("America/")
    assert get(sim, "/showings/availability", unitId=1).status_code == 404
    assert_query_error(get(sim, "/showings/availability"), "required", "must have required property 'unitId'")


def test_reporting_showings_needs_account_ids_and_at_most_32_days(sim: SimulatorHandle) -> None:
    assert_query_error(
        get(sim, "/reporting/showings", start="2026-01-01T00:00:00Z", end="2026-01-02T00:00:00Z"),
        "required",
        "must have required property 'account_ids'",
    )
    too_long = get(
        sim, "/reporting/showings", account_ids=MAPLE_ACCOUNT_ID, start="2026-01-01T00:00:00Z", end="2026-03-01T00:00:00Z"
    )
    assert too_long.status_code == 400
    anchor = sim.health()["anchor"]
    start = (datetime.fromisoformat(anchor) - timedelta(days=30)).isoformat()
    body = get(
        sim, "/reporting/showings", account_ids=f"{MAPLE_ACCOUNT_ID},{BIRCH_ACCOUNT_ID}", start=start, end=anchor, limit=2000
    ).json()
    assert body["data"], "a month of showings"
    row = body["data"][0]
    assert {
        "showing_id",
        "prospect_id",
        "property_address",
        "prospect_name",
        "status",
        "planned_date_time",
        "showing_agent",
    } <= set(row)
    planned = [r["planned_date_time"] for r in body["data"]]
    assert planned == sorted(planned)


# --- paging -----------------------------------------------------------------------------------------


def test_a_page_exactly_limit_long_is_followed_by_an_empty_page(sim: SimulatorHandle) -> None:
    first, second, third = (get(sim, "/units", limit=25, page_number=n).json() for n in range(3))
    assert len(first) == len(second) == 25
    assert third == []
    assert get(sim, "/units", limit=25, page_number=40).json() == []
    assert {u["id"] for u in first}.isdisjoint({u["id"] for u in second})


def test_pages_walk_every_row_once_in_created_at_then_id_order(sim: SimulatorHandle) -> None:
    seen, page = [], 0
    while True:
        rows = get(sim, "/prospects", limit=100, page_number=page).json()
        seen += rows
        if len(rows) < 100:
            break
        page += 1
    assert [p["id"] for p in seen] == [p["id"] for p in sim.state("prospects")["prospects"]]
    keys = [(p["created_at"], p["id"]) for p in seen]
    assert keys == sorted(keys)


def test_the_envelope_says_when_there_is_no_more(sim: SimulatorHandle) -> None:
    events = sim.state("leasing_events")["leasing_events"]
    prospect_id = max(events, key=lambda e: sum(1 for x in events if x["prospect_id"] == e["prospect_id"]))["prospect_id"]
    count = sum(1 for e in events if e["prospect_id"] == prospect_id)
    exact = get(sim, "/leasing_events", prospect_id=prospect_id, limit=count).json()
    assert len(exact["data"]) == count
    assert exact["page"]["has_more"] is False
    assert exact["page"]["next_page_number"] is None
    assert get(sim, "/leasing_events", prospect_id=prospect_id, limit=count, page_number=1).json()["data"] == []


# --- validation -------------------------------------------------------------------------------------


def test_an_unknown_query_parameter_is_rejected_with_ajv_details(sim: SimulatorHandle) -> None:
    detail = assert_query_error(
        get(sim, "/units", account_id=MAPLE_ACCOUNT_ID), "additionalProperties", "must NOT have additional properties"
    )
    assert detail["params"] == {"additionalProperty": "account_id"}
    for name in ("offset", "page"):
        assert_query_error(get(sim, "/prospects", **{name: 1}), "additionalProperties", "must NOT have additional properties")


def test_a_limit_over_100_is_rejected_not_clamped(sim: SimulatorHandle) -> None:
    detail = assert_query_error(get(sim, "/prospects", limit=101), "maximum", "must be <= 100")
    assert detail["instancePath"] == "/limit"
    assert_query_error(get(sim, "/prospects", limit=0), "minimum", "must be >= 1")
    assert_query_error(get(sim, "/prospects", page_number="two"), "type", "must be integer")
    assert_query_error(get(sim, "/prospects", page_number=-1), "minimum", "must be >= 0")


def test_a_bare_date_is_not_a_date_time(sim: SimulatorHandle) -> None:
    detail = assert_query_error(get(sim, "/prospects", created_after="2024-01-01"), "format", 'must match format "date-time"')
    assert detail["instancePath"] == "/created_after"
    assert get(sim, "/prospects", created_after="2024-01-01T00:00:00+00:00").status_code == 200
    assert get(sim, "/prospects", created_after="2024-01-01T00:00:00-05:00").status_code == 200


def test_array_filters_are_comma_separated_and_checked(sim: SimulatorHandle) -> None:
    units = get(sim, "/units", statuses="Available,On Hold", limit=100).json()
    assert units
    assert {u["status"] for u in units} <= {"Available", "On Hold"}
    detail = assert_query_error(
        get(sim, "/units", statuses="Available,Rented"), "enum", "must be equal to one of the allowed values"
    )
    assert detail["instancePath"] == "/statuses/1"
    assert_query_error(get(sim, "/units", unitIds="12,abc"), "type", "must be integer")
    assert_query_error(get(sim, "/lockboxes", lockbox_ids="not-a-uuid"), "format", 'must match format "uuid"')


def test_unknown_ids_in_filters_select_nothing(sim: SimulatorHandle) -> None:
    assert get(sim, "/units", unitIds="1,2").json() == []
    assert get(sim, "/lockboxes", lockbox_ids=str(uuid.uuid4())).json() == []
    assert get(sim, "/units", accountId=str(uuid.uuid4())).json() == []
    assert get(sim, "/leasing_events", prospect_id=1).json()["data"] == []


def test_created_after_is_inclusive(sim: SimulatorHandle) -> None:
    prospect = get(sim, "/prospects", limit=1, page_number=7).json()[0]
    rows = get(sim, "/prospects", created_after=prospect["created_at"], limit=1).json()
    assert rows[0]["id"] == prospect["id"]


def test_updated_after_finds_rows_changed_since(sim: SimulatorHandle) -> None:
    before = sim.health()["anchor"]
    [change] = sim.activity(kind="unit")
    rows = get(sim, "/units", updated_after=before).json()
    assert [u["id"] for u in rows] == [change["id"]]


# --- accounts ---------------------------------------------------------------------------------------


def test_a_token_spans_the_accounts_it_was_given(sim: SimulatorHandle) -> None:
    both = {p["account_id"] for p in get(sim, "/prospects", limit=100).json()}
    assert both == {MAPLE_ACCOUNT_ID, BIRCH_ACCOUNT_ID}
    sim.add_token("birch-only", [BIRCH_ACCOUNT_ID])
    birch = {"Authorization": "Bearer birch-only"}
    rows = httpx.get(f"{sim.base_url}/prospects", params={"limit": 100}, headers=birch).json()
    assert rows
    assert {p["account_id"] for p in rows} == {BIRCH_ACCOUNT_ID}
    assert httpx.get(f"{sim.base_url}/units", params={"accountId": MAPLE_ACCOUNT_ID}, headers=birch).json() == []
    maple_units = get(sim, "/units", accountId=MAPLE_ACCOUNT_ID, limit=100).json()
    assert maple_units
    assert {u["account_id"] for u in maple_units} == {MAPLE_ACCOUNT_ID}


def test_leasing_events_are_listed_account_wide_by_created_at(sim: SimulatorHandle) -> None:
    events = sim.state("leasing_events")["leasing_events"]
    after, before = events[-40]["created_at"], events[-10]["created_at"]
    expected = [e["id"] for e in events if after <= e["created_at"] <= before]
    body = get(sim, "/leasing_events", created_after=after, created_before=before, limit=100).json()
    assert [e["id"] for e in body["data"]] == expected
    birch = get(sim, "/leasing_events", created_after=after, account_id=BIRCH_ACCOUNT_ID, limit=100).json()["data"]
    assert [e["id"] for e in birch] == [
        e["id"] for e in events if e["created_at"] >= after and e["account_id"] == BIRCH_ACCOUNT_ID
    ]
