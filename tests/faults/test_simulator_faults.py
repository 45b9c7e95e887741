"""The two fault kinds this suite added to the simulator: garbage bytes and a connection reset."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.support.simulator import SimulatorHandle, running_simulator


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorHandle]:
    with running_simulator(size="small", seed=1, rate_limit="off") as handle:
        yield handle


@pytest.fixture(autouse=True)
def fresh(sim: SimulatorHandle) -> None:
    sim.reset()


def test_garbage_is_a_200_labelled_json_whose_bytes_are_not_json(sim: SimulatorHandle) -> None:
    sim.add_fault("garbage", path="/units", count=2, size=300)
    with sim.client() as client:
        answers = [client.get("/units") for _ in range(3)]
    for answer in answers[:2]:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("application/json")
        assert len(answer.content) == 300
        assert answer.content.startswith(b"\x1f\x8b\x08\x00"), "a gzip header: binary, NUL included"
        with pytest.raises((json.JSONDecodeError, UnicodeDecodeError)):
            json.loads(answer.content)
    assert answers[0].content != answers[1].content, "fresh bytes each time"
    assert isinstance(answers[2].json(), list), "then the real answer again"
    assert [(r["status"], r["fault"]) for r in sim.requests(path="/units")] == [(200, "garbage"), (200, "garbage"), (200, None)]


def test_garbage_after_a_post_means_the_write_happened(sim: SimulatorHandle) -> None:
    users = sim.people()["users"]
    prospect = sim.state("prospects")["prospects"][0]
    agent = next(u["id"] for u in users if prospect["account_id"] in u["account_ids"])
    body = {
        "events": [{"prospect_id": prospect["id"], "event_type": "Assign to User", "context": {"assignedToUserIds": [agent]}}]
    }
    sim.add_fault("garbage", method="POST", count=1, status=201)
    with sim.client() as client:
        answer = client.post("/leasing_events", json=body)
    assert answer.status_code == 201
    with pytest.raises((json.JSONDecodeError, UnicodeDecodeError)):
        answer.json()
    after = next(p for p in sim.state("prospects")["prospects"] if p["id"] == prospect["id"])
    assert after["assigned_user_ids"] == [agent]


def test_a_reset_is_connection_reset_by_peer_not_a_clean_close(sim: SimulatorHandle) -> None:
    sim.add_fault("reset", path="/units", count=1)
    sim.add_fault("drop", path="/subteams", count=1)
    with sim.client() as client:
        with pytest.raises(httpx.ReadError, match="reset"):
            client.get("/units")
        with pytest.raises(httpx.RemoteProtocolError):  # drop: a FIN, "disconnected without a response"
            client.get("/subteams")
        assert client.get("/units").status_code == 200
    assert [(r["status"], r["fault"]) for r in sim.requests(path="/units")] == [(None, "reset"), (200, None)]


def test_a_reset_post_is_not_handled(sim: SimulatorHandle) -> None:
    prospect = sim.state("prospects")["prospects"][0]
    before = sim.health()["counts"]["leasing_events"]
    sim.add_fault("reset", method="POST", count=1)
    body = {"events": [{"prospect_id": prospect["id"], "event_type": "Log Note", "notes": "x"}]}
    with sim.client() as client, pytest.raises(httpx.ReadError):
        client.post("/leasing_events", json=body)
    assert sim.health()["counts"]["leasing_events"] == before


def test_bad_garbage_sizes_are_refused(sim: SimulatorHandle) -> None:
    with pytest.raises(RuntimeError, match="size must be between"):
        sim.add_fault("garbage", size=0)
