"""Webhook deliveries: raw rows with the key and QStash headers, retries, duplicates, reordering."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from integrations.rentengine.simulator.lexicon import MAPLE_ACCOUNT_ID, OWNER_USER_ID
from tests.rentengine.simulator.conftest import Receiver
from tests.support.simulator import SimulatorHandle


@pytest.fixture
def hooked(sim: SimulatorHandle, receiver: Receiver) -> Iterator[SimulatorHandle]:
    sim.configure_webhooks(url=receiver.url, key=sim.webhook_key, backoff_seconds=0.1, max_attempts=6, duplicate_probability=0,
                           reorder_probability=0, queue_limit=5000)  # fmt: skip
    yield sim
    sim.configure_webhooks(url=None)
    sim.reset()


def wait_for(receiver: Receiver, count: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while len(receiver.ok()) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(receiver.ok()) >= count, receiver.deliveries


def test_an_assignment_is_delivered_as_a_leasing_events_insert_with_the_key_and_qstash_headers(
    hooked: SimulatorHandle, receiver: Receiver
) -> None:
    prospect = hooked.state("prospects", account_id=MAPLE_ACCOUNT_ID)["prospects"][0]
    agent = next(u["id"] for u in hooked.people()["users"] if MAPLE_ACCOUNT_ID in u["account_ids"] and u["id"] != OWNER_USER_ID)
    body = {
        "events": [{"prospect_id": prospect["id"], "event_type": "Assign to User", "context": {"assignedToUserIds": [agent]}}]
    }
    [event] = httpx.post(f"{hooked.base_url}/leasing_events", json=body, headers=hooked.headers).json()
    wait_for(receiver, 1)
    [delivery] = receiver.deliveries
    assert delivery["headers"]["x-api-key"] == hooked.webhook_key
    assert delivery["headers"]["upstash-message-id"].startswith("msg_")
    assert delivery["headers"]["upstash-retried"] == "0"
    payload = delivery["body"]
    assert (payload["type"], payload["table"], payload["old_record"]) == ("INSERT", "leasing_events", None)
    record = payload["record"]
    assert record["id"] == event["id"]
    assert record["prospect_id"] == prospect["id"]
    assert "unit_of_interest" not in record
    assert "prospect" not in record
    assert record["context"]["assignedToUserIds"] == [agent]


def test_a_status_change_sends_the_event_and_the_prospect_update_with_its_old_row(
    hooked: SimulatorHandle, receiver: Receiver
) -> None:
    [change] = hooked.activity(kind="status")
    wait_for(receiver, 2)
    by_table = {d["body"]["table"]: d["body"] for d in receiver.deliveries}
    update = by_table["prospects"]
    assert update["type"] == "UPDATE"
    assert update["record"]["id"] == change["prospect_id"]
    assert update["record"]["status"] == change["status"] != update["old_record"]["status"]
    assert update["record"]["updated_at"] > update["old_record"]["updated_at"]
    assert by_table["leasing_events"]["record"]["event_type"] == change["status"]


def test_lockbox_event_rows_carry_data_instead_of_metadata_and_no_account(hooked: SimulatorHandle, receiver: Receiver) -> None:
    hooked.activity(kind="access_code")
    wait_for(receiver, 1)
    record = receiver.deliveries[0]["body"]["record"]
    assert receiver.deliveries[0]["body"]["table"] == "lockbox_events"
    assert "data" in record
    assert "metadata" not in record
    assert "account_id" not in record
    assert isinstance(record["unit_id"], str)
    assert record["data"]["code_type"] in ("ACCESS", "SHACKLE")


def test_a_unit_update_sends_the_column_subset(hooked: SimulatorHandle, receiver: Receiver) -> None:
    hooked.activity(kind="unit")
    wait_for(receiver, 1)
    payload = receiver.deliveries[0]["body"]
    assert payload["table"] == "units"
    assert payload["type"] == "UPDATE"
    assert {"id", "status", "updated_at"} <= set(payload["record"])
    assert "address" not in payload["record"]
    assert payload["record"]["target_rental_rate"] is None or isinstance(payload["record"]["target_rental_rate"], str)


def test_a_failing_receiver_gets_retries_with_the_same_message_id_until_it_succeeds(
    hooked: SimulatorHandle, receiver: Receiver
) -> None:
    receiver.plan = [500, 503]
    hooked.activity(kind="note")
    wait_for(receiver, 1)
    assert [d["answered"] for d in receiver.deliveries] == [500, 503, 200]
    assert len({d["headers"]["upstash-message-id"] for d in receiver.deliveries}) == 1
    assert [d["headers"]["upstash-retried"] for d in receiver.deliveries] == ["0", "1", "2"]
    stats = hooked.wait_for_webhooks()
    assert (stats["delivered"], stats["failed_attempts"], stats["given_up"]) == (1, 2, 0)


def test_an_unreachable_receiver_is_retried_then_given_up(hooked: SimulatorHandle) -> None:
    hooked.configure_webhooks(url="http://127.0.0.1:9/unreachable", max_attempts=3, backoff_seconds=0.05)
    began = time.monotonic()
    hooked.activity(kind="note")
    stats = hooked.wait_for_webhooks()
    assert (stats["attempts"], stats["failed_attempts"], stats["given_up"], stats["delivered"]) == (3, 3, 1, 0)
    assert time.monotonic() - began >= 0.05 + 0.1, "backoff doubles between attempts"
    assert all(a["error"] for a in stats["recent_attempts"])


def test_a_full_queue_drops_new_messages_and_counts_them(hooked: SimulatorHandle) -> None:
    hooked.configure_webhooks(url="http://127.0.0.1:9/unreachable", queue_limit=3, backoff_seconds=30, max_attempts=2)
    hooked.activity(steps=10, kind="note")
    stats = hooked.webhook_stats()
    assert stats["pending"] + stats["in_flight"] <= 3
    assert stats["dropped"] >= 7


def test_duplicates_reuse_the_message_id(hooked: SimulatorHandle, receiver: Receiver) -> None:
    hooked.configure_webhooks(duplicate_probability=1.0)
    hooked.activity(steps=3, kind="note")
    wait_for(receiver, 6)
    stats = hooked.wait_for_webhooks()
    assert (stats["delivered"], stats["duplicates_delivered"]) == (3, 3)
    ids = [d["headers"]["upstash-message-id"] for d in receiver.deliveries]
    assert len(set(ids)) == 3
    assert all(ids.count(i) == 2 for i in ids)


def test_reordering_lets_later_messages_overtake_earlier_ones(hooked: SimulatorHandle, receiver: Receiver) -> None:
    hooked.configure_webhooks(reorder_probability=0.5, reorder_delay_seconds=0.4, concurrency=1)
    hooked.activity(steps=12, kind="note")
    wait_for(receiver, 12)
    received = [d["body"]["record"]["id"] for d in receiver.deliveries]
    assert sorted(received) == sorted(set(received))
    assert received != sorted(received)
    assert hooked.webhook_stats()["reordered"] > 0
