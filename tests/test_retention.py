"""The daily retention pass forgets old history and keeps everything someone may still need."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from dashboard.models import BulkAssignment
from dashboard.tasks import retention_prune
from integrations.rentengine.models import OutboxAssignment, SyncRun, WebhookDelivery

pytestmark = pytest.mark.django_db


def delivery(n: int, status: str, days_ago: int) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        dedupe_key=f"msg:{n}", received_at=timezone.now() - timedelta(days=days_ago), table="units", type="INSERT",
        body="{}", status=status,
    )  # fmt: skip


def row(job: BulkAssignment, prospect_id: int, state: str, days_ago: int | None) -> OutboxAssignment:
    completed = timezone.now() - timedelta(days=days_ago) if days_ago is not None else None
    return OutboxAssignment.objects.create(
        job_id=job.pk, account=job.account, prospect_id=prospect_id, user_ids=["u"], source="Leasing Agent", state=state,
        completed_at=completed,
    )  # fmt: skip


def test_old_history_goes_and_whatever_is_still_needed_stays(maple: Any, mia: Any) -> None:
    delivery(1, "applied", 40)
    kept_recent = delivery(2, "applied", 5)
    kept_failed = delivery(3, "failed", 400)
    kept_held = delivery(4, "held", 40)
    old_job = BulkAssignment.objects.create(account=maple, created_by=mia, user_ids=["u"], source="Leasing Agent")
    BulkAssignment.objects.filter(pk=old_job.pk).update(created_at=timezone.now() - timedelta(days=200))
    row(old_job, 1, "done", 100)
    live_job = BulkAssignment.objects.create(account=maple, created_by=mia, user_ids=["u"], source="Leasing Agent")
    BulkAssignment.objects.filter(pk=live_job.pk).update(created_at=timezone.now() - timedelta(days=200))
    row(live_job, 2, "done", 100)
    unknown = row(live_job, 3, "unknown", None)  # still to be reconciled: never pruned
    now = timezone.now()
    SyncRun.objects.create(
        resource="units", kind="full", started_at=now - timedelta(days=60), finished_at=now - timedelta(days=60), outcome="ok"
    )
    recent_run = SyncRun.objects.create(resource="units", kind="full", started_at=now, finished_at=now, outcome="ok")

    pruned = retention_prune()

    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {kept_recent.pk, kept_failed.pk, kept_held.pk}
    assert list(OutboxAssignment.objects.values_list("pk", flat=True)) == [unknown.pk]
    assert list(BulkAssignment.objects.values_list("pk", flat=True)) == [live_job.pk]
    assert list(SyncRun.objects.values_list("pk", flat=True)) == [recent_run.pk]
    assert pruned["webhook_deliveries"] == 1
    assert pruned["outbox_rows"] == 2
