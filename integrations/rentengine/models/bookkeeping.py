"""How fresh the mirror is: one row of sync state per resource, a short history of runs, the
full-pass sightings that detect deletions, and the per-scope change counters live screens follow."""

from __future__ import annotations

from django.db import models


class SyncState(models.Model):
    """One per RentEngine resource (a token spans its accounts, so passes are token-wide).

    A run is a chain of short Celery steps; `run_id` + `lease_expires_at` make it one run at a time
    per resource, and a lease a dead worker cannot hold forever. `progress` is where the next step
    resumes (page number, window...).
    """

    class Mode(models.TextChoices):
        NORMAL = "normal", "Normal"
        FALLBACK = "fallback", "Fallback"
        OFF = "off", "Off"

    class Outcome(models.TextChoices):
        NONE = "", "Never ran"
        OK = "ok", "Succeeded"
        FAILED = "failed", "Failed"

    resource = models.CharField(max_length=40, unique=True)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.NORMAL)
    notice = models.TextField(blank=True, help_text="Why the resource runs in fallback or is off.")
    mode_changed_at = models.DateTimeField(null=True, blank=True)
    cursor = models.DateTimeField(null=True, blank=True, help_text="Newest change seen by a finished pass.")
    # the run in progress
    run_id = models.UUIDField(null=True, blank=True)
    run_kind = models.CharField(max_length=12, blank=True)
    run_started_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    progress = models.JSONField(default=dict, blank=True)
    # the last finished run
    last_kind = models.CharField(max_length=12, blank=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_outcome = models.CharField(max_length=8, choices=Outcome.choices, blank=True)
    last_rows_seen = models.IntegerField(default=0)
    last_rows_changed = models.IntegerField(default=0)
    last_requests = models.IntegerField(default=0)
    last_duration_ms = models.IntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_error_kind = models.CharField(max_length=40, blank=True, help_text="The error's class, e.g. TokenRejected.")
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_full_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.IntegerField(default=0)

    class Meta:
        ordering = ["resource"]

    def __str__(self) -> str:
        return f"sync state of {self.resource}"


class SyncRun(models.Model):
    """A finished run, for the /sync/ page's history."""

    resource = models.CharField(max_length=40)
    kind = models.CharField(max_length=12)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    outcome = models.CharField(max_length=8)
    rows_seen = models.IntegerField(default=0)
    rows_changed = models.IntegerField(default=0)
    requests = models.IntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-finished_at"]
        indexes = [models.Index(fields=["resource", "-finished_at"], name="syncrun_resource_finished")]

    def __str__(self) -> str:
        return f"{self.kind} sync of {self.resource} at {self.finished_at:%Y-%m-%d %H:%M}"


class SyncSighting(models.Model):
    """A row listed by the full pass in progress (cleared when a full pass starts)."""

    resource = models.CharField(max_length=40)
    row_id = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["resource", "row_id"], name="sync_sighting_unique")]

    def __str__(self) -> str:
        return f"{self.resource} {self.row_id}"


class SyncMiss(models.Model):
    """A row that the last full pass(es) did not list; two misses in a row make it a tombstone."""

    resource = models.CharField(max_length=40)
    row_id = models.CharField(max_length=64)
    passes = models.PositiveSmallIntegerField(default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["resource", "row_id"], name="sync_miss_unique")]

    def __str__(self) -> str:
        return f"{self.resource} {self.row_id} missed {self.passes}x"


class ScopeVersion(models.Model):
    """A counter per screen scope ("prospects:<account>", "sync"...) bumped whenever what the scope
    shows changes; open pages compare versions to know what to refetch."""

    scope = models.CharField(max_length=80, primary_key=True)
    version = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.scope} v{self.version}"


class QuarantinedRecord(models.Model):
    """A record the database refused even on its own: kept aside so the rest of its page applies.

    `raw` is the record's JSON as text (escaped, so even the characters that got it refused can be
    stored); every sync pass of its resource tries it again, and a manager can from /sync/.
    """

    resource = models.CharField(max_length=40)
    record_id = models.CharField(max_length=64)
    record_type = models.CharField(max_length=60)
    account_id = models.UUIDField(null=True, blank=True)
    raw = models.TextField()
    error = models.TextField(help_text="What the database said, first line only (never the record's contents).")
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["resource", "record_id"], name="quarantine_one_per_record")]

    def __str__(self) -> str:
        return f"quarantined {self.resource} {self.record_id}"
