"""Records in, mirror rows out: the one place that writes the mirror (sync, webhooks and the outbox
all come through here).

Every write is a conditional upsert (upsert.py), one statement per batch, so that arrival order
does not matter: older versions never win, tombstones hold, and unchanged rows are not written at
all, so a repeated sync changes nothing.

Derived state (a prospect's status and assignees, a lockbox's current unit) is recomputed from what
is stored, never patched incrementally, so any order of inputs converges to the same result.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from integrations.rentengine import vocabulary
from integrations.rentengine.models import (
    Account,
    Floorplan,
    LeasingEvent,
    Lockbox,
    LockboxEvent,
    LockboxInstallation,
    MirrorRow,
    MultifamilyProperty,
    PrescreeningTemplate,
    Prospect,
    ProspectAssignee,
    RentEngineUser,
    Showing,
    Subteam,
    Unit,
)
from integrations.rentengine.records import (
    FloorplanRecord,
    LeasingEventRecord,
    LockboxEventRecord,
    LockboxInstallationRecord,
    LockboxRecord,
    MultifamilyPropertyRecord,
    PrescreeningTemplateRecord,
    ProspectRecord,
    ShowingRecord,
    SubteamRecord,
    UnitRecord,
    to_uuid_list,
)
from integrations.rentengine.upsert import rows_update, upsert

logger = logging.getLogger(__name__)


@dataclass
class Applied:
    """What a write did: how many rows it looked at, which changed, and in which accounts."""

    seen: int = 0
    changed_ids: list[Any] = field(default_factory=list)
    accounts: set[str] = field(default_factory=set)
    deferred: int = 0  # rows left for a later pass (e.g. a showing whose prospect isn't mirrored yet)

    @property
    def changed(self) -> int:
        return len(self.changed_ids)

    def add(self, other: Applied) -> Applied:
        self.seen += other.seen
        self.changed_ids += other.changed_ids
        self.accounts |= other.accounts
        self.deferred += other.deferred
        return self


def _mirror_fields(record: Any, now: datetime) -> dict[str, Any]:
    return {
        "raw": record.raw,
        "source_updated_at": getattr(record, "updated_at", None),
        "deleted_at": None,
        "tombstone_reason": "",
        "synced_at": now,
    }


def _cut(value: str | None, length: int) -> str:
    return (value or "").strip()[:length]


def _fit(value: Decimal | None, max_digits: int, places: int) -> Decimal | None:
    """A decimal that fits the column, or None (a garbage value must not fail the whole batch)."""
    if value is None:
        return None
    value = round(value, places)
    return value if abs(value) < Decimal(10) ** (max_digits - places) else None


def _int(value: int | None, limit: int = 2**31 - 1) -> int | None:
    return value if value is None or -limit <= value <= limit else None


def accounts_ensure(account_ids: Iterable[str | None]) -> set[str]:
    """Create Account rows for account ids seen for the first time (RentEngine has no accounts endpoint)."""
    wanted = {str(a) for a in account_ids if a}
    if wanted:
        known = {str(a) for a in Account.objects.filter(id__in=wanted).values_list("id", flat=True)}
        missing = wanted - known
        if missing:
            Account.objects.bulk_create([Account(id=a) for a in sorted(missing)], ignore_conflicts=True)
    return wanted


def users_seen(user_ids_by_account: dict[str | None, set[str]]) -> None:
    """Remember RentEngine user ids seen in the data, per account (there is no users endpoint)."""
    wanted = {str(u) for ids in user_ids_by_account.values() for u in ids if u}
    if not wanted:
        return
    known = set(map(str, RentEngineUser.objects.filter(id__in=wanted).values_list("id", flat=True)))
    if wanted - known:
        RentEngineUser.objects.bulk_create([RentEngineUser(id=u) for u in sorted(wanted - known)], ignore_conflicts=True)
    through = RentEngineUser.accounts.through
    pairs = {(str(account), str(u)) for account, ids in user_ids_by_account.items() if account for u in ids if u}
    if pairs:
        linked = {
            (str(a), str(u))
            for a, u in through.objects.filter(
                account_id__in={a for a, _ in pairs}, rentengineuser_id__in={u for _, u in pairs}
            ).values_list("account_id", "rentengineuser_id")
        }
        through.objects.bulk_create(
            [through(account_id=a, rentengineuser_id=u) for a, u in sorted(pairs - linked)], ignore_conflicts=True
        )


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
    owners = {
        str(k): str(v) for k, v in Lockbox.objects.filter(id__in={r.lockbox_id for r in records}).values_list("id", "account_id")
    }
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
    accounts = accounts_ensure(row["account_id"] for row in rows)
    changed = upsert(LockboxEvent, rows, compare=("event_type", "unit_id", "metadata", "deleted_at"))
    if changed:
        changed_set = {str(c) for c in changed}
        if refresh:
            lockboxes_refresh({r.lockbox_id for r in records if r.id in changed_set})
    return Applied(seen=len(records), changed_ids=changed, accounts=accounts)


@transaction.atomic
def lockbox_installations_apply(records: Sequence[LockboxInstallationRecord], *, refresh: bool = True) -> Applied:
    now = timezone.now()
    owners = {
        str(k): str(v) for k, v in Lockbox.objects.filter(id__in={r.lockbox_id for r in records}).values_list("id", "account_id")
    }
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
    accounts = accounts_ensure(row["account_id"] for row in rows)
    changed = upsert(LockboxInstallation, rows, compare=("unit_id", "installed_at", "uninstalled_at", "deleted_at"))
    if changed:
        changed_set = {str(c) for c in changed}
        if refresh:
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
        if install_id is not None:
            install_unit, install_at, install_ended = install[install_id]
            if install_ended is None:
                unit_id, installed_at = install_unit, install_at
        elif placement_id is not None and placement[placement_id][0] == vocabulary.LockboxEventType.INSTALL:
            unit_id, installed_at = placement[placement_id][1:]
        if (unit_id, installed_at, last_event) != (unit_before, installed_before, last_before):
            changed.append({"id": box_id, "current_unit_id": unit_id, "installed_at": installed_at, "last_event_at": last_event})
    rows_update(Lockbox, changed, ["current_unit", "installed_at", "last_event_at"])
    return [row["id"] for row in changed]


def derived_refresh_all(*, batch: int = 1000) -> tuple[int, int]:
    """Recompute every alive prospect's and lockbox's derived state, a batch per transaction.

    A full pass applies its pages with `refresh=False` and calls this once at the end: each row is
    recomputed once instead of once per page its events appear on. Returns (prospects, lockboxes) changed.
    """
    changed = [0, 0]
    for index, (model, refresh) in enumerate(((Prospect, prospects_refresh), (Lockbox, lockboxes_refresh))):
        ids = list(model.objects.alive().order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(ids), batch):
            changed[index] += len(refresh(ids[start : start + batch]))
    return changed[0], changed[1]


# --- team and reference data ----------------------------------------------------------------------


@transaction.atomic
def subteams_apply(records: Sequence[SubteamRecord]) -> Applied:
    now = timezone.now()
    usable = [r for r in records if r.account_id]
    accounts = accounts_ensure(r.account_id for r in usable)
    rows = [
        {
            **_mirror_fields(r, now),
            "id": r.id,
            "account_id": r.account_id,
            "name": _cut(r.name, 200),
            "user_ids": r.user_ids,
            "created_at": r.created_at,
        }
        for r in usable
    ]
    changed = upsert(Subteam, rows)
    seen: dict[str | None, set[str]] = {}
    for r in usable:
        seen.setdefault(r.account_id, set()).update(r.user_ids)
    users_seen(seen)
    return Applied(seen=len(records), changed_ids=changed, accounts=accounts)


@transaction.atomic
def prescreening_templates_apply(records: Sequence[PrescreeningTemplateRecord]) -> Applied:
    now = timezone.now()
    accounts = accounts_ensure(r.account_id for r in records)
    rows = [
        {
            **_mirror_fields(r, now),
            "id": r.id,
            "account_id": r.account_id,
            "name": _cut(r.name, 200),
            "is_default": bool(r.is_default),
            "rules": r.rules,
            "questions": r.questions,
            "created_at": r.created_at,
        }
        for r in records
    ]
    return Applied(seen=len(records), changed_ids=upsert(PrescreeningTemplate, rows), accounts=accounts)


@transaction.atomic
def multifamily_properties_apply(records: Sequence[MultifamilyPropertyRecord]) -> Applied:
    now = timezone.now()
    usable = [r for r in records if r.account_id]
    accounts = accounts_ensure(r.account_id for r in usable)
    rows = [
        {
            **_mirror_fields(r, now),
            "deleted_at": now if r.deleted else None,
            "tombstone_reason": MirrorRow.Tombstone.DELETED if r.deleted else "",
            "id": r.id,
            "account_id": r.account_id,
            "community_name": _cut(r.community_name, 200),
            "structure_type": _cut(r.structure_type, 40),
            "building_count": _int(r.building_count),
            "unit_count": _int(r.unit_count),
            "year_built": _int(r.year_built),
            "text_address": _cut(r.text_address, 300),
            "description": r.description or "",
            "photos": [p.url for p in r.photos if p.url and not p.hidden],
            "created_at": r.created_at,
        }
        for r in usable
    ]
    return Applied(seen=len(records), changed_ids=upsert(MultifamilyProperty, rows), accounts=accounts)


@transaction.atomic
def floorplans_apply(records: Sequence[FloorplanRecord]) -> Applied:
    now = timezone.now()
    owners = {
        str(k): str(v)
        for k, v in MultifamilyProperty.objects.filter(
            id__in={r.multifamily_property_id for r in records if r.multifamily_property_id}
        ).values_list("id", "account_id")
    }
    rows = [
        {
            **_mirror_fields(r, now),
            "deleted_at": now if r.deleted else None,
            "tombstone_reason": MirrorRow.Tombstone.DELETED if r.deleted else "",
            "id": r.id,
            "account_id": owners.get(r.multifamily_property_id or ""),
            "multifamily_property_id": r.multifamily_property_id,
            "name": _cut(r.name, 200),
            "bedroom_count": _int(r.bedroom_count),
            "bathroom_count": _fit(r.bathroom_count, 4, 1),
            "unit_count": _int(r.unit_count),
            "units_available": _int(r.units_available),
            "market_rent": _fit(r.market_rent, 10, 2),
            "min_sqft": _int(r.min_sqft),
            "max_sqft": _int(r.max_sqft),
            "photos": [p.url for p in r.photos if p.url and not p.hidden],
            "description": r.description or "",
        }
        for r in records
    ]
    accounts = {row["account_id"] for row in rows if row["account_id"]}
    return Applied(seen=len(records), changed_ids=upsert(Floorplan, rows), accounts=accounts)


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
