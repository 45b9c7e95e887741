"""Apply stored webhook deliveries to the mirror: claim a batch, group by table, upsert or tombstone.

Claims use SKIP LOCKED, so workers, the sweeper and a replay can run at once; the mirror's version
guard makes arrival order irrelevant. Webhook rows may carry only some columns, so each is merged
over the stored row's raw JSON first.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DataError, connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from pydantic import ValidationError

from integrations.rentengine import mirror, vocabulary
from integrations.rentengine.client import (
    LeasingEventRecord,
    LockboxEventRecord,
    LockboxRecord,
    ProspectRecord,
    Record,
    UnitRecord,
    WebhookPayload,
    parse_record,
)
from integrations.rentengine.models import (
    Account,
    LeasingEvent,
    Lockbox,
    LockboxEvent,
    MirrorRow,
    Prospect,
    Unit,
    WebhookDelivery,
)

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status


@dataclass(frozen=True)
class Table:
    model: type[MirrorRow]
    record_type: type[Record]
    apply: Callable[[Sequence[Any]], mirror.Applied]
    # The mirror can't take a new row of this table without its account (webhook rows may lack it).
    needs_account: bool


TABLES: dict[str, Table] = {
    "units": Table(Unit, UnitRecord, mirror.units_apply, needs_account=True),
    "prospects": Table(Prospect, ProspectRecord, mirror.prospects_apply, needs_account=True),
    "leasing_events": Table(LeasingEvent, LeasingEventRecord, mirror.leasing_events_apply, needs_account=False),
    "lockboxes": Table(Lockbox, LockboxRecord, mirror.lockboxes_apply, needs_account=True),
    "lockbox_events": Table(LockboxEvent, LockboxEventRecord, mirror.lockbox_events_apply, needs_account=False),
}
assert set(TABLES) == set(vocabulary.WEBHOOK_TABLES)

TABLE_ORDER = {name: n for n, name in enumerate(TABLES)}
BATCH_SIZE = 200
MAX_ATTEMPTS = 8
HOLD_RECHECK = timedelta(minutes=2)  # a held delivery is looked at again this often (syncs run every minute)
HOLD_FOR = timedelta(days=1)  # ... and given up after this (the sync has brought the true state by then)


@dataclass
class ApplyReport:
    """What applying did: deliveries by outcome, and per table the mirror rows changed and their
    accounts (what change notices for open screens need: `mirror.mirror_changed(table, accounts)`)."""

    claimed: int = 0
    applied: int = 0
    ignored: int = 0
    held: int = 0
    failed: int = 0
    changed: dict[str, set[str]] = field(default_factory=dict)
    accounts: dict[str, set[str]] = field(default_factory=dict)
    more: bool = False

    def add(self, other: ApplyReport) -> ApplyReport:
        self.claimed += other.claimed
        self.applied += other.applied
        self.ignored += other.ignored
        self.held += other.held
        self.failed += other.failed
        for table, ids in other.changed.items():
            self.changed.setdefault(table, set()).update(ids)
        for table, accounts in other.accounts.items():
            self.accounts.setdefault(table, set()).update(accounts)
        self.more = self.more or other.more
        return self

    def as_dict(self) -> dict[str, Any]:
        return {
            "claimed": self.claimed,
            "applied": self.applied,
            "ignored": self.ignored,
            "held": self.held,
            "failed": self.failed,
            "changed": {table: len(ids) for table, ids in sorted(self.changed.items())},
            "more": self.more,
        }


@dataclass
class _Outcome:
    status: str
    error: str = ""
    permanent: bool = False


class PayloadUnusable(ValueError):
    """A stored body that can't be applied as it is (retrying won't help)."""


def delivery_payload(delivery: WebhookDelivery) -> WebhookPayload:
    try:
        data = json.loads(delivery.body)
        return WebhookPayload.model_validate(data)
    except (ValueError, RecursionError, ValidationError) as exc:
        raise PayloadUnusable(f"the stored body can't be read: {str(exc)[:300]}") from None


def _parse(table: Table, raw: dict[str, Any]) -> Record:
    return parse_record(table.record_type, raw)


def _table_apply(
    table_name: str, items: Sequence[tuple[WebhookDelivery, WebhookPayload]]
) -> tuple[dict[int, _Outcome], ApplyReport]:
    """Apply one table's deliveries: upserts (merged over the stored raw JSON), then tombstones."""
    table = TABLES[table_name]
    outcomes: dict[int, _Outcome] = {}
    report = ApplyReport()
    # 1. Read each record; one that can't be read fails alone.
    subjects: list[tuple[WebhookDelivery, WebhookPayload, dict[str, Any], Record]] = []
    for delivery, payload in items:
        raw = payload.old_record if payload.type == vocabulary.WebhookType.DELETE else payload.record
        try:
            if raw is None:
                raise PayloadUnusable(f"a {payload.type} delivery without its record")
            subjects.append((delivery, payload, raw, _parse(table, raw)))
        except (ValidationError, PayloadUnusable) as exc:
            outcomes[delivery.pk] = _Outcome(Status.FAILED, _error_text(exc), permanent=True)
    if not subjects:
        return outcomes, report
    # 2. Merge over what we store: a column subset must not blank the columns it leaves out.
    subject_rows: QuerySet[Any] = table.model.objects.filter(
        pk__in={_key(r) for *_, r in subjects}
    )  # every mirrored table has an account
    stored = {
        str(pk): (raw or {}, version, account)
        for pk, raw, version, account in subject_rows.values_list("pk", "raw", "source_updated_at", "account_id")
    }
    named = {str(getattr(r, "account_id", None)) for *_, r in subjects if getattr(r, "account_id", None)}
    accounts = {str(a) for a in Account.objects.filter(pk__in=named).values_list("pk", flat=True)}
    records: list[Record] = []
    deletes: list[tuple[WebhookDelivery, Record]] = []
    for delivery, payload, raw, record in subjects:
        known = stored.get(_key(record))
        held = _held_because(table_name, record, known[2] if known else None, accounts)
        if held:
            outcomes[delivery.pk] = _Outcome(Status.HELD, held)
            continue
        if known is not None:
            if known[0]:
                # If the stored JSON is odd, the delivered record alone is still good.
                with contextlib.suppress(ValidationError):
                    record = _parse(table, {**known[0], **raw})
        elif table.needs_account and not getattr(record, "account_id", None):
            outcomes[delivery.pk] = _Outcome(
                Status.IGNORED,
                f"{table_name} {_key(record)} is not in the mirror and the delivery has no account_id; the next sync brings it",
            )
            continue
        records.append(record)
        if payload.type == vocabulary.WebhookType.DELETE:
            deletes.append((delivery, record))
        outcomes[delivery.pk] = _Outcome(Status.APPLIED)
    # 3. Upsert (a DELETE's old record too: a tombstone then exists even for a row we never saw).
    records.sort(key=lambda r: _typed_key(table, r))  # rows locked in key order by every batch: fewer deadlocks
    applied = table.apply(records) if records else mirror.Applied()
    changed = {str(pk) for pk in applied.changed_ids}
    # 4. Tombstone, unless a newer state than the deleted one is stored (a re-created row).
    if deletes:
        versions = dict(table.model.objects.filter(pk__in={_key(r) for _, r in deletes}).values_list("pk", "source_updated_at"))
        by_version: dict[datetime | None, set[str]] = defaultdict(set)
        for _, record in deletes:
            version = getattr(record, "updated_at", None)
            current = versions.get(_typed_key(table, record))
            if version is not None and current is not None and current > version:
                continue
            by_version[version].add(_key(record))
        for version, ids in by_version.items():
            changed |= {str(pk) for pk in mirror.rows_tombstone(table.model, ids, reason="deleted", version=version)}
    if changed:
        report.changed[table_name] = changed
        rows: QuerySet[Any] = table.model.objects.filter(pk__in=changed)  # every mirrored table has an account
        report.accounts[table_name] = {str(a) for a in rows.values_list("account_id", flat=True) if a}
    return outcomes, report


def _held_because(table_name: str, record: Record, stored_account: Any, accounts: set[str]) -> str:
    """Why a delivery must wait for a sync: its account was never listed by our token (a webhook alone
    never creates an account), or it moves a row to another account (RentEngine's transfer_accounts
    does that; the key alone must not). "" when it may be applied."""
    account = getattr(record, "account_id", None)
    if not account:
        return ""
    if str(account) not in accounts:
        return f"unknown account {account}: the token has never listed it, so nothing is applied until a sync does"
    if stored_account is not None and str(stored_account) != str(account):
        return (
            f"moves {table_name} {_key(record)} from account {stored_account} to {account}: applied once a sync confirms the move"
        )
    return ""


def _key(record: Record) -> str:
    return str(record.id)  # type: ignore[attr-defined]


def _typed_key(table: Table, record: Record) -> Any:
    pk = table.model._meta.pk
    assert pk is not None
    return pk.to_python(record.id)  # type: ignore[attr-defined]


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        detail = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:3])
        return f"record not readable: {detail}"[:2000]
    return mirror.refusal_text(exc)


def _permanent(exc: BaseException) -> bool:
    # Data the database refuses (e.g. a NUL in JSON) or a record we can't read: retrying won't help.
    return isinstance(exc, DataError | ValidationError | PayloadUnusable)


def deliveries_apply(deliveries: Sequence[WebhookDelivery], *, now: datetime | None = None) -> ApplyReport:
    """Apply claimed deliveries and record each outcome on its row. Call inside the claiming transaction.

    Each table goes in one savepoint; if it fails, its deliveries are retried one by one so a single
    bad delivery fails alone, with its error, attempt count and next attempt time on its row.
    """
    now = now or timezone.now()
    report = ApplyReport(claimed=len(deliveries))
    outcomes: dict[int, _Outcome] = {}
    by_table: dict[str, list[tuple[WebhookDelivery, WebhookPayload]]] = defaultdict(list)
    for delivery in deliveries:
        try:
            payload = delivery_payload(delivery)
        except PayloadUnusable as exc:
            outcomes[delivery.pk] = _Outcome(Status.FAILED, str(exc), permanent=True)
            continue
        if payload.table not in TABLES:
            outcomes[delivery.pk] = _Outcome(Status.IGNORED, f"table {payload.table!r} is not applied to the mirror")
            continue
        by_table[payload.table].append((delivery, payload))
    for table_name, items in sorted(by_table.items(), key=lambda item: TABLE_ORDER[item[0]]):
        try:
            with transaction.atomic():
                table_outcomes, table_report = _table_apply(table_name, items)
            outcomes.update(table_outcomes)
            report.add(table_report)
        except SoftTimeLimitExceeded:
            raise
        except Exception:
            logger.warning("Applying %d %s deliveries together failed; applying them one by one", len(items), table_name)
            for item in items:
                try:
                    with transaction.atomic():
                        table_outcomes, table_report = _table_apply(table_name, [item])
                    outcomes.update(table_outcomes)
                    report.add(table_report)
                except SoftTimeLimitExceeded:
                    raise
                except Exception as exc:
                    logger.exception("Webhook delivery %s (%s %s) failed", item[0].pk, table_name, item[1].type)
                    outcomes[item[0].pk] = _Outcome(Status.FAILED, _error_text(exc), permanent=_permanent(exc))
    for delivery in deliveries:
        outcome = outcomes.get(delivery.pk)
        if outcome is not None and outcome.status == Status.HELD and now - delivery.received_at >= HOLD_FOR:
            outcomes[delivery.pk] = _Outcome(Status.IGNORED, f"{outcome.error} (no sync confirmed it within a day; not applied)")
    _outcomes_save(deliveries, outcomes, now)
    # Open screens hear of it once this commits; one bump per scope however many tables touched it.
    mirror.scopes_bump(
        scope for table_name, accounts in report.accounts.items() for scope in mirror.scopes_for(table_name, accounts)
    )
    for outcome in outcomes.values():
        if outcome.status == Status.APPLIED:
            report.applied += 1
        elif outcome.status == Status.IGNORED:
            report.ignored += 1
        elif outcome.status == Status.HELD:
            report.held += 1
        else:
            report.failed += 1
    return report


def retry_delay(attempts: int) -> timedelta:
    """Backoff after the n-th failed attempt: 30 s doubling to an hour, with jitter (no retry waves)."""
    base = min(3600.0, 30.0 * 2 ** max(0, attempts - 1))
    return timedelta(seconds=base * random.uniform(0.5, 1.0))


def _outcomes_save(deliveries: Sequence[WebhookDelivery], outcomes: Mapping[int, _Outcome], now: datetime) -> None:
    applied = [pk for pk, o in outcomes.items() if o.status == Status.APPLIED]
    if applied:
        WebhookDelivery.objects.filter(pk__in=applied).update(
            status=Status.APPLIED, applied_at=now, attempts=F("attempts") + 1, last_error="", next_attempt_at=None
        )
    for delivery in deliveries:
        outcome = outcomes.get(delivery.pk)
        if outcome is None or outcome.status == Status.APPLIED:
            continue
        attempts = delivery.attempts + 1
        retry_at = None
        if outcome.status == Status.FAILED and not outcome.permanent and attempts < MAX_ATTEMPTS:
            retry_at = now + retry_delay(attempts)
        if outcome.status == Status.HELD:
            retry_at = now + HOLD_RECHECK
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=outcome.status, attempts=attempts, last_error=outcome.error, next_attempt_at=retry_at,
            applied_at=now if outcome.status == Status.IGNORED else None,
        )  # fmt: skip


def _locked(queryset: QuerySet[WebhookDelivery]) -> QuerySet[WebhookDelivery]:
    # SQLite has no row locks; its IMMEDIATE transactions already let one writer in at a time.
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True)
    return queryset


def deliveries_claim(
    *, limit: int = BATCH_SIZE, received_before: datetime | None = None, now: datetime | None = None
) -> list[WebhookDelivery]:
    """Lock up to `limit` deliveries to apply: waiting ones (oldest first), then failed ones due again.

    Must run inside a transaction; the locks are what make the claim (other workers skip them).
    """
    mirror.appliers_serialize()
    now = now or timezone.now()
    waiting = WebhookDelivery.objects.filter(status=Status.RECEIVED)
    if received_before is not None:
        waiting = waiting.filter(received_at__lte=received_before)
    claimed = list(_locked(waiting.order_by("id"))[:limit])
    for status in (Status.FAILED, Status.HELD):
        if len(claimed) < limit:
            due = WebhookDelivery.objects.filter(status=status, next_attempt_at__lte=now).order_by("next_attempt_at", "id")
            claimed += list(_locked(due)[: limit - len(claimed)])
    return claimed


def deliveries_apply_pending(
    *, batch_size: int = BATCH_SIZE, time_budget: float = 60.0, received_before: datetime | None = None
) -> ApplyReport:
    """Claim and apply batches until nothing is waiting or the time budget is spent (then `more`)."""
    report = ApplyReport()
    deadline = time.monotonic() + time_budget
    while True:
        with transaction.atomic():
            batch = deliveries_claim(limit=batch_size, received_before=received_before)
            if not batch:
                return report
            report.add(deliveries_apply(batch))
        if time.monotonic() > deadline:
            report.more = True
            return report


SWEEP_AFTER_SECONDS = 60


def deliveries_sweep(*, older_than: float | None = None) -> ApplyReport:
    """Apply deliveries left waiting longer than `older_than` seconds (a lost enqueue, a dead worker),
    and failed ones whose retry time has come."""
    seconds = (
        older_than if older_than is not None else getattr(settings, "RENTENGINE_WEBHOOK_SWEEP_AFTER_SECONDS", SWEEP_AFTER_SECONDS)
    )
    report = deliveries_apply_pending(received_before=timezone.now() - timedelta(seconds=seconds))
    if report.claimed:
        logger.warning(
            "Webhook sweeper applied %d deliveries left waiting or due for retry: %s", report.claimed, report.as_dict()
        )
    return report


def deliveries_for_replay(
    *, ids: Iterable[int] | None = None, since: datetime | None = None, status: str | None = None
) -> QuerySet[WebhookDelivery]:
    """The stored deliveries a replay would apply again, oldest first."""
    deliveries = WebhookDelivery.objects.all()
    if ids is not None:
        deliveries = deliveries.filter(pk__in=list(ids))
    if since is not None:
        deliveries = deliveries.filter(received_at__gte=since)
    if status is not None:
        deliveries = deliveries.filter(status=status)
    return deliveries.order_by("id")


def deliveries_replay(
    *, ids: Iterable[int] | None = None, since: datetime | None = None, status: str | None = None, batch_size: int = BATCH_SIZE
) -> ApplyReport:
    """Apply stored deliveries again, whatever their status: safe, since the mirror's version guard
    ignores what is older than what it has. Deliveries another worker holds right now are skipped."""
    report = ApplyReport()
    wanted = list(deliveries_for_replay(ids=ids, since=since, status=status).values_list("pk", flat=True))
    for start in range(0, len(wanted), batch_size):
        with transaction.atomic():
            mirror.appliers_serialize()
            batch = list(_locked(WebhookDelivery.objects.filter(pk__in=wanted[start : start + batch_size]).order_by("id")))
            if batch:
                report.add(deliveries_apply(batch))
    return report
