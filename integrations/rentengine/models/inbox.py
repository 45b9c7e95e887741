"""The webhook inbox: every authentic delivery stored raw before it is answered, then applied.

The row keeps what happened (status, attempts, last error) so operators can see and replay it;
refused requests are only counted, one row per day.
"""

from __future__ import annotations

from django.db import models


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        RECEIVED = "received", "Received, not applied yet"
        APPLIED = "applied", "Applied to the mirror"
        IGNORED = "ignored", "Stored, not applied (a table we don't handle, or nothing to apply)"
        FAILED = "failed", "Applying failed"
        HELD = "held", "Held: an account the token never listed, or an account move a sync must confirm"

    # Upstash-Message-Id when QStash sent one (the same across its retries), else a hash of the body.
    dedupe_key = models.CharField(max_length=200, unique=True)
    received_at = models.DateTimeField()
    table = models.CharField(max_length=64)
    type = models.CharField(max_length=8, help_text="INSERT, UPDATE or DELETE")
    record_id = models.CharField(max_length=64, blank=True, help_text="The id of the record or old record, as sent.")
    message_id = models.CharField(max_length=200, blank=True, help_text="Upstash-Message-Id")
    retried = models.PositiveIntegerField(default=0, help_text="Upstash-Retried: how many times QStash had tried before")
    headers = models.JSONField(default=dict, blank=True, help_text="Selected request headers (never the API key).")
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    body = models.TextField(help_text="The request body exactly as received (UTF-8 JSON).")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="When a failed delivery is tried again.")

    class Meta:
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["received_at"], name="delivery_received_at"),
            # Partial indexes keep claiming cheap however large the applied history grows.
            models.Index(fields=["id"], condition=models.Q(status="received"), name="delivery_pending"),
            models.Index(fields=["next_attempt_at"], condition=models.Q(status="failed"), name="delivery_failed"),
            models.Index(fields=["next_attempt_at"], condition=models.Q(status="held"), name="delivery_held"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.table} {self.record_id} ({self.status})"


class WebhookRejection(models.Model):
    """Requests refused for their key, counted per day (UTC): how many, and the last one's time and reason."""

    day = models.DateField(unique=True)
    count = models.PositiveIntegerField(default=0)
    last_at = models.DateTimeField(null=True, blank=True)
    last_reason = models.CharField(max_length=100, blank=True)
    last_remote_addr = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"{self.count} rejected on {self.day}"
