"""Post lockbox rows (codes, installs, removals) exactly once: claim, post, settle, reconcile.

The same rule as assignments (send.py): a row is posted again only when its previous post surely
never reached RentEngine; anything ambiguous makes it `unknown`, and the reconciler then looks for the
lockbox event the post would have written (a code's "Generate Code" event carries the row's
reference in `created_for`; an Install/Uninstall is the box's own event on that unit after the
attempt began). While a row is `sending` its worker holds an advisory lock on it (PostgreSQL), so the
sweeper can tell a dead worker's row. Nothing here logs a reason given, a name or a code.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from django.db import DatabaseError, transaction
from django.db.models import Min, Q
from django.utils import timezone

from integrations.rentengine import mirror
from integrations.rentengine.client import LockboxEventRecord, RentEngineClient, RentEngineError
from integrations.rentengine.limiter import Lane
from integrations.rentengine.models import Lockbox, LockboxEvent, OutboxLockboxPost
from integrations.rentengine.outbox.send import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    locked,
    on_postgres,
    post_error,
    settle_delay,
    stuck_after,
)
from integrations.rentengine.vocabulary import LockboxEventType

logger = logging.getLogger(__name__)

State = OutboxLockboxPost.State
Kind = OutboxLockboxPost.Kind
HOLD_NAMESPACE = 0x4F4C << 48  # "OL"
RECONCILE_LEASE = timedelta(seconds=120)
RECONCILE_CHECKS_MAX = 6
# How far before the attempt began an event may be stamped and still be ours (clock skew).
SKEW = timedelta(minutes=2)


def _hold(row_id: int) -> bool:
    return mirror.session_lock_try(HOLD_NAMESPACE | row_id)


def _unhold(row_id: int) -> None:
    mirror.session_lock_release(HOLD_NAMESPACE | row_id)


# --- writing rows ---------------------------------------------------------------------------------


def lockbox_post_create(
    *,
    account_id: Any,
    kind: str,
    lockbox_id: Any,
    unit_id: int,
    requested_by: Any,
    why: str = "",
    showing_id: int | None = None,
    created_for: str = "",
    valid_date: date | None = None,
) -> OutboxLockboxPost:
    """Queue one post (in the caller's transaction); a code's `created_for` gets the row's reference."""
    row = OutboxLockboxPost.objects.create(
        account_id=account_id,
        kind=kind,
        lockbox_id=lockbox_id,
        unit_id=unit_id,
        requested_by=requested_by,
        why=why,
        showing_id=showing_id,
        valid_date=valid_date,
        next_attempt_at=timezone.now(),
    )
    if kind == Kind.CODE:
        suffix = f" · {row.reference}"
        row.created_for = f"{created_for[: 200 - len(suffix)]}{suffix}" if created_for else row.reference
        row.save(update_fields=["created_for"])
    return row


# --- claiming and posting -------------------------------------------------------------------------


def lockbox_post_claim(*, now: datetime | None = None) -> OutboxLockboxPost | None:
    """Take the next due row, skipping (and settling) those the mirror shows need no post."""
    now = now or timezone.now()
    while True:
        with transaction.atomic():
            due = OutboxLockboxPost.objects.filter(state=State.QUEUED, next_attempt_at__lte=now)
            row = locked(due.order_by("next_attempt_at", "id")).first()
            if row is None or not _hold(row.pk):
                return None
            try:
                skip = _skip_reason(row)
                if skip:
                    row.log_add("skipped", skip)
                    _settle(row, State.SKIPPED, outcome=skip)
                else:
                    row.state = State.SENDING
                    row.attempts += 1
                    row.attempt_started_at = now
                    row.next_attempt_at = None
                    row.log_add("sending", attempt=row.attempts)
                    row.save(update_fields=["state", "attempts", "attempt_started_at", "next_attempt_at", "log"])
            except BaseException:
                _unhold(row.pk)
                raise
        if not skip:
            return row
        _unhold(row.pk)


def _skip_reason(row: OutboxLockboxPost) -> str:
    if row.kind == Kind.CODE:
        return ""
    box = Lockbox.objects.filter(pk=row.lockbox_id).only("id", "current_unit_id").first()
    if box is None:
        return ""
    if row.kind == Kind.INSTALL and box.current_unit_id == row.unit_id:
        return "already installed on this unit"
    if row.kind == Kind.UNINSTALL and box.current_unit_id != row.unit_id:
        return "not installed on this unit any more"
    return ""


def lockbox_post_send(client: RentEngineClient, row: OutboxLockboxPost) -> str:
    """Post one claimed row and record what happened (never posts it twice in one call)."""
    records: list[LockboxEventRecord] = []
    try:
        try:
            if row.kind == Kind.CODE:
                answer = client.lockbox_code_generate(
                    str(row.lockbox_id),
                    valid_date=row.valid_date or timezone.localdate(),
                    created_for=row.created_for,
                    lane=Lane.INTERACTIVE,
                )
                done: dict[str, Any] = {
                    "code": answer.code or "",
                    "instructions": answer.instructions or "",
                    "lockbox_type": answer.lockbox_type or "",
                }
            else:
                records = client.lockbox_event_post(str(row.lockbox_id), row.kind, row.unit_id, lane=Lane.INTERACTIVE)
                mine = next((r for r in records if str(r.lockbox_id) == str(row.lockbox_id)), None)
                if mine is None:
                    return _unknown(row, "RentEngine accepted the post but returned no event for this lockbox")
                done = {"event_id": mine.id}
        except RentEngineError as exc:
            return _failed(row, exc)
        except BaseException as exc:
            _unknown(row, f"interrupted while posting ({type(exc).__name__}); it may have reached RentEngine")
            raise
        _finish(row, State.DONE, outcome="", log=("done", ""), **done)
        _apply(records)
        return State.DONE
    finally:
        _unhold(row.pk)


def _failed(row: OutboxLockboxPost, exc: RentEngineError) -> str:
    verdict = post_error(exc, row.attempts)
    if verdict.state == State.UNKNOWN:
        return _unknown(row, verdict.reason)
    if verdict.state == State.QUEUED:
        _finish(
            row,
            State.QUEUED,
            outcome=verdict.reason,
            next_attempt_at=timezone.now() + timedelta(seconds=verdict.retry_in),
            log=("not sent", verdict.reason),
        )
    else:
        _finish(row, State.FAILED, outcome=verdict.reason, log=("failed", verdict.reason))
    return verdict.state


def _unknown(row: OutboxLockboxPost, reason: str) -> str:
    started = row.attempt_started_at or timezone.now()
    _finish(row, State.UNKNOWN, outcome=reason, next_attempt_at=started + settle_delay(), log=("unknown", reason))
    return State.UNKNOWN


def _finish(
    row: OutboxLockboxPost,
    state: str,
    *,
    outcome: str,
    next_attempt_at: datetime | None = None,
    log: tuple[str, str] | None = None,
    **answer: Any,
) -> bool:
    """Record this attempt's outcome unless someone settled the row meanwhile (a definite answer wins
    over the sweeper's `unknown`)."""
    settled_by_others = {State.SENDING, State.UNKNOWN} | ({State.QUEUED} if state == State.DONE else set())
    with transaction.atomic():
        current = OutboxLockboxPost.objects.select_for_update().filter(pk=row.pk).first()
        if current is None or current.attempts != row.attempts or current.state not in settled_by_others:
            logger.info("lockbox post %s was settled elsewhere; not recording %s", row.pk, state)
            return False
        row.log = current.log
        if log:
            row.log_add(log[0], log[1], attempt=row.attempts)
        row.next_attempt_at = next_attempt_at
        for name, value in answer.items():
            setattr(row, name, value)
        _settle(row, state, outcome=outcome[:2000], fields_also=["log", "next_attempt_at", *answer])
    return True


def _settle(row: OutboxLockboxPost, state: str, *, outcome: str, fields_also: Any = ()) -> None:
    row.state = state
    row.outcome = outcome
    if state in OutboxLockboxPost.TERMINAL:
        row.completed_at = timezone.now()
        row.next_attempt_at = None
    row.save(update_fields=sorted({"state", "outcome", "completed_at", "next_attempt_at", "log", *fields_also}))
    mirror.scopes_bump(["lockboxes"])


def _apply(records: list[LockboxEventRecord]) -> None:
    """Show an install or removal at once (the webhook and the next sync then change nothing)."""
    if not records:
        return
    try:
        with transaction.atomic():
            mirror.appliers_serialize()
            applied = mirror.lockbox_events_apply(records)
            if applied.changed:
                mirror.mirror_changed("lockbox_events", applied.accounts)
    except DatabaseError as exc:
        logger.warning("could not apply %s posted lockbox event(s) to the mirror: %s", len(records), exc)


# --- settling the unknown -------------------------------------------------------------------------


def lockbox_posts_sweep(*, now: datetime | None = None) -> int:
    """Rows left `sending` by a dead worker become `unknown`."""
    now = now or timezone.now()
    swept = 0
    candidates = OutboxLockboxPost.objects.filter(state=State.SENDING)
    if not on_postgres():
        candidates = candidates.filter(attempt_started_at__lt=now - stuck_after())
    for row_id, attempts in candidates.values_list("id", "attempts"):
        if not _hold(row_id):
            continue
        try:
            with transaction.atomic():
                row = (
                    OutboxLockboxPost.objects.select_for_update()
                    .filter(pk=row_id, state=State.SENDING, attempts=attempts)
                    .first()
                )
                if row is None:
                    continue
                reason = "the worker stopped while posting; it may have reached RentEngine"
                row.log_add("unknown", reason, attempt=row.attempts)
                row.next_attempt_at = (row.attempt_started_at or now) + settle_delay()
                _settle(row, State.UNKNOWN, outcome=reason)
                swept += 1
        finally:
            _unhold(row_id)
    return swept


def lockbox_post_reconcile_claim(*, now: datetime | None = None) -> OutboxLockboxPost | None:
    now = now or timezone.now()
    with transaction.atomic():
        due = OutboxLockboxPost.objects.filter(state=State.UNKNOWN, next_attempt_at__lte=now)
        row = locked(due.order_by("next_attempt_at", "id")).first()
        if row is None:
            return None
        row.next_attempt_at = now + RECONCILE_LEASE
        row.reconcile_checks += 1
        row.save(update_fields=["next_attempt_at", "reconcile_checks"])
    return row


def lockbox_post_reconcile(client: RentEngineClient, row: OutboxLockboxPost) -> str:
    """Settle an unknown row from the box's lockbox events: found means done (a code's answer is then
    lost: the person asks again), a complete list without it means post again."""
    since = (row.attempt_started_at or row.created_at) - SKEW
    found = _mirror_event(row, since)
    remote: LockboxEventRecord | None = None
    if found is None:
        try:
            remote = _remote_event(client, row, since)
        except RentEngineError as exc:
            return _reconcile_failed(row, exc)
        found = str(remote.id) if remote is not None else None
    with transaction.atomic():
        current = OutboxLockboxPost.objects.select_for_update().filter(pk=row.pk, state=State.UNKNOWN).first()
        if current is None:
            return "settled elsewhere"
        if found is not None:
            current.event_id = found
            lost = " (the code was made but its answer was lost: ask for another)" if current.kind == Kind.CODE else ""
            current.log_add("done", f"found in the lockbox's events (event {found})")
            _settle(current, State.DONE, outcome=f"found in RentEngine's lockbox events{lost}", fields_also=["event_id"])
        else:
            current.log_add("not found", "no such lockbox event: sending again")
            current.next_attempt_at = timezone.now()
            current.reconcile_checks = 0
            _settle(current, State.QUEUED, outcome="", fields_also=["reconcile_checks"])
            return State.QUEUED
    _apply([remote] if remote is not None else [])
    return State.DONE


def _event_type(row: OutboxLockboxPost) -> str:
    return str(LockboxEventType.GENERATE_CODE) if row.kind == Kind.CODE else row.kind


def _matches(row: OutboxLockboxPost, event_type: str | None, unit_id: Any, created_for: str | None) -> bool:
    if event_type != _event_type(row):
        return False
    if row.kind == Kind.CODE:
        return bool(created_for) and (created_for == row.created_for or str(created_for).endswith(f" · {row.reference}"))
    return unit_id is not None and int(unit_id) == row.unit_id


def _mirror_event(row: OutboxLockboxPost, since: datetime) -> str | None:
    events = LockboxEvent.objects.filter(lockbox_id=row.lockbox_id, created_at__gte=since, deleted_at__isnull=True)
    for event in events.only("id", "event_type", "unit_id", "created_for"):
        if _matches(row, event.event_type, event.unit_id, event.created_for):
            return str(event.id)
    return None


def _remote_event(client: RentEngineClient, row: OutboxLockboxPost, since: datetime) -> LockboxEventRecord | None:
    # GET /lockbox_events?lockbox_ids=&created_at_from= (API-FACTS 2.2), every page.
    for page in client.lockbox_events(lockbox_ids=[str(row.lockbox_id)], created_at_from=since, lane=Lane.BULK):
        for record in page.records:
            if _matches(row, record.event_type, record.unit_id, record.created_for):
                return record
    return None


def _reconcile_failed(row: OutboxLockboxPost, exc: RentEngineError) -> str:
    with transaction.atomic():
        current = OutboxLockboxPost.objects.select_for_update().filter(pk=row.pk, state=State.UNKNOWN).first()
        if current is None:
            return "settled elsewhere"
        if exc.permanent or current.reconcile_checks >= RECONCILE_CHECKS_MAX:
            current.log_add("failed", str(exc))
            _settle(
                current,
                State.FAILED,
                outcome=f"RentEngine can't tell whether it was posted ({exc}); check the lockbox's timeline",
            )
            return State.FAILED
        wait = exc.retry_after or min(BACKOFF_CAP, BACKOFF_BASE * 2**current.reconcile_checks)
        current.next_attempt_at = timezone.now() + timedelta(seconds=wait)
        current.log_add("look again", str(exc))
        current.save(update_fields=["next_attempt_at", "log"])
    return State.UNKNOWN


def lockbox_posts_next_due(now: datetime) -> datetime | None:
    due = OutboxLockboxPost.objects.filter(Q(state=State.QUEUED) | Q(state=State.UNKNOWN)).aggregate(at=Min("next_attempt_at"))[
        "at"
    ]
    if due is None and OutboxLockboxPost.objects.filter(state=State.SENDING).exists():
        return now + timedelta(seconds=1)
    return due
