"""The client against the RentEngine simulator over real HTTP: every endpoint, faults, one assignment.

One small simulator per module (reset before each test); each test gets its own in-process limiter at
the production defaults (28 per 5 s against the simulator's 30), so the simulator's request log shows
what the real service would see.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from integrations.rentengine.client import (
    AvailabilityRecord,
    InvalidRequest,
    Page,
    Record,
    RentEngineClient,
    ServerError,
    TokenRejected,
    TransportError,
)
from integrations.rentengine.limiter import Lane, Limiter, LimiterConfig, limiter_create
from tests.support.simulator import SimulatorHandle, running_simulator

MAPLE = "6ecca3ec-0000-4000-8000-00000000a001"
BIRCH = "c26fbfed-0000-4000-8000-00000000b002"


@pytest.fixture(scope="module")
def sim_server() -> Iterator[SimulatorHandle]:
    with running_simulator(size="small", seed=1) as sim:
        yield sim


@pytest.fixture
def sim(sim_server: SimulatorHandle) -> SimulatorHandle:
    sim_server.reset()
    sim_server.set_rate_limit("30/5s")
    return sim_server


@pytest.fixture
def limiter() -> Limiter:
    return limiter_create(config=LimiterConfig(), prefix=f"test-sim-client:{uuid.uuid4().hex}:")


@pytest.fixture
def client(sim: SimulatorHandle, limiter: Limiter) -> Iterator[RentEngineClient]:
    with RentEngineClient(
        base_url=sim.base_url, token=sim.token, limiter=limiter, lane=Lane.BACKFILL, backoff_base=0.05
    ) as rentengine:
        yield rentengine


def ids_of(pages: Iterator[Page[Any]], field: str = "id") -> list[Any]:
    collected: list[Any] = []
    for page in pages:
        assert page.skipped == [], f"page {page.page_number} dropped records: {page.skipped}"
        collected += [getattr(record, field) for record in page.records]
    return collected


def state_ids(sim: SimulatorHandle, resource: str) -> set[Any]:
    return {row["id"] for row in sim.state(resource)[resource]}


def number(value: Any) -> Any:
    """The simulator's key fields keep wire types (a unit id may be a string there): compare as text."""
    return str(value)


LIST_ENDPOINTS = ["units", "prospects", "leasing_events", "lockboxes", "lockbox_events", "lockbox_installations", "subteams",
                  "prescreening_templates", "multifamily_properties"]  # fmt: skip


# --- reading every endpoint -----------------------------------------------------------------------


@pytest.mark.parametrize("resource", LIST_ENDPOINTS)
def test_paging_an_endpoint_to_the_end_returns_every_row_the_simulator_has(
    sim: SimulatorHandle, client: RentEngineClient, resource: str
) -> None:
    fetched = ids_of(getattr(client, resource)())
    assert len(fetched) == len(set(fetched)), "a row came twice"
    assert {number(i) for i in fetched} == {number(i) for i in state_ids(sim, resource)}
    assert client.stats.http_429 == 0


def test_floorplans_are_read_per_multifamily_property(sim: SimulatorHandle, client: RentEngineClient) -> None:
    fetched: list[Any] = []
    for property_id in ids_of(client.multifamily_properties()):
        fetched += ids_of(client.floorplans(multifamily_property_id=property_id))
    assert set(fetched) == state_ids(sim, "floorplans")


def test_showings_come_from_reporting_in_windows_of_at_most_32_days(sim: SimulatorHandle, client: RentEngineClient) -> None:
    showings = sim.state("showings")["showings"]
    planned = sorted(datetime.fromisoformat(s["planned_date_time"].replace("Z", "+00:00")) for s in showings)
    fetched: set[int] = set()
    start = planned[0]
    while start <= planned[-1]:
        end = start + timedelta(days=32)
        fetched |= set(ids_of(client.reporting_showings([MAPLE, BIRCH], start, end), field="showing_id"))
        start = end
    assert fetched == {s["id"] for s in showings}


def test_a_small_limit_walks_every_page_and_ends_on_the_empty_one(sim: SimulatorHandle, client: RentEngineClient) -> None:
    pages = list(client.units(limit=10))  # 50 units: five full pages, then an empty one
    assert [p.received for p in pages] == [10, 10, 10, 10, 10, 0]
    sent = [dict(r["query"]) for r in sim.requests(path="/units")]
    assert [q["page_number"] for q in sent] == ["0", "1", "2", "3", "4", "5"]
    assert all(q["limit"] == "10" for q in sent)


def test_filters_use_the_real_parameter_names(sim: SimulatorHandle, client: RentEngineClient) -> None:
    maple_units = ids_of(client.units(account_id=MAPLE, statuses=["Available", "On Hold"]))
    expected = {u["id"] for u in sim.state("units", account_id=MAPLE)["units"] if u["status"] in {"Available", "On Hold"}}
    assert set(maple_units) == expected
    since = datetime.fromisoformat(sim.health()["anchor"].replace("Z", "+00:00")) - timedelta(days=3)
    recent = ids_of(client.prospects(created_after=since, account_id=MAPLE))
    assert set(recent) == {
        p["id"]
        for p in sim.state("prospects", account_id=MAPLE)["prospects"]
        if datetime.fromisoformat(p["created_at"].replace("Z", "+00:00")) >= since
    }


def test_showing_availability_reads_the_wrapped_object(sim: SimulatorHandle, client: RentEngineClient) -> None:
    unit_id = sim.state("units")["units"][0]["id"]
    availability = client.showing_availability(unit_id, lane=Lane.INTERACTIVE)
    assert isinstance(availability, AvailabilityRecord)
    assert availability.unit_id == int(unit_id)


def test_a_full_pass_from_two_threads_stays_under_the_limit_with_no_429(sim: SimulatorHandle, limiter: Limiter) -> None:
    def full_pass(lane: Lane) -> int:
        with RentEngineClient(base_url=sim.base_url, token=sim.token, limiter=limiter, lane=lane) as rentengine:
            for method in ("units", "prospects", "lockbox_events", "lockboxes", "subteams"):
                for _ in getattr(rentengine, method)():
                    pass
            return rentengine.stats.http_429

    # A bare-array pass costs one request per 100 rows, plus the short (or empty) last page.
    expected = sum(
        len(rows) // 100 + 1 for rows in sim.state("units", "prospects", "lockbox_events", "lockboxes", "subteams").values()
    )
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda lane=lane: results.append(full_pass(lane))) for lane in (Lane.BACKFILL, Lane.INCREMENTAL)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == [0, 0]
    log = sim.requests()
    assert len(log) == 2 * expected
    assert all(r["status"] == 200 for r in log)
    assert sim.max_requests_in_window(5.0) <= 28


# --- surviving a misbehaving service --------------------------------------------------------------

GET_FAULTS = [
    pytest.param("status", {"status": 500, "count": 2}, id="two-500s"),
    pytest.param("status", {"status": 503, "count": 1}, id="503"),
    pytest.param("rate_limit", {"retry_after": 1, "count": 1}, id="429-with-retry-after"),
    pytest.param("html", {"count": 1}, id="html-error-page"),
    pytest.param("truncate", {"mode": "json", "count": 1}, id="truncated-json"),
    pytest.param("truncate", {"mode": "connection", "count": 1}, id="connection-closed-mid-body"),
    pytest.param("drop", {"count": 1}, id="dropped-connection"),
]


@pytest.mark.parametrize(("kind", "spec"), GET_FAULTS)
def test_a_get_rides_out_a_fault_and_loses_no_row(
    sim: SimulatorHandle, client: RentEngineClient, kind: str, spec: dict[str, Any]
) -> None:
    sim.add_fault(kind, path="/prospects", **spec)
    fetched = ids_of(client.prospects())
    assert set(fetched) == state_ids(sim, "prospects")
    assert client.stats.retries >= 1
    assert sum(1 for r in sim.requests(path="/prospects") if r["fault"]) == spec["count"]


def test_a_429_pauses_the_shared_limiter_for_retry_after(
    sim: SimulatorHandle, client: RentEngineClient, limiter: Limiter
) -> None:
    sim.add_fault("rate_limit", path="/units", retry_after=2, count=1)
    list(client.units())
    statuses = [(r["status"], r["at"]) for r in sim.requests(path="/units")]
    assert [s for s, _ in statuses] == [429, 200]
    assert statuses[1][1] - statuses[0][1] >= 1.9
    assert client.stats.http_429 == 1


def test_strict_validation_is_read_as_an_unknown_parameter(sim: SimulatorHandle, client: RentEngineClient) -> None:
    # /units only knows accountId: the snake_case spelling is a hard 400 (API-FACTS 1.4).
    with pytest.raises(InvalidRequest) as caught:
        list(client._bare_pages("/units", {"account_id": MAPLE}, Record, 100, 0, None))
    assert caught.value.unknown_parameter
    assert caught.value.parameter == "account_id"
    assert len(sim.requests(path="/units")) == 1


def test_a_wrong_token_is_rejected_with_advice(sim: SimulatorHandle, limiter: Limiter) -> None:
    rentengine = RentEngineClient(base_url=sim.base_url, token="not-the-token", limiter=limiter)
    with pytest.raises(TokenRejected, match="check RENTENGINE_API_TOKEN"):
        list(rentengine.units())
    rentengine.close()


# --- one assignment -------------------------------------------------------------------------------


def a_maple_prospect_and_agent(sim: SimulatorHandle) -> tuple[int, str]:
    prospect = sim.state("prospects", account_id=MAPLE)["prospects"][0]
    agent = next(u for u in sim.people()["users"] if MAPLE in u["account_ids"] and u["id"] != sim.people()["owner_user_id"])
    return int(prospect["id"]), agent["id"]


def test_assigning_posts_one_event_and_returns_what_rentengine_created(sim: SimulatorHandle, client: RentEngineClient) -> None:
    prospect_id, agent = a_maple_prospect_and_agent(sim)
    created = client.leasing_event_assign(
        prospect_id, [agent], apply_in_bulk=False, source="Other", notes="from a test", lane="bulk"
    )
    assert [e.event_type for e in created] == ["Assign to User"]
    assert created[0].prospect_id == prospect_id
    assert created[0].assigned_user_ids == [agent]
    posts = sim.posts()
    assert len(posts) == 1
    assert posts[0]["body"]["events"][0]["context"] == {"assignedToUserIds": [agent], "applyActionInBulk": False}
    assignees = {p["id"]: p["assigned_user_ids"] for p in sim.state("prospects")["prospects"]}
    assert assignees[prospect_id] == [agent]


def test_an_assignment_whose_answer_is_lost_is_never_sent_twice(sim: SimulatorHandle, client: RentEngineClient) -> None:
    prospect_id, agent = a_maple_prospect_and_agent(sim)
    sim.add_fault("drop_after_commit", method="POST", path="/leasing_events", count=1)
    with pytest.raises(TransportError) as caught:
        client.leasing_event_assign(prospect_id, [agent], apply_in_bulk=False, source="Other")
    assert caught.value.not_sent is False  # it may have worked (here it did): the outbox must reconcile
    assert len(sim.posts()) == 1


def test_a_refused_assignment_is_known_not_sent(sim: SimulatorHandle, client: RentEngineClient) -> None:
    prospect_id, agent = a_maple_prospect_and_agent(sim)
    events_before = len(sim.state("leasing_events")["leasing_events"])
    sim.add_fault("status", status=503, method="POST", path="/leasing_events", count=1)
    with pytest.raises(ServerError) as caught:
        client.leasing_event_assign(prospect_id, [agent], apply_in_bulk=False, source="Other")
    assert caught.value.not_sent is True
    assert len(sim.posts()) == 1
    assert len(sim.state("leasing_events")["leasing_events"]) == events_before
