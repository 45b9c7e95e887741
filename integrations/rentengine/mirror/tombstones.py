"""Deletions (never hard) and the full recompute of derived state after a full pass."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from integrations.rentengine.mirror.apply_leasing import prospects_refresh
from integrations.rentengine.mirror.apply_lockboxes import lockboxes_refresh
from integrations.rentengine.models import (
    LeasingEvent,
    Lockbox,
    LockboxEvent,
    LockboxInstallation,
    MirrorRow,
    Prospect,
)

# What each kind of derived state is computed from (the tables a full pass of them fills).
DERIVED_SOURCES: dict[type[MirrorRow], tuple[type[MirrorRow], ...]] = {
    Prospect: (Prospect, LeasingEvent),
    Lockbox: (Lockbox, LockboxEvent, LockboxInstallation),
}


def derived_refresh_all(model: type[Prospect] | type[Lockbox], *, batch: int = 1000) -> int:
    """Recompute every alive prospect's (or lockbox's) derived state, a batch per transaction.

    A full pass applies its pages with `refresh=False` and calls this once at the end for the state
    it feeds: each row is recomputed once instead of once per page its events appear on. On
    PostgreSQL the source tables are analyzed first: a first sync fills them faster than autovacuum
    notices, and with the empty tables' statistics every batch's event query scans the whole table.
    Returns how many rows' derived state changed.
    """
    refresh = prospects_refresh if model is Prospect else lockboxes_refresh
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(m._meta.db_table) for m in DERIVED_SOURCES[model]))
    ids = list(model.objects.alive().order_by("pk").values_list("pk", flat=True))
    return sum(len(refresh(ids[start : start + batch])) for start in range(0, len(ids), batch))


# --- tombstones -----------------------------------------------------------------------------------


@transaction.atomic
def rows_tombstone(model: type[MirrorRow], ids: Iterable[Any], *, reason: str, version: datetime | None = None) -> list[Any]:
    """Mark rows deleted (never removed). `version`: the deleted state's updated_at, so that a late
    UPDATE carrying an older version cannot bring the row back. Returns the ids newly tombstoned."""
    ids = list(ids)
    if not ids:
        return []
    now = timezone.now()
    alive = list(model.objects.filter(pk__in=ids, deleted_at__isnull=True).values_list("pk", flat=True))
    model.objects.filter(pk__in=alive).update(deleted_at=now, tombstone_reason=reason, synced_at=now)
    if version is not None:
        model.objects.filter(pk__in=ids).filter(
            models.Q(source_updated_at__lt=version) | models.Q(source_updated_at__isnull=True)
        ).update(source_updated_at=version)
    if reason != MirrorRow.Tombstone.MISSING:
        # A deliberate deletion is final for older states, even for a row we had marked missing.
        model.objects.filter(pk__in=ids, tombstone_reason=MirrorRow.Tombstone.MISSING).update(tombstone_reason=reason)
    if model is LeasingEvent and alive:
        prospects_refresh(LeasingEvent.objects.filter(pk__in=alive).values_list("prospect_id", flat=True))
    if model in (LockboxEvent, LockboxInstallation) and alive:
        lockboxes_refresh(model.objects.filter(pk__in=alive).values_list("lockbox_id", flat=True))
    return alive
