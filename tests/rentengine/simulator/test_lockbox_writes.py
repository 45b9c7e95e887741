"""POST /lockboxes/generate_code and POST /lockbox_events: the answers, the lockbox events each one
writes (and their webhooks), the installations they open and close, and what they refuse."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from integrations.rentengine.simulator.lexicon import BIRCH_ACCOUNT_ID, MAPLE_ACCOUNT_ID
from tests.rentengine.simulator.conftest import Receiver
from tests.rentengine.simulator.test_webhooks import wait_for
from tests.support.simulator import SimulatorHandle

DAY = "2026-12-03"


def post(sim: SimulatorHandle, path: str, body: Any, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token or sim.token}"}
    return httpx.post(f"{sim.base_url}{path}", json=body, headers=headers, timeout=10)


def installed(sim: SimulatorHandle, account_id: str) -> dict[str, Any]:
    rows = sim.state("lockbox_installations", account_id=account_id)["lockbox_installations"]
    return next(i for i in rows if i["uninstalled_at"] is None)


def events_of(sim: SimulatorHandle, lockbox_id: str) -> list[dict[str, Any]]:
    """The box's events of the last few minutes (the seed's are older; new ones carry the real clock)."""
    since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    params: dict[str, Any] = {"lockbox_ids": lockbox_id, "created_at_from": since, "limit": 100}
    return httpx.get(f"{sim.base_url}/lockbox_events", params=params, headers=sim.headers).json()


@pytest.fixture
def hooked(sim: SimulatorHandle, receiver: Receiver) -> Iterator[SimulatorHandle]:
    sim.configure_webhooks(url=receiver.url, key=sim.webhook_key, backoff_seconds=0.1, max_attempts=6, duplicate_probability=0,
                           reorder_probability=0, queue_limit=5000)  # fmt: skip
    yield sim
    sim.configure_webhooks(url=None)
    sim.reset()


@pytest.mark.parametrize("locator", ["lockbox_id", "serial_number", "unit_id"])
def test_a_code_by_any_locator_answers_the_code_and_writes_a_generate_code_event(sim: SimulatorHandle, locator: str) -> None:
    installation = installed(sim, MAPLE_ACCOUNT_ID)
    lockbox = next(b for b in sim.state("lockboxes")["lockboxes"] if b["id"] == installation["lockbox_id"])
    value = {"lockbox_id": lockbox["id"], "serial_number": lockbox["serial_number"], "unit_id": int(installation["unit_id"])}
    response = post(sim, "/lockboxes/generate_code", {locator: value[locator], "date": DAY, "created_for": "Vic Visitor"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["code"].isdigit()
    assert answer["lockboxType"] == lockbox["lockbox_type"]
    assert answer["instructions"]
    event = events_of(sim, lockbox["id"])[-1]
    assert event["event_type"] == "Generate Code"
    assert event["unit_id"] == installation["unit_id"]
    assert event["account_id"] == MAPLE_ACCOUNT_ID
    assert event["metadata"] == {"created_for": "Vic Visitor", "code_type": "ACCESS", "valid_date": DAY}


def test_a_code_is_refused_for_a_box_not_installed_another_account_or_a_bad_body(sim: SimulatorHandle) -> None:
    rows = sim.state("lockbox_installations")["lockbox_installations"]
    busy = {i["lockbox_id"] for i in rows if i["uninstalled_at"] is None}
    idle = next(b for b in sim.state("lockboxes")["lockboxes"] if b["id"] not in busy)
    refused = post(sim, "/lockboxes/generate_code", {"lockbox_id": idle["id"], "date": DAY})
    assert refused.status_code == 400
    assert refused.json()["details"][0]["keyword"] == "installed"
    sim.add_token("birch-only", [BIRCH_ACCOUNT_ID])
    maple = installed(sim, MAPLE_ACCOUNT_ID)
    before = len(events_of(sim, maple["lockbox_id"]))
    other = post(sim, "/lockboxes/generate_code", {"lockbox_id": maple["lockbox_id"], "date": DAY}, token="birch-only")
    assert other.status_code == 400
    assert other.json()["details"][0]["keyword"] == "exists"
    for body in (
        {"date": DAY},
        {"lockbox_id": maple["lockbox_id"], "unit_id": int(maple["unit_id"]), "date": DAY},
        {"lockbox_id": maple["lockbox_id"]},
        {"lockbox_id": maple["lockbox_id"], "date": "2026-02-30"},
        {"lockbox_id": maple["lockbox_id"], "date": DAY, "code_type": "OTHER"},
        {"lockbox_id": maple["lockbox_id"], "date": DAY, "pin": "1"},
    ):
        assert post(sim, "/lockboxes/generate_code", body).status_code == 400, body
    assert len(events_of(sim, maple["lockbox_id"])) == before


def test_uninstall_then_install_moves_the_box_and_answers_201_in_the_get_shape(sim: SimulatorHandle) -> None:
    installation = installed(sim, MAPLE_ACCOUNT_ID)
    box, unit_id = installation["lockbox_id"], int(installation["unit_id"])
    removed = post(sim, "/lockbox_events", {"events": [{"lockbox_id": box, "event_type": "Uninstall", "unit_id": unit_id}]})
    assert removed.status_code == 201, removed.text
    [event] = removed.json()
    assert (event["event_type"], event["unit_id"], event["lockbox_id"]) == ("Uninstall", str(unit_id), box)
    rows = sim.state("lockbox_installations")["lockbox_installations"]
    assert not [i for i in rows if i["lockbox_id"] == box and i["uninstalled_at"] is None]
    again = post(sim, "/lockbox_events", {"events": [{"lockbox_id": box, "event_type": "Uninstall", "unit_id": unit_id}]})
    assert again.status_code == 400
    put_back = post(sim, "/lockbox_events", {"events": [{"lockbox_id": box, "event_type": "Install", "unit_id": unit_id}]})
    assert put_back.status_code == 201, put_back.text
    assert installed_on(sim, box) == str(unit_id)
    twice = post(sim, "/lockbox_events", {"events": [{"lockbox_id": box, "event_type": "Install", "unit_id": unit_id}]})
    assert twice.status_code == 400
    assert [e["event_type"] for e in events_of(sim, box)][-2:] == ["Uninstall", "Install"]


def installed_on(sim: SimulatorHandle, lockbox_id: str) -> str | None:
    rows = sim.state("lockbox_installations")["lockbox_installations"]
    return next((i["unit_id"] for i in rows if i["lockbox_id"] == lockbox_id and i["uninstalled_at"] is None), None)


def test_lockbox_events_refuse_generate_code_other_accounts_and_write_nothing_on_any_error(sim: SimulatorHandle) -> None:
    maple = installed(sim, MAPLE_ACCOUNT_ID)
    birch = installed(sim, BIRCH_ACCOUNT_ID)
    before = len(events_of(sim, maple["lockbox_id"]))
    for events in (
        [{"lockbox_id": maple["lockbox_id"], "event_type": "Generate Code", "unit_id": int(maple["unit_id"])}],
        [{"lockbox_id": maple["lockbox_id"], "event_type": "Uninstall", "unit_id": int(birch["unit_id"])}],
        [
            {"lockbox_id": maple["lockbox_id"], "event_type": "Uninstall", "unit_id": int(maple["unit_id"])},
            {"lockbox_id": birch["lockbox_id"], "event_type": "Install", "unit_id": int(birch["unit_id"])},
        ],
        [{"lockbox_id": maple["lockbox_id"], "event_type": "Uninstall", "unit_id": "12"}],
    ):
        assert post(sim, "/lockbox_events", {"events": events}).status_code == 400, events
    assert len(events_of(sim, maple["lockbox_id"])) == before
    sim.add_token("birch-only", [BIRCH_ACCOUNT_ID])
    body = {"events": [{"lockbox_id": maple["lockbox_id"], "event_type": "Uninstall", "unit_id": int(maple["unit_id"])}]}
    assert post(sim, "/lockbox_events", body, token="birch-only").status_code == 400


def test_both_writes_are_announced_as_lockbox_events_inserts(hooked: SimulatorHandle, receiver: Receiver) -> None:
    installation = installed(hooked, MAPLE_ACCOUNT_ID)
    box, unit_id = installation["lockbox_id"], int(installation["unit_id"])
    post(hooked, "/lockboxes/generate_code", {"unit_id": unit_id, "date": DAY, "created_for": "Pat Painter"})
    post(hooked, "/lockbox_events", {"events": [{"lockbox_id": box, "event_type": "Uninstall", "unit_id": unit_id}]})
    wait_for(receiver, 2)
    inserts = [d["body"] for d in receiver.ok() if d["body"]["table"] == "lockbox_events"]
    assert [(p["type"], p["record"]["event_type"]) for p in inserts] == [("INSERT", "Generate Code"), ("INSERT", "Uninstall")]
    assert inserts[0]["record"]["data"]["created_for"] == "Pat Painter"
    assert inserts[1]["record"]["unit_id"] == str(unit_id)
