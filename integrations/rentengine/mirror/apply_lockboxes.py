"""Lockboxes, their events and installations into the mirror; each box's derived unit and last event."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from integrations.rentengine import vocabulary
from integrations.rentengine.client import (
    LockboxEventRecord,
    LockboxInstallationRecord,
    LockboxRecord,
)
from integrations.rentengine.mirror.fields import Applied, _cut, _mirror_fields, accounts_ensure
from integrations.rentengine.mirror.upsert import rows_update, upsert
from integrations.rentengine.models import (
    Lockbox,
    LockboxEvent,
    LockboxInstallation,
)

# --- lockboxes ------------------------------------------------------------------------------------

LOCKBOX_DERIVED = ("current_unit", "installed_at", "last_event_at")
PLACEMENT_TYPES = (vocabulary.LockboxEventType.INSTALL.value, vocabulary.LockboxEventType.UNINSTALL.value)


@transaction.atomic
def lockboxes_apply(records: Sequence[LockboxRecord], *, refresh: bool = True) -> Applied:
    now = timezone.now()
    usable = [r for r in records if r.account_id]
    accounts = accounts_ensure(r.account_id for r in usable)
    rows = [
        {
            **_mirror_fields(r, now),
            "id": r.id,
            "account_id": r.account_id,
            "lockbox_type": _cut(r.lockbox_type, 40),
            "serial_number": _cut(r.serial_number, 64),
            "created_at": r.created_at,
        }
        for r in usable
    ]
    changed = upsert(Lockbox, rows, keep=LOCKBOX_DERIVED)
    if changed:
        # Events and installations seen before their lockbox (webhook rows carry no account id).
        for model in (LockboxEvent, LockboxInstallation):
            model.objects.filter(lockbox_id__in=changed, account__isnull=True).update(
                account_id=models.Subquery(Lockbox.objects.filter(id=models.OuterRef("lockbox_id")).values("account_id")[:1])
            )
        if refresh:
            lockboxes_refresh(changed)
    return Applied(seen=len(records), changed_ids=changed, accounts=accounts)


@transaction.atomic
def lockbox_events_apply(records: Sequence[LockboxEventRecord], *, refresh: bool = True) -> Applied:
    now = timezone.now()
    owners = _lockbox_accounts(records)
    rows = [
        {
            **_mirror_fields(r, now),
            "source_updated_at": None,
            "id": r.id,
            "account_id": r.account_id or owners.get(r.lockbox_id),
            "lockbox_id": r.lockbox_id,
            "event_type": _cut(r.event_type, 40),
            "unit_id": r.unit_id,
            "metadata": r.metadata,
            "created_for": _cut(r.created_for, 200),
            "created_at": r.created_at,
        }
        for r in records
    ]
    return _lockbox_rows_write(LockboxEvent, records, rows, ("event_type", "unit_id", "metadata", "deleted_at"), refresh)


@transaction.atomic
def lockbox_installations_apply(records: Sequence[LockboxInstallationRecord], *, refresh: bool = True) -> Applied:
    now = timezone.now()
    owners = _lockbox_accounts(records)
    rows = [
        {
            **_mirror_fields(r, now),
            "source_updated_at": None,
            "id": r.id,
            "account_id": r.account_id or owners.get(r.lockbox_id),
            "lockbox_id": r.lockbox_id,
            "unit_id": r.unit_id,
            "serial_number": _cut(r.serial_number, 64),
            "installed_at": r.installed_at,
            "uninstalled_at": r.uninstalled_at,
        }
        for r in records
    ]
    return _lockbox_rows_write(
        LockboxInstallation, records, rows, ("unit_id", "installed_at", "uninstalled_at", "deleted_at"), refresh
    )


def _lockbox_accounts(records: Sequence[Any]) -> dict[str, str]:
    """Each record's lockbox's account (the rows of a lockbox's events and installations may lack one)."""
    ids = {r.lockbox_id for r in records}
    return {str(k): str(v) for k, v in Lockbox.objects.filter(id__in=ids).values_list("id", "account_id")}


def _lockbox_rows_write(
    model: type[LockboxEvent] | type[LockboxInstallation],
    records: Sequence[Any],
    rows: list[dict[str, Any]],
    compare: tuple[str, ...],
    refresh: bool,
) -> Applied:
    """Upsert a lockbox's event or installation rows, then recompute the lockboxes they changed."""
    accounts = accounts_ensure(row["account_id"] for row in rows)
    changed = upsert(model, rows, compare=compare)
    if changed and refresh:
        changed_set = {str(c) for c in changed}
        lockboxes_refresh({r.lockbox_id for r in records if r.id in changed_set})
    return Applied(seen=len(records), changed_ids=changed, accounts=accounts)


@transaction.atomic
def lockboxes_refresh(lockbox_ids: Iterable[Any]) -> list[Any]:
    """Recompute each lockbox's current unit and last event time, in the database.

    The latest installation decides where a box is (none if it was uninstalled); when RentEngine
    gives us no installations for a box, its latest Install/Uninstall event decides.
    """
    ids = sorted({str(i) for i in lockbox_ids})
    if not ids:
        return []
    list(Lockbox.objects.filter(id__in=ids).select_for_update().order_by("id").values_list("id", flat=True))
    events = LockboxEvent.objects.filter(lockbox_id=models.OuterRef("id"), deleted_at__isnull=True).order_by("-created_at", "-id")
    placements = events.filter(event_type__in=PLACEMENT_TYPES)
    installs = LockboxInstallation.objects.filter(lockbox_id=models.OuterRef("id"), deleted_at__isnull=True).order_by(
        "-installed_at", "-id"
    )
    boxes = list(
        Lockbox.objects.filter(id__in=ids)
        .annotate(
            last_event=models.Subquery(events.values("created_at")[:1]),
            placement_id=models.Subquery(placements.values("id")[:1]),
            install_id=models.Subquery(installs.values("id")[:1]),
        )
        .values_list("id", "current_unit_id", "installed_at", "last_event_at", "last_event", "placement_id", "install_id")
    )
    placement = {
        e[0]: e[1:]
        for e in LockboxEvent.objects.filter(id__in=[b[5] for b in boxes if b[5]]).values_list(
            "id", "event_type", "unit_id", "created_at"
        )
    }
    install = {
        i[0]: i[1:]
        for i in LockboxInstallation.objects.filter(id__in=[b[6] for b in boxes if b[6]]).values_list(
            "id", "unit_id", "installed_at", "uninstalled_at"
        )
    }
    changed = []
    for box_id, unit_before, installed_before, last_before, last_event, placement_id, install_id in boxes:
        unit_id, installed_at = None, None
        event = placement[placement_id] if placement_id is not None else None
        if install_id is not None:
            install_unit, install_at, install_ended = install[install_id]
            if install_ended is None:
                unit_id, installed_at = install_unit, install_at
            # An Install/Uninstall newer than anything the installations say (one we just posted,
            # before the next installations sync) decides.
            known = max(t for t in (install_at, install_ended) if t is not None) if (install_at or install_ended) else None
            if event is not None and known is not None and event[2] > known:
                unit_id, installed_at = (event[1], event[2]) if event[0] == vocabulary.LockboxEventType.INSTALL else (None, None)
        elif event is not None and event[0] == vocabulary.LockboxEventType.INSTALL:
            unit_id, installed_at = event[1:]
        if (unit_id, installed_at, last_event) != (unit_before, installed_before, last_before):
            changed.append({"id": box_id, "current_unit_id": unit_id, "installed_at": installed_at, "last_event_at": last_event})
    rows_update(Lockbox, changed, ["current_unit", "installed_at", "last_event_at"])
    return [row["id"] for row in changed]
