"""Injected faults: errors, 429 storms, slow answers, dropped connections, HTML and truncated bodies."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.support.simulator import SimulatorHandle


def test_a_500_fault_applies_count_times_then_clears(sim: SimulatorHandle) -> None:
    sim.add_fault("status", status=500, path="/units", count=2)
    with sim.client() as client:
        statuses = [client.get("/units").status_code for _ in range(3)]
        assert client.get("/prospects").status_code == 200
    assert statuses == [500, 500, 200]
    assert sim.faults() == []
    assert [r["fault"] for r in sim.requests(path="/units")] == ["status", "status", None]


def test_a_429_storm_carries_retry_after(sim: SimulatorHandle) -> None:
    sim.add_fault("rate_limit", count=3, retry_after=3)
    with sim.client() as client:
        answers = [client.get("/subteams") for _ in range(4)]
    assert [a.status_code for a in answers] == [429, 429, 429, 200]
    assert answers[0].headers["Retry-After"] == "3"
    assert answers[0].json()["error"]


def test_faults_are_scoped_by_method_and_path(sim: SimulatorHandle) -> None:
    sim.add_fault("status", status=503, method="POST", path="/leasing_events*")
    with sim.client() as client:
        assert client.get("/leasing_events").status_code == 200
        assert client.post("/leasing_events", json={}).status_code == 503


def test_skip_lets_the_first_requests_through(sim: SimulatorHandle) -> None:
    sim.add_fault("status", status=502, path="/units", skip=2, count=1)
    with sim.client() as client:
        assert [client.get("/units").status_code for _ in range(4)] == [200, 200, 502, 200]


def test_a_slow_fault_waits_before_answering(sim: SimulatorHandle) -> None:
    sim.add_fault("slow", seconds=0.6, count=1)
    with sim.client() as client:
        began = time.monotonic()
        assert client.get("/subteams").status_code == 200
        assert time.monotonic() - began >= 0.55


def test_a_dropped_connection_gives_the_client_no_answer(sim: SimulatorHandle) -> None:
    sim.add_fault("drop", count=1)
    with sim.client() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/subteams")
        assert client.get("/subteams").status_code == 200
    assert sim.requests()[0]["status"] is None


def test_a_drop_after_commit_still_writes(sim: SimulatorHandle) -> None:
    users = sim.people()["users"]
    prospect = sim.state("prospects")["prospects"][0]
    agent = next(u["id"] for u in users if prospect["account_id"] in u["account_ids"])
    body = {
        "events": [{"prospect_id": prospect["id"], "event_type": "Assign to User", "context": {"assignedToUserIds": [agent]}}]
    }
    sim.add_fault("drop_after_commit", method="POST", count=1)
    with sim.client() as client, pytest.raises(httpx.RemoteProtocolError):
        client.post("/leasing_events", json=body)
    after = next(p for p in sim.state("prospects")["prospects"] if p["id"] == prospect["id"])
    assert after["assigned_user_ids"] == [agent]


def test_an_html_error_page_is_not_json(sim: SimulatorHandle) -> None:
    sim.add_fault("html", count=1)
    with sim.client() as client:
        response = client.get("/units")
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<!DOCTYPE html>")


def test_a_truncated_body_is_invalid_json(sim: SimulatorHandle) -> None:
    sim.add_fault("truncate", count=1)
    with sim.client() as client:
        response = client.get("/units")
        assert response.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(response.text)


def test_a_connection_cut_mid_body_is_an_incomplete_read(sim: SimulatorHandle) -> None:
    sim.add_fault("truncate", mode="connection", count=1)
    with sim.client() as client, pytest.raises(httpx.RemoteProtocolError):
        client.get("/units")


def test_probability_faults_hit_some_requests(sim: SimulatorHandle) -> None:
    sim.set_rate_limit("off")
    sim.add_fault("status", status=500, probability=0.3)
    with sim.client() as client:
        statuses = [client.get("/subteams").status_code for _ in range(60)]
    assert 5 < statuses.count(500) < 35
