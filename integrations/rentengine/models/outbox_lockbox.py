"""The lockbox outbox: codes asked for and installs/removals marked from the dashboard, each posted to
RentEngine exactly once (POST /lockboxes/generate_code, POST /lockbox_events; API-FACTS 2.1, 2.2).

Same life as an assignment row (integrations.rentengine.models.outbox) and the same drain posts it:

    queued --claim--> sending --2xx--> done
                         |--not sent (connect error, 429, 503)--> queued (later)
                         |--4xx--> failed (reason)
                         '--timeout after sending, 5xx, worker died--> unknown
    unknown --the reconciler finds the event the post wrote--> done (a code's answer is then lost)
            --it proves no such event--> queued
    queued --claim finds the mirror already there (box installed / removed)--> skipped

Who asked, why and for which showing are kept here (and shown on the lockbox's timeline), never
logged; the code itself is kept for the person who asked.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from integrations.rentengine.models.mirror import Account
from integrations.rentengine.models.outbox import OutboxAssignment

LOG_KEEP = 30


class OutboxLockboxPost(models.Model):
    class Kind(models.TextChoices):
        CODE = "code", "Code"
        INSTALL = "Install", "Mark installed"
        UNINSTALL = "Uninstall", "Mark removed"

    State = OutboxAssignment.State  # one outbox, one set of row states
    TERMINAL = OutboxAssignment.TERMINAL

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    lockbox_id = models.UUIDField()
    unit_id = models.BigIntegerField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    why = models.TextField(blank=True, help_text="The reason given by the person who asked (never logged).")
    showing_id = models.BigIntegerField(null=True, blank=True, help_text="The showing the code is for, if one was chosen.")
    created_for = models.CharField(max_length=200, blank=True, help_text="Sent with a code; ends with the row's reference.")
    valid_date = models.DateField(null=True, blank=True)

    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    outcome = models.TextField(blank=True, help_text="Why it failed, was skipped, or is unknown.")
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    attempt_started_at = models.DateTimeField(null=True, blank=True)
    reconcile_checks = models.PositiveSmallIntegerField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True)
    # The answer: a code's `code`, `lockboxType`, `instructions`; an event's `event_id`.
    code = models.CharField(max_length=40, blank=True)
    instructions = models.TextField(blank=True)
    lockbox_type = models.CharField(max_length=40, blank=True)
    event_id = models.UUIDField(null=True, blank=True)
    log = models.JSONField(
        default=list, blank=True, help_text="Attempts and outcomes: [{at, what, detail}] (no reason, no code)."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(
                fields=["state", "next_attempt_at", "id"],
                name="outbox_lockbox_pending",
                condition=models.Q(state__in=["queued", "sending", "unknown"]),
            ),
            models.Index(fields=["lockbox_id", "-created_at"], name="outbox_lockbox_box"),
        ]

    def __str__(self) -> str:
        return f"Lockbox post #{self.pk} ({self.kind}, {self.state})"

    @property
    def reference(self) -> str:
        return lockbox_post_reference(self.pk)

    @property
    def is_terminal(self) -> bool:
        return self.state in self.TERMINAL

    def log_add(self, what: str, detail: str = "", **extra: Any) -> None:
        entry = {"at": timezone.now().isoformat(), "what": what, **({"detail": detail[:300]} if detail else {}), **extra}
        self.log = [*self.log[-(LOG_KEEP - 1) :], entry]


def lockbox_post_reference(row_id: int | None) -> str:
    return f"desk #{row_id}"
