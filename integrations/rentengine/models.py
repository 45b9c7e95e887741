"""The local mirror of RentEngine. Every screen reads these tables; only sync and webhooks write them."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Account(models.Model):
    """A RentEngine account (uuid). RentEngine has no accounts endpoint: accounts are discovered from
    the account_id on synced rows, or added in the admin; the name is ours to set."""

    id = models.UUIDField(primary_key=True)
    name = models.CharField(max_length=200, blank=True)
    time_zone = models.CharField(
        max_length=64, default=settings.TIME_ZONE, help_text="Times on this account's screens show in this zone."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name or f"Account {str(self.id)[:8]}"
