"""`--without`: the simulator answers like a RentEngine that lacks some INFERRED features, exactly as
strictly as it answers everything else, and only where asked."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from integrations.rentengine.management.commands.rentengine_simulator import Command
from integrations.rentengine.simulator.config import config_from_arguments
from integrations.rentengine.simulator.features import FEATURES
from integrations.rentengine.simulator.lexicon import MAPLE_ACCOUNT_ID
from tests.support.simulator import SimulatorHandle, running_simulator

ENDPOINTS = ["/lockbox_installations", "/subteams", "/multifamily_properties", "/floorplans"]
WINDOW = {"account_ids": MAPLE_ACCOUNT_ID, "start": "2024-01-01T00:00:00Z", "end": "2024-01-31T00:00:00Z"}


@pytest.fixture
def sim(sim: SimulatorHandle) -> Iterator[SimulatorHandle]:
    sim.set_without()
    yield sim
    sim.set_without()


def get(sim: SimulatorHandle, path: str, **params: object) -> httpx.Response:
    return httpx.get(f"{sim.base_url}{path}", params=params, headers=sim.headers, timeout=10)


def the_only_detail(response: httpx.Response) -> dict:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "Invalid query parameters"
    [detail] = body["details"]
    assert set(detail) >= {"instancePath", "schemaPath", "keyword", "params", "message"}
    return detail


@pytest.mark.parametrize("path", ENDPOINTS)
def test_an_endpoint_the_simulator_is_without_is_a_404_like_any_unknown_path(sim: SimulatorHandle, path: str) -> None:
    feature = path.removeprefix("/")
    assert get(sim, path).status_code == 200
    sim.set_without(feature)
    missing, unknown = get(sim, path), get(sim, "/no_such_thing")
    assert (missing.status_code, missing.json()) == (unknown.status_code, unknown.json()) == (404, {"error": "Not found"})
    assert missing.headers["X-Ratelimit-Limit"] == "30"
    assert httpx.post(f"{sim.base_url}{path}", json={}, headers=sim.headers).status_code == 404, "the path is unknown"
    others = [p for p in ENDPOINTS if p != path]
    assert [get(sim, p).status_code for p in others] == [200, 200, 200], "only that one is gone"
    sim.set_without()
    assert get(sim, path).status_code == 200, "and it comes back at once"


def test_without_prospects_updated_after_the_parameter_is_an_additional_property(sim: SimulatorHandle) -> None:
    sim.set_without("prospects.updated_after")
    detail = the_only_detail(get(sim, "/prospects", updated_after="2024-01-01T00:00:00Z"))
    assert detail["keyword"] == "additionalProperties"
    assert detail["message"] == "must NOT have additional properties"
    assert detail["params"] == {"additionalProperty": "updated_after"}
    assert get(sim, "/prospects", created_after="2024-01-01T00:00:00Z").status_code == 200, "created_after is a fact"
    assert get(sim, "/units", updated_after="2024-01-01T00:00:00Z").status_code == 200, "units keep theirs"


def test_without_units_updated_after_neither_updated_bound_is_declared(sim: SimulatorHandle) -> None:
    sim.set_without("units.updated_after")
    for name in ("updated_after", "updated_before"):
        detail = the_only_detail(get(sim, "/units", **{name: "2024-01-01T00:00:00Z"}))
        assert (detail["keyword"], detail["params"]) == ("additionalProperties", {"additionalProperty": name})
    assert len(get(sim, "/units", limit=100).json()) == len(sim.state("units")["units"]), "listing every unit still works"
    assert get(sim, "/prospects", updated_after="2024-01-01T00:00:00Z").status_code == 200, "prospects keep theirs"


def test_without_the_account_wide_listing_leasing_events_require_a_prospect_id(sim: SimulatorHandle) -> None:
    sim.set_without("leasing_events.account_wide")
    for params in ({}, {"created_after": "2024-01-01T00:00:00Z"}, {"account_id": MAPLE_ACCOUNT_ID}):
        detail = the_only_detail(get(sim, "/leasing_events", **params))
        assert detail["keyword"] == "required"
        assert detail["params"] == {"missingProperty": "prospect_id"}
        assert detail["message"] == "must have required property 'prospect_id'"
    prospect = sim.state("prospects")["prospects"][0]
    page = get(sim, "/leasing_events", prospect_id=prospect["id"])
    assert page.status_code == 200
    expected = [e["id"] for e in sim.state("leasing_events")["leasing_events"] if e["prospect_id"] == prospect["id"]]
    assert [e["id"] for e in page.json()["data"]] == expected


def test_without_reporting_showings_the_token_is_forbidden_whatever_the_query(sim: SimulatorHandle) -> None:
    assert get(sim, "/reporting/showings", **WINDOW).status_code == 200
    sim.set_without("reporting.showings")
    for params in (WINDOW, {}):
        refused = get(sim, "/reporting/showings", **params)
        assert refused.status_code == 403
        assert set(refused.json()) == {"error"}
        assert "reporting" in refused.json()["error"]
        assert refused.headers["X-Ratelimit-Limit"] == "30"
    unit = sim.state("units")["units"][0]
    assert get(sim, "/showings/availability", unitId=unit["id"]).status_code == 200, "availability is not reporting"
    wrong_token = httpx.get(f"{sim.base_url}/reporting/showings", params=WINDOW, headers={"Authorization": "Bearer nope"})
    assert wrong_token.status_code == 401, "a wrong token is still a 401, not a 403"


def test_refused_requests_count_against_the_rate_window_and_are_logged(sim: SimulatorHandle) -> None:
    sim.set_without("subteams", "reporting.showings")
    sim.set_rate_limit("2/5s")
    statuses = [get(sim, "/subteams").status_code, get(sim, "/reporting/showings").status_code, get(sim, "/units").status_code]
    assert statuses == [404, 403, 429]
    assert [r["status"] for r in sim.requests()] == [404, 403, 429]


def test_the_set_is_shown_by_health_kept_by_reset_and_replaced_by_the_next_post(sim: SimulatorHandle) -> None:
    assert sim.without() == []
    assert sim.health()["without"] == []
    assert sim.set_without("subteams", "prospects.updated_after,units.updated_after") == [
        "prospects.updated_after",
        "subteams",
        "units.updated_after",
    ]
    sim.reset()
    assert sim.health()["without"] == ["prospects.updated_after", "subteams", "units.updated_after"]
    assert get(sim, "/subteams").status_code == 404
    assert sim.set_without("floorplans") == ["floorplans"]
    assert get(sim, "/subteams").status_code == 200
    assert sorted(sim.set_without("all")) == sorted(FEATURES)
    features = sim.control("GET", "/features")
    assert features["features"] == list(FEATURES)


def test_an_unknown_feature_is_refused_with_the_known_ones(sim: SimulatorHandle) -> None:
    response = httpx.post(f"{sim.control_url}/features", json={"without": ["subteams", "webhooks"]})
    assert response.status_code == 400
    assert "unknown features: webhooks" in response.json()["error"]
    assert "leasing_events.account_wide" in response.json()["error"]
    assert sim.without() == [], "nothing changed"
    assert httpx.post(f"{sim.control_url}/features", json={}).status_code == 400, "the set must be given"


def test_both_launchers_take_without_from_the_command_line() -> None:
    parser = Command().create_parser("manage.py", "rentengine_simulator")
    options = vars(parser.parse_args(["--without", "subteams,floorplans", "--without", "reporting.showings"]))
    assert config_from_arguments(options).without == {"subteams", "floorplans", "reporting.showings"}
    with pytest.raises(ValueError, match="unknown features: nope"):
        config_from_arguments(vars(parser.parse_args(["--without", "nope"])))
    with running_simulator(size="small", without=["lockbox_installations", "units.updated_after"]) as started:
        assert started.health()["without"] == ["lockbox_installations", "units.updated_after"]
        assert any("without lockbox_installations, units.updated_after" in line for line in started.output)
        assert get(started, "/lockbox_installations").status_code == 404
