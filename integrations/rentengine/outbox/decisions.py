"""What people decide about outbox rows: mark sent, send again, retry a job's failures, fail what waits."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from integrations.rentengine.models import OutboxAssignment
from integrations.rentengine.outbox.send import State, locked, row_settle


def row_mark_sent(row_id: int, *, by: str) -> bool:
    """An operator saw it in RentEngine: done (with no event known, so undo can't revert it)."""
    with transaction.atomic():
        row = OutboxAssignment.objects.select_for_update().filter(pk=row_id, state=State.UNKNOWN).first()
        if row is None:
            return False
        reason = f"marked sent by {by}"
        row.log_add("marked sent", by)
        row_settle(row, State.DONE, reason=reason)
        for follower in OutboxAssignment.objects.filter(covered_by=row, state=State.QUEUED):
            follower.log_add("marked sent", by)
            row_settle(follower, State.DONE, reason=f"{reason} (covered by the post for prospect {row.prospect_id})")
    return True


def row_resend(row_id: int, *, by: str) -> bool:
    """An operator checked it is not in RentEngine: post it again."""
    with transaction.atomic():
        row = OutboxAssignment.objects.select_for_update().filter(pk=row_id, state=State.UNKNOWN).first()
        if row is None:
            return False
        row.log_add("resend", by)
        row.covered_by = None
        row.next_attempt_at = timezone.now()
        row.attempts = 0
        row.reconcile_checks = 0
        row_settle(row, State.QUEUED, reason="", fields_also=["covered_by", "attempts", "reconcile_checks"])
    return True


def rows_retry_failed(job_id: int, *, by: str) -> int:
    """Queue a job's failed rows again (a person fixed the cause, or wants another try)."""
    with transaction.atomic():
        rows = list(locked(OutboxAssignment.objects.filter(job_id=job_id, state=State.FAILED)))
        now = timezone.now()
        for row in rows:
            row.log_add("retry", by)
            row.attempts = 0
            row.covered_by = None
            row.next_attempt_at = now
            row.completed_at = None
            row_settle(row, State.QUEUED, reason="", fields_also=["attempts", "covered_by", "completed_at"])
    return len(rows)


def rows_fail_queued(reason: str) -> int:
    """Nothing can be posted (no API token): end what is waiting, with the reason, rather than wait forever."""
    with transaction.atomic():
        rows = list(locked(OutboxAssignment.objects.filter(state=State.QUEUED)))
        for row in rows:
            row.log_add("failed", reason)
            row_settle(row, State.FAILED, reason=reason)
    return len(rows)


def rows_prune(before: datetime) -> int:
    """Forget rows settled before `before`: long past undo (minutes) and reconciling (unknown rows are never settled)."""
    return OutboxAssignment.objects.filter(state__in=OutboxAssignment.TERMINAL, completed_at__lt=before).delete()[0]
