"""What /sync/ shows operators about webhooks: the last hour by status, the backlog, failures, refusals."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Min, Sum
from django.utils import timezone

from integrations.rentengine.models import WebhookDelivery, WebhookRejection
from integrations.rentengine.webhooks.receive import webhook_keys

Status = WebhookDelivery.Status


def webhook_health(*, now: datetime | None = None, failures: int = 10) -> dict[str, Any]:
    """What /sync/ shows about webhooks: last hour by status, failures, backlog, last delivery, rejections.

    Every figure comes from an indexed query (received_at, and the partial indexes on waiting and
    failed rows), so this stays cheap however long the inbox grows.
    """
    now = now or timezone.now()
    hour_ago = now - timedelta(hours=1)
    last_hour = {status.value: 0 for status in Status}
    for row in WebhookDelivery.objects.filter(received_at__gte=hour_ago).values("status").annotate(n=Count("id")).order_by():
        last_hour[row["status"]] = row["n"]
    last_received = WebhookDelivery.objects.aggregate(at=Max("received_at"))["at"]
    waiting = WebhookDelivery.objects.filter(status=Status.RECEIVED).aggregate(n=Count("id"), oldest=Min("received_at"))
    failed = WebhookDelivery.objects.filter(status=Status.FAILED)
    recent_failures = [
        {
            "id": d.pk,
            "table": d.table,
            "type": d.type,
            "record_id": d.record_id,
            "received_at": d.received_at,
            "attempts": d.attempts,
            "last_error": d.last_error,
            "next_attempt_at": d.next_attempt_at,
        }
        for d in failed.order_by("-received_at")[:failures].only(
            "id", "table", "type", "record_id", "received_at", "attempts", "last_error", "next_attempt_at"
        )
    ]
    ignored_tables = {
        row["table"]: row["n"]
        for row in WebhookDelivery.objects.filter(status=Status.IGNORED, received_at__gte=now - timedelta(days=1))
        .values("table")
        .annotate(n=Count("id"))
        .order_by()
    }
    held = WebhookDelivery.objects.filter(status=Status.HELD)
    recent_held = [
        {
            "id": d.pk,
            "table": d.table,
            "type": d.type,
            "record_id": d.record_id,
            "received_at": d.received_at,
            "reason": d.last_error,
        }
        for d in held.order_by("-received_at")[:failures].only("id", "table", "type", "record_id", "received_at", "last_error")
    ]
    today = WebhookRejection.objects.filter(day=now.date()).first()
    last_rejection = WebhookRejection.objects.exclude(last_at=None).order_by("-last_at").first()
    week = WebhookRejection.objects.filter(day__gt=now.date() - timedelta(days=7)).aggregate(n=Sum("count"))["n"] or 0
    return {
        "key_configured": bool(webhook_keys()),
        "rotation_key_configured": bool(settings.RENTENGINE_WEBHOOK_API_KEY_PREVIOUS),
        "last_hour": last_hour,
        "last_hour_total": sum(last_hour.values()),
        "last_delivery_at": last_received,
        "last_delivery_age_seconds": (now - last_received).total_seconds() if last_received else None,
        "waiting": waiting["n"],
        "oldest_waiting_age_seconds": (now - waiting["oldest"]).total_seconds() if waiting["oldest"] else None,
        "failed": failed.count(),
        "failed_retrying": failed.exclude(next_attempt_at=None).count(),
        "recent_failures": recent_failures,
        "ignored_tables_last_day": ignored_tables,
        "held": held.count(),
        "recent_held": recent_held,
        "rejected_today": today.count if today else 0,
        "rejected_last_7_days": week,
        "last_rejection_at": last_rejection.last_at if last_rejection else None,
        "last_rejection_reason": last_rejection.last_reason if last_rejection else "",
    }


def deliveries_prune(before: datetime) -> int:
    """Forget applied and ignored deliveries received before `before` (failed and held ones stay for operators)."""
    done = WebhookDelivery.objects.filter(status__in=[Status.APPLIED, Status.IGNORED], received_at__lt=before)
    rejections = WebhookRejection.objects.filter(day__lt=before.date())
    return done.delete()[0] + rejections.delete()[0]
