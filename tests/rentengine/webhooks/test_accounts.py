"""A webhook alone never creates an account nor moves a record between accounts: a sync must confirm."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from integrations.rentengine import mirror
from integrations.rentengine.client import ProspectRecord, parse_record
from integrations.rentengine.models import Account, Prospect, WebhookDelivery
from integrations.rentengine.webhooks import deliveries_apply_pending, webhook_health
from tests.conftest import BIRCH_ID
from tests.rentengine.webhooks.conftest import ACCOUNT, deliver, insert, prospect_row, update

pytestmark = pytest.mark.django_db
STRANGER = str(uuid.UUID("99999999-0000-4000-8000-00000000dead"))


def apply() -> Any:
    return deliveries_apply_pending(time_budget=30)


def test_a_record_of_an_account_the_token_never_listed_is_held_and_creates_no_account(client: Client, no_enqueue: Any) -> None:
    deliver(client, insert("prospects", prospect_row(777, account_id=STRANGER)))
    report = apply()
    assert (report.applied, report.held) == (0, 1)
    assert not Account.objects.filter(pk=STRANGER).exists()
    assert not Prospect.objects.filter(pk=777).exists()
    held = webhook_health()["recent_held"][0]
    assert held["reason"].startswith(f"unknown account {STRANGER}")


def test_an_update_moving_a_prospect_to_another_account_waits_for_a_sync_to_confirm(
    client: Client, no_enqueue: Any, birch: Account
) -> None:
    deliver(client, insert("prospects", prospect_row(555, version=1)))
    apply()
    deliver(client, update("prospects", prospect_row(555, version=2, account_id=str(BIRCH_ID), name="Moved By Key")))
    assert apply().held == 1
    assert str(Prospect.objects.get(pk=555).account_id) == ACCOUNT  # the key alone moved nothing

    # The next sync lists the prospect in Birch: the move is confirmed, and the held delivery then applies.
    mirror.prospects_apply([parse_record(ProspectRecord, prospect_row(555, version=2, account_id=str(BIRCH_ID)))])
    WebhookDelivery.objects.filter(status="held").update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert apply().applied == 1
    moved = Prospect.objects.get(pk=555)
    assert (str(moved.account_id), moved.name) == (str(BIRCH_ID), "Moved By Key")


def test_a_held_delivery_no_sync_confirms_is_given_up_after_a_day(client: Client, no_enqueue: Any) -> None:
    deliver(client, insert("prospects", prospect_row(778, account_id=STRANGER)))
    WebhookDelivery.objects.update(received_at=timezone.now() - timedelta(days=2))
    report = apply()
    assert report.ignored == 1
    assert "no sync confirmed it" in WebhookDelivery.objects.get().last_error


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999999"])
def test_numbers_json_does_not_have_are_refused(client: Client, number: str) -> None:
    body = '{"type": "INSERT", "table": "units", "record": {"id": 1, "target_rental_rate": NUMBER}, "old_record": null}'.replace(
        "NUMBER", number
    )
    answer = deliver(client, body)
    assert answer.status_code == 400
    assert not WebhookDelivery.objects.exists()
