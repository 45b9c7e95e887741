"""POST /leasing_events: one "Assign to User" event per request, users of the prospect's account,
applyActionInBulk by phone, and commits that survive a client giving up."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from integrations.rentengine.simulator.lexicon import BIRCH_ACCOUNT_ID, MAPLE_ACCOUNT_ID, OWNER_USER_ID
from tests.support.simulator import SimulatorHandle


def post(sim: SimulatorHandle, body: Any, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token or sim.token}"}
    return httpx.post(f"{sim.base_url}/leasing_events", json=body, headers=headers, timeout=10)


def assign(prospect_id: int, user_ids: list[str], **context: Any) -> dict[str, Any]:
    event = {"prospect_id": prospect_id, "event_type": "Assign to User", "source": "Other", "notes": "from a test"}
    return {"events": [{**event, "context": {"assignedToUserIds": user_ids, **context}}]}


def agents_of(sim: SimulatorHandle, account_id: str) -> list[str]:
    return [u["id"] for u in sim.people()["users"] if account_id in u["account_ids"] and u["id"] != OWNER_USER_ID]


def prospect_in(sim: SimulatorHandle, account_id: str, *, shared_phone: bool = False) -> dict[str, Any]:
    prospects = sim.state("prospects", account_id=account_id)["prospects"]
    phones: dict[str, int] = {}
    for p in prospects:
        if p["phone"]:
            phones[p["phone"]] = phones.get(p["phone"], 0) + 1
    for p in prospects:
        if (phones.get(p["phone"], 0) > 1) == shared_phone and (p["phone"] or not shared_phone):
            return p
    raise AssertionError("no such prospect in the seed")


def test_an_assignment_answers_201_with_the_post_shape_and_the_previous_assignees(sim: SimulatorHandle) -> None:
    prospect = prospect_in(sim, MAPLE_ACCOUNT_ID)
    first, second = agents_of(sim, MAPLE_ACCOUNT_ID)[:2]
    response = post(sim, assign(prospect["id"], [first]))
    assert response.status_code == 201, response.text
    [event] = response.json()
    assert event["prospect"] == prospect["id"]
    assert "prospect_id" not in event
    assert event["event_type"] == "Assign to User"
    assert event["created_by"] == OWNER_USER_ID
    assert event["context"]["assignedToUserIds"] == [first]
    assert event["context"]["previousAssignedToUserIds"] == prospect["assigned_user_ids"]
    [again] = post(sim, assign(prospect["id"], [second])).json()
    assert again["context"]["previousAssignedToUserIds"] == [first]
    listed = httpx.get(f"{sim.base_url}/leasing_events", params={"prospect_id": prospect["id"]}, headers=sim.headers).json()[
        "data"
    ]
    assert [e["id"] for e in listed][-2:] == [event["id"], again["id"]]
    assert listed[-1]["prospect_id"] == prospect["id"]


def test_an_assignment_does_not_change_the_prospects_status(sim: SimulatorHandle) -> None:
    prospect = prospect_in(sim, MAPLE_ACCOUNT_ID)
    post(sim, assign(prospect["id"], agents_of(sim, MAPLE_ACCOUNT_ID)[:1]))
    after = next(p for p in sim.state("prospects")["prospects"] if p["id"] == prospect["id"])
    assert (after["status"], after["updated_at"]) == (prospect["status"], prospect["updated_at"])
    assert after["assigned_user_ids"] == agents_of(sim, MAPLE_ACCOUNT_ID)[:1]


@pytest.mark.parametrize("count", [0, 2])
def test_anything_but_exactly_one_event_is_rejected(sim: SimulatorHandle, count: int) -> None:
    prospect = prospect_in(sim, MAPLE_ACCOUNT_ID)
    one = assign(prospect["id"], agents_of(sim, MAPLE_ACCOUNT_ID)[:1])["events"][0]
    response = post(sim, {"events": [one] * count})
    assert response.status_code == 400
    [detail] = response.json()["details"]
    assert detail["instancePath"] == "/events"
    assert detail["keyword"] == ("minItems" if count == 0 else "maxItems")
    assert sim.state("leasing_events")["leasing_events"][-1]["event_type"] != "Assign to User" or count == 0


def test_only_assign_to_user_is_accepted(sim: SimulatorHandle) -> None:
    body = assign(prospect_in(sim, MAPLE_ACCOUNT_ID)["id"], agents_of(sim, MAPLE_ACCOUNT_ID)[:1])
    body["events"][0]["event_type"] = "Showing Scheduled"
    response = post(sim, body)
    assert response.status_code == 400
    assert response.json()["details"][0]["keyword"] == "enum"


def test_body_problems_are_400s_with_ajv_details(sim: SimulatorHandle) -> None:
    prospect_id = prospect_in(sim, MAPLE_ACCOUNT_ID)["id"]
    agent = agents_of(sim, MAPLE_ACCOUNT_ID)[:1]
    cases = [
        ({"event": []}, "required"),
        (
            {"events": [{"prospect": prospect_id, "event_type": "Assign to User", "context": {"assignedToUserIds": agent}}]},
            "required",
        ),
        (assign(prospect_id, []), "minItems"),
        (assign(prospect_id, ["nobody"]), "format"),
        (assign(prospect_id, agent, applyActionInBulk="yes"), "type"),
        ({**assign(prospect_id, agent), "extra": 1}, "additionalProperties"),
    ]
    for body, keyword in cases:
        response = post(sim, body)
        assert response.status_code == 400, body
        assert response.json()["details"][0]["keyword"] == keyword, body
    bad_source = assign(prospect_id, agent)
    bad_source["events"][0]["source"] = "Showing Scheduler"  # a response-only source
    assert post(sim, bad_source).status_code == 400
    assert sim.posts()[-1]["body"] == bad_source, "the request log keeps POST bodies"


def test_assigning_someone_outside_the_prospects_account_is_rejected_and_writes_nothing(sim: SimulatorHandle) -> None:
    prospect = prospect_in(sim, MAPLE_ACCOUNT_ID)
    outsider = agents_of(sim, BIRCH_ACCOUNT_ID)[0]
    before = len(sim.state("leasing_events")["leasing_events"])
    response = post(sim, assign(prospect["id"], [agents_of(sim, MAPLE_ACCOUNT_ID)[0], outsider]))
    assert response.status_code == 400
    detail = response.json()["details"][0]
    assert detail["instancePath"] == "/events/0/context/assignedToUserIds/1"
    assert len(sim.state("leasing_events")["leasing_events"]) == before


def test_a_prospect_outside_the_tokens_accounts_is_rejected(sim: SimulatorHandle) -> None:
    sim.add_token("maple-only", [MAPLE_ACCOUNT_ID])
    birch_prospect = prospect_in(sim, BIRCH_ACCOUNT_ID)
    response = post(sim, assign(birch_prospect["id"], agents_of(sim, BIRCH_ACCOUNT_ID)[:1]), token="maple-only")
    assert response.status_code == 400
    assert post(sim, assign(99, agents_of(sim, MAPLE_ACCOUNT_ID)[:1])).status_code == 400


def test_apply_action_in_bulk_assigns_every_prospect_with_the_same_phone_in_the_account(sim: SimulatorHandle) -> None:
    prospect = prospect_in(sim, MAPLE_ACCOUNT_ID, shared_phone=True)
    siblings = [
        p for p in sim.state("prospects")["prospects"] if p["phone"] == prospect["phone"] and p["account_id"] == MAPLE_ACCOUNT_ID
    ]
    assert len(siblings) > 1
    agent = agents_of(sim, MAPLE_ACCOUNT_ID)[3]
    created = post(sim, assign(prospect["id"], [agent], applyActionInBulk=True)).json()
    assert created[0]["prospect"] == prospect["id"]
    assert sorted(e["prospect"] for e in created) == sorted(p["id"] for p in siblings)
    for event in created:
        sibling = next(p for p in siblings if p["id"] == event["prospect"])
        assert event["context"]["previousAssignedToUserIds"] == sibling["assigned_user_ids"]
    after = {p["id"]: p["assigned_user_ids"] for p in sim.state("prospects")["prospects"]}
    assert all(after[p["id"]] == [agent] for p in siblings)
    alone = post(sim, assign(prospect["id"], agents_of(sim, MAPLE_ACCOUNT_ID)[:1])).json()
    assert len(alone) == 1, "without applyActionInBulk only the prospect itself"


def test_a_post_delayed_after_commit_is_committed_though_the_client_gave_up(sim: SimulatorHandle) -> None:
    prospect = prospect_in(sim, MAPLE_ACCOUNT_ID)
    sim.add_fault("delay_after_commit", method="POST", path="/leasing_events", seconds=1.5, count=1)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{sim.base_url}/leasing_events",
            json=assign(prospect["id"], agents_of(sim, MAPLE_ACCOUNT_ID)[:1]),
            headers=sim.headers,
            timeout=0.5,
        )
    events = httpx.get(f"{sim.base_url}/leasing_events", params={"prospect_id": prospect["id"]}, headers=sim.headers).json()[
        "data"
    ]
    assert events[-1]["event_type"] == "Assign to User"
    [logged] = sim.posts()
    assert logged["fault"] == "delay_after_commit"
