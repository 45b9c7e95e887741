"""Records the database refuses are set aside one by one, so that no record can stop the mirror.

A batch the database refuses is applied again record by record (each in its own savepoint); a record
refused on its own is quarantined with the database's reason, and the rest of the batch lands.
Quarantined records are tried again by every pass of their resource and on a manager's request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from django.db import DataError, IntegrityError, transaction
from django.utils import timezone

import integrations.rentengine.client.records as record_types
from integrations.rentengine.client import Record, parse_record
from integrations.rentengine.mirror.fields import Applied
from integrations.rentengine.models import QuarantinedRecord

logger = logging.getLogger(__name__)

# What the database says about a record it can't take; anything else (a lost connection) is not the record's fault.
REFUSALS = (DataError, IntegrityError, ValueError, TypeError)


def refusal_text(exc: BaseException) -> str:
    """The reason, first line only: database errors quote the offending data in their DETAIL and CONTEXT."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first}"[:500]


def records_apply(resource: str, records: Sequence[Record], apply: Callable[[Sequence[Record]], Applied]) -> Applied:
    """Apply `records` in one go; if the database refuses that, one by one, quarantining the refused."""
    try:
        with transaction.atomic():
            applied = apply(records)
    except REFUSALS as exc:
        logger.warning(
            "%s: the database refused a batch of %d (%s); applying them one by one", resource, len(records), refusal_text(exc)
        )
    else:
        quarantine_release(resource, records)
        return applied
    applied = Applied()
    for record in records:
        try:
            with transaction.atomic():
                applied.add(apply([record]))
        except REFUSALS as exc:
            quarantine_add(resource, record, exc)
        else:
            quarantine_release(resource, [record])
    return applied


def _record_id(record: Record) -> str:
    return str(record.raw.get("id", getattr(record, "id", "")))[:64]


def quarantine_add(resource: str, record: Record, exc: BaseException) -> None:
    now = timezone.now()
    reason = refusal_text(exc)
    account = getattr(record, "account_id", None)
    logger.warning("%s %s quarantined: %s", resource, _record_id(record), reason)
    updated = QuarantinedRecord.objects.filter(resource=resource, record_id=_record_id(record)).update(
        raw=json.dumps(record.raw, default=str), error=reason, last_seen_at=now
    )
    if not updated:
        QuarantinedRecord.objects.bulk_create(
            [
                QuarantinedRecord(
                    resource=resource,
                    record_id=_record_id(record),
                    record_type=type(record).__name__,
                    account_id=account,
                    raw=json.dumps(record.raw, default=str),
                    error=reason,
                    first_seen_at=now,
                    last_seen_at=now,
                )
            ],
            ignore_conflicts=True,
        )


def quarantine_release(resource: str, records: Sequence[Record]) -> None:
    """These records landed: whatever of them was quarantined is not any more."""
    ids = {_record_id(r) for r in records}
    if ids and QuarantinedRecord.objects.filter(resource=resource).exists():
        QuarantinedRecord.objects.filter(resource=resource, record_id__in=ids).delete()


def quarantined_records(resource: str, *, ids: Sequence[int] | None = None) -> list[tuple[QuarantinedRecord, Record | None]]:
    """The quarantined records of a resource, read back as records (None where even that fails)."""
    rows = QuarantinedRecord.objects.filter(resource=resource).order_by("id")
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    found: list[tuple[QuarantinedRecord, Record | None]] = []
    for row in rows[:500]:
        record: Record | None = None
        model: Any = getattr(record_types, row.record_type, None)
        try:
            if isinstance(model, type) and issubclass(model, Record):
                record = parse_record(model, json.loads(row.raw))
        except ValueError:
            record = None
        found.append((row, record))
    return found


def quarantine_retry(resource: str, apply: Callable[[Sequence[Record]], Applied], *, ids: Sequence[int] | None = None) -> Applied:
    """Try quarantined records again; those that land leave the quarantine, the others stay with the new reason."""
    applied = Applied()
    for row, record in quarantined_records(resource, ids=ids):
        if record is None:
            QuarantinedRecord.objects.filter(pk=row.pk).update(attempts=row.attempts + 1, last_seen_at=timezone.now())
            continue
        QuarantinedRecord.objects.filter(pk=row.pk).update(attempts=row.attempts + 1)
        applied.add(records_apply(resource, [record], apply))
    return applied
