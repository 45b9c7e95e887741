"""Applying stored deliveries: each table lands in the mirror under the version guard, subsets never
blank what they leave out, deletes leave tombstones, and failures are kept on the row and retried."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from integrations.rentengine import mirror
from integrations.rentengine.client import LeasingEventRecord, UnitRecord, parse_record
from integrations.rentengine.mirror import changes
from integrations.rentengine.models import LeasingEvent, Lockbox, LockboxEvent, Prospect, ProspectAssignee, Unit, WebhookDelivery
from integrations.rentengine.webhooks import apply as webhook_apply
from tests.rentengine.webhooks.conftest import (
    ACCOUNT,
    LOCKBOX,
    T0,
    at,
    delete,
    deliver,
    insert,
    leasing_event_row,
    lockbox_event_row,
    lockbox_row,
    prospect_row,
    unit_row,
    update,
)

pytestmark = pytest.mark.django_db

ALICE = "1259ef6e-61ee-42cb-b6bd-7fe547569d7c"
BOB = "2a1f0c3e-1111-4aaa-8bbb-000000000002"


def send(client: Client, *payloads: dict[str, Any]) -> None:
    for payload in payloads:
        assert deliver(client, payload).status_code == 200


def apply() -> webhook_apply.ApplyReport:
    return webhook_apply.deliveries_apply_pending()


# --- units -----------------------------------------------------------------------------------------


def test_a_unit_insert_lands_in_the_mirror_and_the_delivery_is_marked_applied(client: Client) -> None:
    send(client, insert("units", unit_row(rent="2,150")))
    report = apply()
    assert (report.applied, report.failed, report.changed) == (1, 0, {"units": {"3318"}})
    unit = Unit.objects.get()
    assert (unit.status, unit.rent, str(unit.account_id)) == ("Available", Decimal(2150), ACCOUNT)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("applied", 1, "")
    assert delivery.applied_at is not None


def test_an_update_with_a_column_subset_keeps_the_columns_it_leaves_out(client: Client) -> None:
    synced = {**unit_row(version=1), "address": {"formatted_address": "9117 Chesapeake Blvd #5", "city": "Norfolk"},
              "marketing_photos": [{"original": "https://img.example/1.jpg", "hidden": False}]}  # fmt: skip
    mirror.units_apply([parse_record(UnitRecord, synced)])  # the full REST shape, from a sync
    send(client, update("units", {"id": 3318, "status": "Leased", "updated_at": at(2)}))
    apply()
    unit = Unit.objects.get()
    assert unit.status == "Leased"
    assert (unit.address, unit.city, unit.photos) == ("9117 Chesapeake Blvd #5", "Norfolk", ["https://img.example/1.jpg"])
    assert unit.rent == Decimal(1925), "a column the webhook did not send is not blanked"
    assert unit.source_updated_at == T0 + timedelta(minutes=2)


def test_an_older_update_arriving_late_does_not_overwrite_a_newer_one(client: Client) -> None:
    send(client, update("units", unit_row(version=10, status="Leased")))
    apply()
    send(client, update("units", unit_row(version=5, status="Available")))
    report = apply()
    assert (report.applied, report.changed) == (1, {})
    assert Unit.objects.get().status == "Leased"


def test_a_delete_leaves_a_tombstone_that_a_late_older_update_does_not_undo(client: Client) -> None:
    send(client, insert("units", unit_row(version=1)), update("units", unit_row(version=3, status="On Hold")))
    apply()
    send(client, delete("units", unit_row(version=3, status="On Hold")))
    assert apply().changed == {"units": {"3318"}}
    send(client, update("units", unit_row(version=2, status="Available")))
    apply()
    unit = Unit.objects.get()
    assert (unit.deleted_at is not None, unit.tombstone_reason, unit.status) == (True, "deleted", "On Hold")
    assert Unit.objects.alive().count() == 0


def test_a_delete_of_a_row_never_seen_still_blocks_its_late_insert(client: Client) -> None:
    send(client, delete("units", unit_row(version=4)))
    apply()
    send(client, insert("units", unit_row(version=1)), update("units", unit_row(version=4)))
    apply()
    assert Unit.objects.alive().count() == 0
    assert Unit.objects.get().tombstone_reason == "deleted"


def test_an_unknown_unit_without_an_account_is_kept_as_ignored_with_the_reason(client: Client) -> None:
    send(client, update("units", {"id": 77, "status": "Leased", "updated_at": at(1)}))
    report = apply()
    assert (report.ignored, Unit.objects.count()) == (1, 0)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "ignored"
    assert "no account_id" in delivery.last_error


# --- prospects and leasing events ------------------------------------------------------------------


def test_a_prospect_status_follows_its_latest_pipeline_event_whatever_the_order(client: Client) -> None:
    send(
        client,
        insert("leasing_events", leasing_event_row(2, "Showing Scheduled", 5)),
        insert("leasing_events", leasing_event_row(3, "Log Note", 9)),
        insert("prospects", prospect_row()),
        insert("leasing_events", leasing_event_row(1, "New", 0)),
    )
    apply()
    prospect = Prospect.objects.get()
    assert (prospect.status, prospect.status_family) == ("Showing Scheduled", "showing")
    assert LeasingEvent.objects.filter(account__isnull=True).count() == 0, "webhook events get their prospect's account"


def test_assignees_follow_the_latest_assign_event_and_a_deleted_event_gives_way(client: Client) -> None:
    send(client, insert("prospects", prospect_row()))
    send(client, insert("leasing_events", leasing_event_row(11, "Assign to User", 10, context={"assignedToUserIds": [BOB]})))
    send(client, insert("leasing_events", leasing_event_row(10, "Assign to User", 5, context={"assignedToUserIds": [ALICE]})))
    apply()
    assert [str(a.user_id) for a in ProspectAssignee.objects.all()] == [BOB]
    send(client, delete("leasing_events", leasing_event_row(11, "Assign to User", 10, context={"assignedToUserIds": [BOB]})))
    apply()
    assert [str(a.user_id) for a in ProspectAssignee.objects.all()] == [ALICE]


def test_a_leasing_event_update_keeps_fields_only_the_api_sends(client: Client) -> None:
    send(client, insert("prospects", prospect_row()))
    apply()
    mirror.leasing_events_apply(
        [parse_record(LeasingEventRecord, {**leasing_event_row(5, "Showing Scheduled", 1), "unit_of_interest": 3318})]
    )
    send(client, update("leasing_events", leasing_event_row(5, "Showing Scheduled", 1, notes="bring keys")))
    apply()
    event = LeasingEvent.objects.get()
    assert (event.notes, event.unit_id_of_interest) == ("bring keys", 3318)


# --- lockboxes -------------------------------------------------------------------------------------


def test_lockbox_event_rows_carry_data_where_the_api_says_metadata(client: Client) -> None:
    send(
        client,
        insert("lockbox_events", lockbox_event_row(1, "Generate Code", 3, data={"created_for": "Zoë", "code": "1234"})),
        insert("lockboxes", lockbox_row()),
        insert("lockbox_events", lockbox_event_row(2, "Install", 1, unit_id="3318")),
    )
    apply()
    code = LockboxEvent.objects.get(event_type="Generate Code")
    assert (code.metadata["code"], code.created_for, str(code.account_id)) == ("1234", "Zoë", ACCOUNT)
    box = Lockbox.objects.get(id=LOCKBOX)
    assert (box.current_unit_id, box.last_event_at) == (3318, T0 + timedelta(minutes=3))


# --- failures ------------------------------------------------------------------------------------------


def test_a_record_that_cannot_be_read_fails_alone_and_is_not_retried(client: Client) -> None:
    send(
        client,
        insert("units", unit_row(1)),
        insert("units", {"id": "not-a-number", "account_id": ACCOUNT}),
        insert("units", unit_row(2)),
    )
    report = apply()
    assert (report.applied, report.failed) == (2, 1)
    failed = WebhookDelivery.objects.get(status="failed")
    assert failed.last_error.startswith("record not readable: id")
    assert (failed.attempts, failed.next_attempt_at) == (1, None)
    assert set(Unit.objects.values_list("id", flat=True)) == {1, 2}


def test_a_transient_failure_is_recorded_and_retried_after_a_backoff(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}

    def flaky(records: Any) -> mirror.Applied:
        calls["n"] += 1
        if calls["n"] <= 2:  # the batch, then the delivery on its own
            raise OperationalError("server closed the connection unexpectedly")
        return mirror.units_apply(records)

    monkeypatch.setitem(webhook_apply.TABLES, "units", dataclasses.replace(webhook_apply.TABLES["units"], apply=flaky))
    send(client, insert("units", unit_row()))
    assert apply().failed == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert "server closed the connection" in delivery.last_error
    assert timezone.now() + timedelta(seconds=10) < delivery.next_attempt_at < timezone.now() + timedelta(seconds=31)
    assert apply().claimed == 0, "not before its retry time"
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert apply().applied == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error, delivery.next_attempt_at) == ("applied", 2, "", None)
    assert Unit.objects.count() == 1


def test_retries_stop_after_the_last_attempt(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(records: Any) -> mirror.Applied:
        raise OperationalError("still down")

    monkeypatch.setitem(webhook_apply.TABLES, "units", dataclasses.replace(webhook_apply.TABLES["units"], apply=broken))
    send(client, insert("units", unit_row()))
    WebhookDelivery.objects.update(attempts=webhook_apply.MAX_ATTEMPTS - 1)
    apply()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", webhook_apply.MAX_ATTEMPTS, None)


def test_the_backoff_grows_to_an_hour_with_jitter() -> None:
    delays = [webhook_apply.retry_delay(n).total_seconds() for n in range(1, 10)]
    assert 15 <= delays[0] <= 30
    assert 30 <= delays[1] <= 60
    assert all(1800 <= d <= 3600 for d in delays[-2:])


def test_a_delivery_for_an_unknown_table_stays_ignored_when_replayed(client: Client) -> None:
    send(client, insert("rental_application_groups", {"id": "rag_1"}))
    assert apply().claimed == 0, "ignored deliveries are not waiting"
    report = webhook_apply.deliveries_replay(status="ignored")
    assert (report.claimed, report.ignored) == (1, 1)
    assert WebhookDelivery.objects.get().status == "ignored"


def test_the_report_names_the_accounts_whose_screens_changed_per_table(client: Client) -> None:
    send(client, insert("prospects", prospect_row()), insert("leasing_events", leasing_event_row(1, "New", 1)))
    report = apply()
    assert report.accounts == {"prospects": {ACCOUNT}, "leasing_events": {ACCOUNT}}
    send(client, delete("leasing_events", leasing_event_row(1, "New", 1)))
    assert apply().accounts == {"leasing_events": {ACCOUNT}}, "a tombstone is a change too"


def test_applied_changes_bump_the_screens_versions_once_committed(client: Client, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    scopes = [f"prospects:{ACCOUNT}", f"showings:{ACCOUNT}", f"units:{ACCOUNT}"]
    send(client, insert("prospects", prospect_row()), insert("leasing_events", leasing_event_row(1, "New", 1)))
    with django_capture_on_commit_callbacks(execute=True):
        apply()
    assert changes.scope_versions(scopes) == {f"prospects:{ACCOUNT}": 1, f"showings:{ACCOUNT}": 1, f"units:{ACCOUNT}": 0}
    send(client, update("prospects", prospect_row(version=0)))  # the same state again: no change, no notice
    with django_capture_on_commit_callbacks(execute=True):
        apply()
    assert changes.scope_versions(scopes)[f"prospects:{ACCOUNT}"] == 1
