"""Units, prospects, leasing events and showings into the mirror; prospects' derived status and assignees."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from integrations.rentengine import vocabulary
from integrations.rentengine.address_order import address_order
from integrations.rentengine.client import (
    LeasingEventRecord,
    ProspectRecord,
    ShowingRecord,
    UnitRecord,
)
from integrations.rentengine.client.coerce import to_uuid_list
from integrations.rentengine.mirror.fields import Applied, _cut, _fit, _int, _mirror_fields, accounts_ensure, users_seen
from integrations.rentengine.mirror.upsert import rows_update, upsert
from integrations.rentengine.models import (
    Account,
    LeasingEvent,
    MirrorRow,
    Prospect,
    ProspectAssignee,
    Showing,
    Unit,
)

logger = logging.getLogger(__name__)


# --- units ----------------------------------------------------------------------------------------


def unit_row(record: UnitRecord, now: datetime) -> dict[str, Any]:
    address = record.address
    fees = [
        {"kind": kind, "name": fee.name or "", "type": fee.type or "", "amount": None if fee.amount is None else str(fee.amount)}
        for kind, group in (("monthly", record.monthly_fees), ("move_in", record.move_in_fees), ("pet", record.pet_fees))
        for fee in group
    ]
    street = " ".join(part for part in (address.street_number, address.street_name) if part)
    return {
        **_mirror_fields(record, now),
        "id": record.id,
        "account_id": record.account_id,
        "status": _cut(record.status, 40),
        "property_type": _cut(record.property_type, 40),
        "address": _cut(address.one_line, 300),
        "street": _cut(street, 200),
        "unit_label": _cut(address.unit, 40),
        "address_order": address_order(street, address.unit or "", address.one_line or ""),
        "city": _cut(address.city, 100),
        "state": _cut(address.state, 60),
        "zip_code": _cut(address.zip_code, 20),
        "latitude": _fit(address.latitude, 9, 6),
        "longitude": _fit(address.longitude, 9, 6),
        "bedrooms": _fit(record.bedrooms, 4, 1),
        "bathrooms": _fit(record.bathrooms, 4, 1),
        "sqft": _int(record.sqft),
        "rent": _fit(record.target_rental_rate, 10, 2),
        "is_occupied": record.is_occupied,
        "showing_method": _cut(record.showing_method, 60),
        "earliest_move_in_date": record.earliest_move_in_date,
        "subteam_id": record.subteam_id,
        "prescreen_template_id": record.prescreen_template_id,
        "fees": fees,
        "photos": [photo.url for photo in record.marketing_photos if photo.url and not photo.hidden],
        "created_at": record.created_at,
    }


@transaction.atomic
def units_apply(records: Sequence[UnitRecord]) -> Applied:
    now = timezone.now()
    usable = [r for r in records if r.account_id]
    accounts = accounts_ensure(r.account_id for r in usable)
    changed = upsert(Unit, [unit_row(r, now) for r in usable])
    return Applied(seen=len(records), changed_ids=changed, accounts=accounts)


# --- prospects and leasing events -----------------------------------------------------------------

_NOT_DIGITS = re.compile(r"\D")


def phone_digits(phone: str | None) -> str:
    """The last ten digits: "+1 (555) 123-4567" and "5551234567" are the same person."""
    return _NOT_DIGITS.sub("", phone or "")[-10:]


def prospect_row(record: ProspectRecord, now: datetime) -> dict[str, Any]:
    status = _cut(record.status, 80)
    return {
        **_mirror_fields(record, now),
        "id": record.id,
        "account_id": record.account_id,
        "name": _cut(record.name, 200),
        "email": _cut(record.email, 254),
        "phone": _cut(record.phone, 40),
        "phone_digits": phone_digits(record.phone),
        "source": _cut(record.source, 120),
        "source_normalized": _cut(vocabulary.source_normalize(record.source), 120),
        "unit_id": record.unit_of_interest,
        "prospect_type": _cut(record.prospect_type, 20),
        "created_at": record.created_at,
        # Insert-time values; prospects_refresh reconciles them with the events afterwards.
        "status": status,
        "status_family": vocabulary.status_family(status).value,
        "status_changed_at": record.updated_at or record.created_at,
    }


PROSPECT_DERIVED = (
    "status",
    "status_family",
    "status_changed_at",
    "assignees_changed_at",
    "assigned_by_event_id",
    "next_follow_up",
    "events_fetched_at",
)


@transaction.atomic
def prospects_apply(records: Sequence[ProspectRecord], *, refresh: bool = True) -> Applied:
    now = timezone.now()
    usable = [r for r in records if r.account_id]
    accounts = accounts_ensure(r.account_id for r in usable)
    changed = upsert(Prospect, [prospect_row(r, now) for r in usable], keep=PROSPECT_DERIVED)
    if changed:
        # Events that arrived before their prospect (webhooks carry no account id) get its account now.
        LeasingEvent.objects.filter(prospect_id__in=changed, account__isnull=True).update(
            account_id=models.Subquery(Prospect.objects.filter(id=models.OuterRef("prospect_id")).values("account_id")[:1])
        )
        if refresh:
            prospects_refresh(changed)
    return Applied(seen=len(records), changed_ids=changed, accounts=accounts)


def leasing_event_row(record: LeasingEventRecord, now: datetime, account_id: str | None) -> dict[str, Any]:
    event_type = _cut(record.event_type, 80)
    return {
        **_mirror_fields(record, now),
        "source_updated_at": None,  # events have no updated_at: they are compared field by field
        "deleted_at": now if record.deleted else None,
        "tombstone_reason": MirrorRow.Tombstone.DELETED if record.deleted else "",
        "id": record.id,
        "account_id": account_id,
        "prospect_id": record.prospect_id,
        "event_type": event_type,
        "is_pipeline": vocabulary.is_pipeline_status(event_type),
        "source": _cut(record.source, 40),
        "notes": record.notes or "",
        "context": record.context,
        "planned_at": record.planned_date_time,
        "next_follow_up": record.next_follow_up,
        "created_by": _cut(record.created_by, 64),
        "unit_id_of_interest": record.unit_of_interest,
        "property_address": _cut(record.property_address, 300),
        "created_at": record.created_at,
    }


# What may legitimately change on an event after it was created (its raw JSON differs by source:
# GET, webhook row and POST response each carry other fields, so raw is not compared).
EVENT_MUTABLE = ("notes", "context", "planned_at", "next_follow_up", "deleted_at")


@transaction.atomic
def leasing_events_apply(
    records: Sequence[LeasingEventRecord], *, account_id: str | None = None, refresh: bool = True
) -> Applied:
    """Insert events (immutable but for a few fields), then recompute their prospects."""
    now = timezone.now()
    prospect_accounts = dict(Prospect.objects.filter(id__in={r.prospect_id for r in records}).values_list("id", "account_id"))
    rows = []
    for record in records:
        owner = prospect_accounts.get(record.prospect_id) or account_id
        rows.append(leasing_event_row(record, now, str(owner) if owner else None))
    accounts = accounts_ensure(row["account_id"] for row in rows)
    changed = upsert(LeasingEvent, rows, compare=EVENT_MUTABLE)
    if changed:
        changed_set = set(changed)
        if refresh:
            prospects_refresh({r.prospect_id for r in records if r.id in changed_set})
        seen: dict[str | None, set[str]] = {}
        for record, row in zip(records, rows, strict=True):
            if record.id in changed_set:
                ids = {*record.assigned_user_ids, *record.previous_assigned_user_ids, record.created_by_user_id or ""} - {""}
                seen.setdefault(row["account_id"], set()).update(ids)
        users_seen(seen)
    return Applied(seen=len(records), changed_ids=changed, accounts=accounts)


@transaction.atomic
def prospects_refresh(prospect_ids: Iterable[int]) -> list[int]:
    """Recompute status, assignees and next follow-up from the stored record and events.

    Status: the later of (the record's status at its updated_at) and (the latest pipeline event);
    a tie goes to the record, which is RentEngine's own answer. Assignees: the users of the latest
    "Assign to User" event. Returns the ids whose derived state changed.
    """
    ids = list(set(prospect_ids))
    if not ids:
        return []
    # Lock the prospects (in id order, against deadlocks) before reading their events: a concurrent
    # writer that inserted another event then waits here and, once we commit, reads both.
    derived = ("status", "status_family", "status_changed_at", "assigned_by_event_id", "assignees_changed_at", "next_follow_up")
    current = {
        row[0]: row
        for row in Prospect.objects.filter(id__in=ids)
        .select_for_update()
        .order_by("id")
        .values_list("id", "raw__status", "source_updated_at", "created_at", *derived)
    }
    latest_status: dict[int, tuple[str, datetime]] = {}
    latest_assign: dict[int, tuple[int, datetime]] = {}
    latest_follow_up: dict[int, datetime] = {}
    events = (
        LeasingEvent.objects.filter(prospect_id__in=current.keys(), deleted_at__isnull=True)
        .order_by("created_at", "id")
        .values_list("id", "prospect_id", "event_type", "is_pipeline", "next_follow_up", "created_at")
    )
    for event_id, prospect_id, event_type, is_pipeline, follow_up, created_at in events:  # ascending: last wins
        if is_pipeline:
            latest_status[prospect_id] = (event_type, created_at)
        if event_type == vocabulary.ASSIGN_TO_USER:
            latest_assign[prospect_id] = (event_id, created_at)
        if follow_up:
            latest_follow_up[prospect_id] = follow_up
    changed: list[dict[str, Any]] = []
    reassigned: list[int] = []
    for prospect_id, raw_status, updated_at, created_at, *old in current.values():
        record_status = str(raw_status or "")[:80]
        record_time = updated_at or created_at
        status, status_at = record_status, record_time
        event = latest_status.get(prospect_id)
        if event is not None and (record_time is None or event[1] > record_time or not record_status):
            status, status_at = event
        assign = latest_assign.get(prospect_id)
        new = (
            status,
            vocabulary.status_family(status).value,
            status_at,
            assign[0] if assign else None,
            assign[1] if assign else None,
            latest_follow_up.get(prospect_id),
        )
        if new != tuple(old):
            changed.append({"id": prospect_id, **dict(zip(derived, new, strict=True))})
            if new[3] != old[3]:
                reassigned.append(prospect_id)
    rows_update(Prospect, changed, derived)
    if reassigned:
        _assignees_replace(reassigned)
    return [row["id"] for row in changed]


def _assignees_replace(prospect_ids: list[int]) -> None:
    """The assignee rows of these prospects become the users of their latest assign event."""
    contexts = dict(
        Prospect.objects.filter(id__in=prospect_ids, assigned_by_event_id__isnull=False).values_list(
            "id", models.Subquery(LeasingEvent.objects.filter(id=models.OuterRef("assigned_by_event_id")).values("context")[:1])
        )
    )
    ProspectAssignee.objects.filter(prospect_id__in=prospect_ids).delete()
    ProspectAssignee.objects.bulk_create(
        [
            ProspectAssignee(prospect_id=pid, user_id=uid, position=i)
            for pid, context in contexts.items()
            for i, uid in enumerate(dict.fromkeys(to_uuid_list((_as_dict(context)).get("assignedToUserIds"))))
        ],
        ignore_conflicts=True,
    )


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, str):  # a JSON subquery comes back as text on some backends
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


# --- showings -------------------------------------------------------------------------------------


@transaction.atomic
def showings_apply(records: Sequence[ShowingRecord], *, account_id: str | None = None) -> Applied:
    """Reporting rows carry no account or unit: both come from the prospect (or `account_id` when
    the request named a single account). A row whose prospect we don't know yet is left for a
    later pass, after the prospects sync has brought it in."""
    now = timezone.now()
    prospects = {
        pid: (str(acct), unit)
        for pid, acct, unit in Prospect.objects.filter(id__in={r.prospect_id for r in records if r.prospect_id}).values_list(
            "id", "account_id", "unit_id"
        )
    }
    only_account = account_id or _single_account()
    rows = []
    deferred = 0
    for r in records:
        owner, unit_id = prospects.get(r.prospect_id or 0, (only_account, None))
        if owner is None:
            deferred += 1
            continue
        rows.append(
            {
                **_mirror_fields(r, now),
                "source_updated_at": None,
                "id": r.showing_id,
                "account_id": owner,
                "prospect_id": r.prospect_id,
                "unit_id": unit_id,
                "property_address": _cut(r.property_address, 300),
                "prospect_name": _cut(r.prospect_name, 200),
                "status": _cut(r.status, 40),
                "feedback": r.feedback or "",
                "agent_name": _cut(r.showing_agent, 200),
                "cancellation_reason": r.cancellation_reason or "",
                "planned_at": r.planned_date_time,
                "created_at": r.created_at,
            }
        )
    accounts = accounts_ensure(row["account_id"] for row in rows)
    changed = upsert(Showing, rows, compare=("raw", "unit_id", "account_id"))
    if deferred:
        logger.info("%d showings wait for their prospects to be mirrored; a later pass takes them", deferred)
    return Applied(seen=len(records), changed_ids=changed, accounts=accounts, deferred=deferred)


def _single_account() -> str | None:
    ids = list(Account.objects.values_list("id", flat=True)[:2])
    return str(ids[0]) if len(ids) == 1 else None
