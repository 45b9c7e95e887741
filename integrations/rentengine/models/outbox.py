"""The outbox: "Assign to User" leasing events waiting to be posted to RentEngine, one row per prospect.

A row is the whole truth about its prospect's part in a bulk assignment (the dashboard's job keeps
only what was asked: who, by whom, when). Rows are written in the same transaction as their job and
posted by workers that claim due rows (ARCHITECTURE path 3, RELIABILITY 2.4-2.5).

States and what moves a row between them (integrations.rentengine.outbox.send):

    queued --claim--> sending --201--> done
                         |--not sent (connect error, 429, 503, no slot)--> queued (next_attempt_at later)
                         |--4xx--> failed (reason)
                         '--timeout after sending, 5xx, worker died--> unknown
    unknown --reconciler finds our reference in the prospect's events--> done
            --reconciler proves it absent--> queued
            --RentEngine can't tell--> unknown with needs_decision (an operator: "mark sent" / "resend")
    queued --claim finds the prospect already assigned to exactly these users--> skipped

The job lives in the dashboard app, which imports this one and never the reverse: rows point at it
by `job_id` alone.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone

from integrations.rentengine.models.mirror import Account, Prospect


class OutboxAssignment(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        UNKNOWN = "unknown", "Unknown"
        SKIPPED = "skipped", "Skipped"

    TERMINAL = frozenset({State.DONE, State.FAILED, State.SKIPPED})
    PENDING = frozenset({State.QUEUED, State.SENDING, State.UNKNOWN})

    job_id = models.BigIntegerField(help_text="The dashboard's bulk assignment this row belongs to.")
    # No index of their own: rows are found by job, by due time or by lead, never by account or prospect.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    prospect = models.ForeignKey(
        Prospect, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="outbox_rows"
    )
    # What to post. Kept per row: an undo posts each prospect back to its own previous assignees.
    user_ids = models.JSONField(default=list, help_text="RentEngine user ids to assign the prospect to.")
    apply_in_bulk = models.BooleanField(default=False, help_text="Also assign the prospects with the same phone.")
    source = models.CharField(max_length=40)
    note = models.TextField(blank=True, help_text="The note as written; the posted notes end with the row's reference.")
    # A prospect whose same-phone lead row will cover it with one post; released if that post doesn't.
    covered_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="covers", db_index=False
    )
    # Undo only: the assignment event that must still be the prospect's latest, or the row is skipped.
    expect_event_id = models.BigIntegerField(null=True, blank=True)

    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    reason = models.TextField(blank=True, help_text="Why it failed, was skipped, or is unknown.")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Posts tried (each one a claim).")
    next_attempt_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="queued: when it is due; unknown: when the reconciler looks next (none: an operator decides).",
    )
    attempt_started_at = models.DateTimeField(null=True, blank=True)
    reconcile_checks = models.PositiveSmallIntegerField(default=0)
    needs_decision = models.BooleanField(default=False, help_text="unknown and RentEngine can't tell: an operator decides.")
    completed_at = models.DateTimeField(null=True, blank=True)
    # The events RentEngine created: [{prospect_id, event_id, previous: [user ids]}] (several with
    # apply_in_bulk), which is what undo re-assigns from.
    result = models.JSONField(default=list, blank=True)
    log = models.JSONField(default=list, blank=True, help_text="Every attempt and decision: [{at, what, detail}].")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # Few and partial: a job writes up to thousands of rows in the one transaction the agent waits
        # on, and every index is written per row. Finished rows leave the "pending" index.
        indexes = [
            models.Index(
                fields=["state", "next_attempt_at", "id"],
                name="outbox_pending",
                condition=models.Q(state__in=["queued", "sending", "unknown"]),
            ),
            models.Index(fields=["covered_by"], name="outbox_covered_by", condition=models.Q(covered_by__isnull=False)),
        ]
        # Also the index a job's rows are read by.
        constraints = [models.UniqueConstraint(fields=["job_id", "prospect"], name="outbox_job_prospect_unique")]

    def __str__(self) -> str:
        return f"Outbox #{self.pk} ({self.state}): prospect {self.prospect_id}"

    @property
    def reference(self) -> str:
        """The tag the posted notes end with, so the reconciler can find exactly this post."""
        return outbox_reference(self.job_id, self.pk)

    @property
    def notes(self) -> str:
        return f"{self.note} · {self.reference}" if self.note else self.reference

    @property
    def is_terminal(self) -> bool:
        return self.state in self.TERMINAL

    def log_add(self, what: str, detail: str = "", **extra: Any) -> None:
        entry = {"at": timezone.now().isoformat(), "what": what, **({"detail": detail[:300]} if detail else {}), **extra}
        self.log = [*self.log[-(LOG_KEEP - 1) :], entry]


LOG_KEEP = 30


def outbox_reference(job_id: int, row_id: int | None) -> str:
    return f"bulk #{job_id}-{row_id}"
