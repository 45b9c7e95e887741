"""What operators rely on: the sweeper picks up what was left waiting, the replay command applies
stored deliveries again, the beat schedule runs the sweeper, and webhook_health() tells /sync/ how
things stand."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from dashboard.celery import app as celery_app
from integrations.rentengine import webhooks
from integrations.rentengine.models import Unit, WebhookDelivery
from integrations.rentengine.webhooks import apply as webhook_apply
from integrations.rentengine.webhooks import tasks as webhook_tasks
from integrations.rentengine.webhooks.tasks import webhooks_apply, webhooks_sweep
from tests.rentengine.webhooks.conftest import ACCOUNT, deliver, insert, unit_row, update

pytestmark = pytest.mark.django_db


def received_ago(seconds: float) -> None:
    WebhookDelivery.objects.update(received_at=timezone.now() - timedelta(seconds=seconds))


# --- the sweeper -----------------------------------------------------------------------------------


def test_the_sweeper_applies_deliveries_left_waiting_longer_than_its_threshold(client: Client, caplog) -> None:  # type: ignore[no-untyped-def]
    deliver(client, insert("units", unit_row(1)))
    received_ago(120)
    deliver(client, insert("units", unit_row(2)))
    report = webhook_apply.deliveries_sweep(older_than=60)
    assert (report.claimed, report.applied) == (1, 1)
    assert list(Unit.objects.values_list("id", flat=True)) == [1]
    assert WebhookDelivery.objects.get(record_id="2").status == "received", "a fresh delivery is left to its own apply task"
    assert "sweeper applied 1 deliveries" in caplog.text


def test_the_sweeper_also_retries_failed_deliveries_whose_time_has_come(client: Client) -> None:
    deliver(client, insert("units", unit_row()))
    WebhookDelivery.objects.update(status="failed", attempts=2, next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert webhook_apply.deliveries_sweep().applied == 1
    assert WebhookDelivery.objects.get().attempts == 3


def test_the_sweeper_is_on_the_beat_schedule() -> None:
    entry = celery_app.conf.beat_schedule["rentengine-webhooks-sweep"]
    assert entry["task"] == "rentengine.webhooks_sweep"
    assert float(entry["schedule"]) == 60


def test_the_sweep_task_sweeps(client: Client) -> None:
    deliver(client, insert("units", unit_row()))
    received_ago(3600)
    assert webhooks_sweep()["applied"] == 1


def test_the_apply_task_clears_its_request_flag_before_claiming_and_applies_everything_waiting(client: Client) -> None:
    assert webhook_tasks.apply_request_flag_set()
    for n in range(1, 4):
        deliver(client, insert("units", unit_row(n)))
    result = webhooks_apply()
    assert (result["applied"], result["changed"]) == (3, {"units": 3})
    assert not webhook_tasks.apply_request_flag_is_set()


def test_the_apply_task_with_ids_applies_exactly_those_again(client: Client) -> None:
    deliver(client, insert("units", unit_row(1)))
    deliver(client, insert("units", unit_row(2)))
    first = WebhookDelivery.objects.get(record_id="1")
    assert webhooks_apply([first.pk])["claimed"] == 1
    assert list(Unit.objects.values_list("id", flat=True)) == [1]


# --- replay ----------------------------------------------------------------------------------------


def replay(*args: str) -> str:
    out = StringIO()
    call_command("rentengine_webhooks_replay", *args, stdout=out)
    return out.getvalue()


def test_replaying_failed_deliveries_applies_them(client: Client) -> None:
    deliver(client, insert("units", unit_row()))
    WebhookDelivery.objects.update(status="failed", attempts=8, last_error="boom")
    assert "replayed 1 of 1 deliveries: 1 applied, 0 ignored, 0 failed; mirror rows changed: 1 units" in replay(
        "--status", "failed"
    )
    assert WebhookDelivery.objects.get().status == "applied"
    assert Unit.objects.count() == 1


def test_replaying_by_id_and_by_age(client: Client) -> None:
    deliver(client, insert("units", unit_row(1)))
    received_ago(7200)
    deliver(client, insert("units", unit_row(2)))
    old = WebhookDelivery.objects.get(record_id="1")
    assert "replayed 1 of 1" in replay("--id", str(old.pk))
    assert "replayed 1 of 1" in replay("--since", "1h")
    assert set(Unit.objects.values_list("id", flat=True)) == {1, 2}


def test_replaying_an_applied_delivery_again_changes_nothing(client: Client) -> None:
    deliver(client, update("units", unit_row(version=5, status="Leased")))
    webhook_apply.deliveries_apply_pending()
    deliver(client, update("units", unit_row(version=9, status="On Hold")))
    webhook_apply.deliveries_apply_pending()
    assert "mirror rows changed: nothing" in replay("--since", "2026-01-01")
    assert Unit.objects.get().status == "On Hold", "the older delivery replayed does not win"


def test_a_dry_run_counts_without_applying(client: Client) -> None:
    deliver(client, insert("units", unit_row()))
    assert replay("--status", "received", "--dry-run").strip() == "1 deliveries would be replayed"
    assert Unit.objects.count() == 0


def test_replay_wants_to_be_told_what(client: Client) -> None:
    with pytest.raises(CommandError, match="say what to replay"):
        replay()
    with pytest.raises(CommandError, match="--since takes"):
        replay("--since", "yesterday-ish")


def test_replay_exits_non_zero_when_deliveries_fail(client: Client) -> None:
    deliver(client, insert("units", {"id": "x", "account_id": ACCOUNT}))
    with pytest.raises(CommandError, match="1 deliveries failed"):
        replay("--status", "received")


# --- health ----------------------------------------------------------------------------------------


def test_health_reports_the_last_hour_by_status_failures_backlog_and_the_last_delivery(client: Client) -> None:
    deliver(client, insert("units", unit_row(1)))
    deliver(client, insert("units", {"id": "x", "account_id": ACCOUNT}))
    webhook_apply.deliveries_apply_pending()
    deliver(client, insert("rental_application_groups", {"id": "rag"}))
    deliver(client, insert("units", unit_row(2)))
    WebhookDelivery.objects.filter(record_id="2").update(received_at=timezone.now() - timedelta(minutes=5))
    deliver(client, insert("units", unit_row(3)), key="wrong")
    health = webhooks.webhook_health()
    assert health["last_hour"] == {"received": 1, "applied": 1, "ignored": 1, "failed": 1, "held": 0}
    assert health["last_hour_total"] == 4
    assert (health["waiting"], health["failed"], health["failed_retrying"]) == (1, 1, 0)
    assert 299 < health["oldest_waiting_age_seconds"] < 310
    assert health["last_delivery_age_seconds"] < 5
    assert health["recent_failures"][0]["last_error"].startswith("record not readable")
    assert health["ignored_tables_last_day"] == {"rental_application_groups": 1}
    assert (health["rejected_today"], health["last_rejection_reason"]) == (1, "wrong key")
    assert health["key_configured"] is True


def test_health_of_an_empty_inbox_says_so() -> None:
    health = webhooks.webhook_health()
    assert health["last_delivery_at"] is None
    assert health["last_delivery_age_seconds"] is None
    assert health["last_hour_total"] == 0
    assert health["last_rejection_at"] is None


# --- asking for an apply ---------------------------------------------------------------------------


def test_only_one_apply_is_queued_while_one_is_waiting_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    queued: list[int] = []
    monkeypatch.setattr(webhooks_apply, "delay", lambda *args, **kwargs: queued.append(1))
    webhook_tasks.apply_request_flag_clear()
    webhook_tasks.deliveries_apply_soon()
    webhook_tasks.deliveries_apply_soon()
    assert queued == [1]
    webhook_tasks.apply_request_flag_clear()  # what the task does as it starts
    webhook_tasks.deliveries_apply_soon()
    assert queued == [1, 1]
    webhook_tasks.apply_request_flag_clear()


def test_a_broker_that_is_down_is_logged_and_leaves_the_flag_down_for_the_next_delivery(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(webhooks_apply, "delay", down)
    webhook_tasks.apply_request_flag_clear()
    webhook_tasks.deliveries_apply_soon()
    assert "the sweeper will apply the waiting deliveries" in caplog.text
    assert not webhook_tasks.apply_request_flag_is_set()
