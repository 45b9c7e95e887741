"""How long operational history is kept: one daily pass prunes what nobody needs any more.

Nothing still needed is touched: failed and held webhook deliveries stay for operators, outbox rows
are pruned only long after undo (minutes) and never while unknown, and the mirror itself is never
pruned here (its tombstones are part of the data).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.utils import timezone

from dashboard import submit_once
from dashboard.models import BulkAssignment
from integrations.rentengine import outbox, sync, webhooks
from integrations.rentengine.models import OutboxAssignment


def retention_prune() -> dict[str, Any]:
    """Prune by the RETENTION_* settings (days); returns how many rows each kind lost."""
    now = timezone.now()

    def before(days: int) -> Any:
        return now - timedelta(days=days)

    pruned = {
        "webhook_deliveries": webhooks.deliveries_prune(before(settings.RETENTION_WEBHOOK_DAYS)),
        "outbox_rows": outbox.rows_prune(before(settings.RETENTION_OUTBOX_DAYS)),
        "sync_runs": sync.runs_prune(before(settings.RETENTION_SYNC_RUN_DAYS)),
        "login_records": AccessLog.objects.filter(attempt_time__lt=before(settings.RETENTION_LOGIN_DAYS)).delete()[0]
        + AccessAttempt.objects.filter(attempt_time__lt=before(settings.RETENTION_LOGIN_DAYS)).delete()[0],
    }
    # A job is kept while it has rows: its page is its rows' story.
    old_jobs = BulkAssignment.objects.filter(created_at__lt=before(settings.RETENTION_OUTBOX_DAYS))
    pruned["bulk_jobs"] = old_jobs.exclude(pk__in=OutboxAssignment.objects.values("job_id")).delete()[0]
    pruned["submit_keys"] = submit_once.keys_prune(now - submit_once.KEEP)
    return pruned
