"""The drain: post due rows and reconcile unknown ones for a time budget (what the Celery task runs)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.db.models import Min, Q
from django.utils import timezone

from integrations.rentengine.client import RentEngineClient
from integrations.rentengine.log_context import log_context
from integrations.rentengine.models import OutboxAssignment
from integrations.rentengine.outbox.lockbox_posts import (
    lockbox_post_claim,
    lockbox_post_reconcile,
    lockbox_post_reconcile_claim,
    lockbox_post_send,
    lockbox_posts_next_due,
    lockbox_posts_sweep,
)
from integrations.rentengine.outbox.reconcile import row_reconcile, row_reconcile_claim, rows_sweep
from integrations.rentengine.outbox.send import State, row_claim, row_send


@dataclass
class DrainReport:
    posted: int = 0
    done: int = 0
    failed: int = 0
    unknown: int = 0
    requeued: int = 0
    reconciled: int = 0
    swept: int = 0
    more: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def next_due_in(*, now: datetime | None = None) -> float | None:
    """Seconds until this process has something to do (0: now), or None when nothing is pending
    that a drain could act on. Rows `sending` elsewhere keep it looking (their worker may die)."""
    now = now or timezone.now()
    due = OutboxAssignment.objects.filter(
        Q(state=State.QUEUED, covered_by__isnull=True) | Q(state=State.UNKNOWN, needs_decision=False)
    ).aggregate(at=Min("next_attempt_at"))["at"]
    lockbox_due = lockbox_posts_next_due(now)  # codes and installs ride the same drain
    if lockbox_due is not None:
        due = lockbox_due if due is None else min(due, lockbox_due)
    if due is not None:
        return max(0.0, (due - now).total_seconds())
    if OutboxAssignment.objects.filter(state=State.SENDING).exists():
        return 1.0
    return None


def outbox_drain(
    client: RentEngineClient,
    *,
    budget: float,
    idle_poll: float = 0.25,
    sweep_every: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> DrainReport:
    """Post due rows and reconcile unknown ones for up to `budget` seconds; `more` says work remains."""
    report = DrainReport()
    deadline = time.monotonic() + budget
    next_sweep = 0.0
    while time.monotonic() < deadline:
        if time.monotonic() >= next_sweep:
            report.swept += rows_sweep() + lockbox_posts_sweep()
            next_sweep = time.monotonic() + sweep_every
        # A person waits on a code or an install: those go before bulk rows.
        lockbox_row = lockbox_post_claim()
        if lockbox_row is not None:
            outcome_state = lockbox_post_send(client, lockbox_row)
            report.posted += 1
            report.done += outcome_state == State.DONE
            report.failed += outcome_state == State.FAILED
            report.unknown += outcome_state == State.UNKNOWN
            report.requeued += outcome_state == State.QUEUED
            continue
        row = row_claim()
        if row is not None:
            with log_context(job=row.job_id):
                outcome = row_send(client, row)
            report.posted += 1
            if outcome.state == State.DONE:
                report.done += 1
            elif outcome.state == State.FAILED:
                report.failed += 1
            elif outcome.state == State.UNKNOWN:
                report.unknown += 1
            else:
                report.requeued += 1
            continue
        lockbox_unknown = lockbox_post_reconcile_claim()
        if lockbox_unknown is not None:
            lockbox_post_reconcile(client, lockbox_unknown)
            report.reconciled += 1
            continue
        unknown = row_reconcile_claim()
        if unknown is not None:
            row_reconcile(client, unknown)
            report.reconciled += 1
            continue
        wait = next_due_in()
        if wait is None:
            return report
        sleep(max(0.01, min(wait, idle_poll, deadline - time.monotonic())))
    report.more = next_due_in() is not None
    return report
