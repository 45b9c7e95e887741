"""A sliding window per token: never more than the limit in any window; 429 with Retry-After past it."""

from __future__ import annotations

import time

import httpx

from tests.support.simulator import SimulatorHandle


def test_the_31st_request_within_5_seconds_gets_429_with_retry_after(sim: SimulatorHandle) -> None:
    with sim.client() as client:
        statuses = [client.get("/subteams") for _ in range(34)]
    assert [r.status_code for r in statuses[:30]] == [200] * 30
    refused = statuses[30:]
    assert {r.status_code for r in refused} == {429}
    assert all(1 <= int(r.headers["Retry-After"]) <= 5 for r in refused)
    assert all(r.headers["X-Ratelimit-Limit"] == "30" for r in statuses)
    assert sim.max_requests_in_window(5.0) == 30


def test_the_log_never_shows_more_than_the_limit_in_any_window(sim: SimulatorHandle) -> None:
    sim.set_rate_limit("5/1s")
    deadline = time.monotonic() + 2.5
    answers = []
    with sim.client() as client:
        while time.monotonic() < deadline:
            answers.append(client.get("/subteams").status_code)
    assert 429 in answers, "the rest were refused"
    assert answers.count(200) >= 10, "some got through"
    assert sim.max_requests_in_window(1.0) <= 5
    assert sim.max_requests_in_window(1.0, include_429=True) > 5


def test_windows_are_per_token(sim: SimulatorHandle) -> None:
    sim.set_rate_limit("3/5s")
    sim.add_token("second-token")
    with sim.client() as client:
        assert [client.get("/subteams").status_code for _ in range(4)] == [200, 200, 200, 429]
    other = httpx.get(f"{sim.base_url}/subteams", headers={"Authorization": "Bearer second-token"})
    assert other.status_code == 200


def test_rate_limit_off_admits_everything(sim: SimulatorHandle) -> None:
    sim.set_rate_limit("off")
    with sim.client() as client:
        assert {client.get("/subteams").status_code for _ in range(60)} == {200}
