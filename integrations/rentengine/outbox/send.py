"""Claim a due outbox row and post it as one "Assign to User" leasing event, exactly once.

The one rule (RentEngine has no idempotency key): a row is posted again only when its previous post
surely never reached RentEngine (`not_sent`); anything ambiguous makes it `unknown` for
`reconcile.py`. While a row is `sending`, its worker holds a PostgreSQL advisory lock on it, which
dies with the worker's connection: that is how the sweeper tells a dead worker's row from a live one.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Model, QuerySet
from django.utils import timezone

from integrations.rentengine import mirror
from integrations.rentengine.client import SLOT_TIMEOUTS, LeasingEventRecord, MalformedResponse, RentEngineClient, RentEngineError
from integrations.rentengine.limiter import Lane
from integrations.rentengine.models import OutboxAssignment, Prospect, ProspectAssignee

logger = logging.getLogger(__name__)

State = OutboxAssignment.State

# Posts that surely never reached RentEngine are retried this many times (with backoff) before the
# row fails; a human "retry" starts the count again.
MAX_ATTEMPTS = 12
BACKOFF_BASE = 2.0
BACKOFF_CAP = 60.0
# Namespace of the advisory locks that mark a row as being posted ("OB" in the high bits).
HOLD_NAMESPACE = 0x4F42 << 48


def settle_delay() -> timedelta:
    """How long after a post began before the reconciler may conclude from RentEngine's events: long
    enough for a request still in flight at RentEngine (its client gone) to have been committed."""
    return timedelta(seconds=settings.RENTENGINE_OUTBOX_SETTLE_SECONDS)


def stuck_after() -> timedelta:
    """Without advisory locks (SQLite): a row `sending` longer than any post can take has lost its worker."""
    return timedelta(seconds=SLOT_TIMEOUTS[Lane.BULK] + settings.RENTENGINE_TIMEOUT_SECONDS + 30)


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


# --- writing rows ---------------------------------------------------------------------------------


def rows_create(rows: Sequence[OutboxAssignment], *, leads: Mapping[int, int] | None = None) -> list[OutboxAssignment]:
    """Insert a job's rows (inside the caller's transaction, beside its job).

    `leads` maps a prospect id to the prospect id whose row will cover it with one post
    (`applyActionInBulk` over a shared phone); those rows wait for their lead.
    """
    leads = leads or {}
    now = timezone.now()
    for row in rows:
        row.next_attempt_at = row.next_attempt_at or now
        if row.state != State.QUEUED:
            row.completed_at = row.completed_at or now
            row.next_attempt_at = None
    first = [r for r in rows if r.prospect_id not in leads]
    created = OutboxAssignment.objects.bulk_create(first, batch_size=500)
    by_prospect = {r.prospect_id: r for r in created}
    followers = [r for r in rows if r.prospect_id in leads]
    for row in followers:
        row.covered_by_id = by_prospect[leads[row.prospect_id]].pk
    created += OutboxAssignment.objects.bulk_create(followers, batch_size=500)
    return created


def locked[M: Model](queryset: QuerySet[M]) -> QuerySet[M]:
    # SQLite has no row locks; its IMMEDIATE transactions already let one writer in at a time.
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True)
    return queryset


def row_hold(row_id: int) -> bool:
    """Mark the row as in flight for as long as this connection lives (PostgreSQL only)."""
    return mirror.session_lock_try(HOLD_NAMESPACE | row_id)


def row_unhold(row_id: int) -> None:
    mirror.session_lock_release(HOLD_NAMESPACE | row_id)


# --- claiming -------------------------------------------------------------------------------------


def row_claim(*, now: datetime | None = None) -> OutboxAssignment | None:
    """Take the next due row and mark it `sending` (committed before anything is posted, so a crash
    from here on leaves evidence). Rows that need no post are settled on the way and passed over."""
    while True:
        row, skipped = _claim_one(now or timezone.now())
        if not skipped:
            return row


def _claim_one(now: datetime) -> tuple[OutboxAssignment | None, bool]:
    with transaction.atomic():
        due = OutboxAssignment.objects.filter(state=State.QUEUED, covered_by__isnull=True, next_attempt_at__lte=now)
        row = locked(due.order_by("next_attempt_at", "id")).first()
        if row is None or not row_hold(row.pk):  # not held: a sweeper is looking at it this instant
            return None, False
        try:
            skip = _skip_reason(row)
            if skip:
                row.log_add("skipped", skip)
                row_settle(row, State.SKIPPED, reason=skip)
                covers_release(row)
            else:
                row.state = State.SENDING
                row.attempts += 1
                row.attempt_started_at = now
                row.next_attempt_at = None
                row.log_add("sending", attempt=row.attempts)
                row.save(update_fields=["state", "attempts", "attempt_started_at", "next_attempt_at", "log"])
        except BaseException:
            row_unhold(row.pk)
            raise
    if skip:
        row_unhold(row.pk)
        return None, True
    return row, False


def _skip_reason(row: OutboxAssignment) -> str:
    """Why this row needs no post at all, judged from the mirror at the moment it is due."""
    prospect = Prospect.objects.filter(pk=row.prospect_id).only("id", "assigned_by_event_id", "deleted_at").first()
    if prospect is None or prospect.deleted_at is not None:
        return "" if prospect is None else "the prospect was deleted in RentEngine"
    if row.expect_event_id is not None and prospect.assigned_by_event_id != row.expect_event_id:
        return "reassigned since: left as it is"
    current = {str(u) for u in ProspectAssignee.objects.filter(prospect_id=row.prospect_id).values_list("user_id", flat=True)}
    if current and current == {str(u) for u in row.user_ids}:
        return "already assigned to exactly these users"
    return ""


# --- posting --------------------------------------------------------------------------------------


@dataclass
class SendOutcome:
    state: str
    reason: str = ""


def row_send(client: RentEngineClient, row: OutboxAssignment) -> SendOutcome:
    """Post one claimed row and record what happened. Never posts a row twice in one call."""
    try:
        try:
            # POST /leasing_events, one event: https://rentengine.redocly.app/openapi/leasing-events/postleasingevents.md
            records = client.leasing_event_assign(
                row.prospect_id, row.user_ids, apply_in_bulk=row.apply_in_bulk, source=row.source, notes=row.notes, lane=Lane.BULK
            )
        except RentEngineError as exc:
            return _send_failed(row, exc)
        except BaseException as exc:
            # A soft time limit or shutdown mid-request: it may or may not have left.
            _send_unknown(row, f"interrupted while posting ({type(exc).__name__}); it may have reached RentEngine")
            raise
        mine = [r for r in records if r.prospect_id == row.prospect_id]
        if not mine:
            return _send_unknown(row, f"RentEngine accepted the post but returned no event for prospect {row.prospect_id}")
        _send_done(row, records)
        return SendOutcome(State.DONE)
    finally:
        row_unhold(row.pk)


@dataclass(frozen=True)
class PostError:
    """What a failed post means for its row: UNKNOWN (it may have reached RentEngine: reconcile),
    FAILED for good, or QUEUED again after `retry_in` seconds."""

    state: str
    reason: str
    retry_in: float = 0.0


def post_error(exc: RentEngineError, attempts: int) -> PostError:
    """The verdict on a post that raised, shared by every kind of outbox row."""
    if isinstance(exc, MalformedResponse) and exc.status is not None and 200 <= exc.status < 300:
        return PostError(State.UNKNOWN, f"RentEngine accepted the post (HTTP {exc.status}) but its answer was unreadable: {exc}")
    if exc.not_sent and not exc.permanent:
        if attempts >= MAX_ATTEMPTS:
            return PostError(State.FAILED, f"gave up after {attempts} attempts that never reached RentEngine: {exc}")
        delay = (
            exc.retry_after
            if exc.retry_after is not None
            else random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempts - 1)))
        )
        return PostError(State.QUEUED, str(exc), max(delay, 0.05))
    if exc.permanent:
        return PostError(State.FAILED, str(exc))
    return PostError(State.UNKNOWN, str(exc))


def _send_failed(row: OutboxAssignment, exc: RentEngineError) -> SendOutcome:
    verdict = post_error(exc, row.attempts)
    if verdict.state == State.UNKNOWN:
        return _send_unknown(row, verdict.reason)
    if verdict.state == State.QUEUED:
        _finish(
            row,
            State.QUEUED,
            reason=verdict.reason,
            next_attempt_at=timezone.now() + timedelta(seconds=verdict.retry_in),
            log=("not sent", verdict.reason),
        )
    else:
        _finish(row, State.FAILED, reason=verdict.reason, log=("failed", verdict.reason))
        if exc.permanent:
            _covers_release_committed(row)
    return SendOutcome(verdict.state, verdict.reason)


def _send_unknown(row: OutboxAssignment, reason: str) -> SendOutcome:
    started = row.attempt_started_at or timezone.now()
    _finish(row, State.UNKNOWN, reason=reason, next_attempt_at=started + settle_delay(), log=("unknown", reason))
    return SendOutcome(State.UNKNOWN, reason)


def _send_done(row: OutboxAssignment, records: Sequence[LeasingEventRecord]) -> None:
    result = [result_entry(r) for r in records]
    with transaction.atomic():
        if _finish(
            row, State.DONE, reason="", result=[e for e in result if e["prospect_id"] == row.prospect_id], log=("done", "")
        ):
            _covers_settle(row, result)
    posted_events_apply(records)


def result_entry(record: LeasingEventRecord) -> dict[str, Any]:
    return {"prospect_id": record.prospect_id, "event_id": record.id, "previous": record.previous_assigned_user_ids}


def _finish(
    row: OutboxAssignment,
    state: str,
    *,
    reason: str,
    next_attempt_at: datetime | None = None,
    result: list[dict[str, Any]] | None = None,
    log: tuple[str, str] | None = None,
) -> bool:
    """Record the outcome of this row's current attempt, unless someone settled it meanwhile. A
    definite answer wins over what others guessed while this worker had lost its database
    connection: the sweeper's `unknown`, or even the reconciler's re-queue (posting it again now
    would be the duplicate)."""
    settled_by_others = {State.SENDING, State.UNKNOWN} | ({State.QUEUED} if state == State.DONE else set())
    with transaction.atomic():
        current = OutboxAssignment.objects.select_for_update().filter(pk=row.pk).first()
        if current is None or current.attempts != row.attempts or current.state not in settled_by_others:
            logger.info("outbox row %s was settled elsewhere (%s); not recording %s", row.pk, current and current.state, state)
            return False
        row.log = current.log
        if log:
            row.log_add(log[0], log[1], attempt=row.attempts)
        row.reason = reason[:2000]
        row.next_attempt_at = next_attempt_at
        if result is not None:
            row.result = result
        row_settle(row, state, reason=row.reason, fields_also=["log", "next_attempt_at", "result"])
    return True


def row_settle(row: OutboxAssignment, state: str, *, reason: str, fields_also: Iterable[str] = ()) -> None:
    row.state = state
    row.reason = reason
    if state != State.UNKNOWN:
        row.needs_decision = False
    if state in OutboxAssignment.TERMINAL:
        row.completed_at = timezone.now()
        row.next_attempt_at = None
    fields = {"state", "reason", "completed_at", "next_attempt_at", "needs_decision", "log", *fields_also}
    row.save(update_fields=sorted(fields))
    mirror.scopes_bump(["assignments"])


def _covers_settle(lead: OutboxAssignment, result: list[dict[str, Any]]) -> None:
    """The lead's post also assigned its same-phone prospects: those in the answer are done; any the
    answer left out (a phone changed meanwhile) are released to be posted on their own."""
    events = {e["prospect_id"]: e for e in result}
    waiting = list(locked(OutboxAssignment.objects.filter(covered_by=lead, state=State.QUEUED)))
    for row in waiting:
        if row.prospect_id in events:
            row.result = [events[row.prospect_id]]
            row.log_add("done", f"covered by the post for prospect {lead.prospect_id}")
            row_settle(row, State.DONE, reason=f"covered by the post for prospect {lead.prospect_id}", fields_also=["result"])
    covers_release(lead)


def covers_release(lead: OutboxAssignment) -> None:
    """The lead will not post for its followers: let the first one lead the rest."""
    followers = list(OutboxAssignment.objects.filter(covered_by=lead, state=State.QUEUED).order_by("id"))
    if not followers:
        return
    head, rest = followers[0], followers[1:]
    head.covered_by = None
    head.next_attempt_at = timezone.now()
    head.log_add("released", f"the post for prospect {lead.prospect_id} did not cover it")
    head.save(update_fields=["covered_by", "next_attempt_at", "log"])
    OutboxAssignment.objects.filter(pk__in=[r.pk for r in rest]).update(covered_by=head if head.apply_in_bulk else None)


def _covers_release_committed(lead: OutboxAssignment) -> None:
    with transaction.atomic():
        covers_release(lead)


def posted_events_apply(records: Sequence[LeasingEventRecord]) -> None:
    """Show the new assignees at once (the webhook echo and the next sync then change nothing).
    Best effort: the outcome is already recorded, and webhooks and syncs converge on the same state.
    One writer at a time with the webhook appliers (they refresh the same prospects); should another
    writer still make PostgreSQL pick this transaction as a deadlock victim, once more goes through."""
    if not records:
        return
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                mirror.appliers_serialize()
                applied = mirror.leasing_events_apply(records)
                if applied.changed:
                    mirror.mirror_changed("leasing_events", applied.accounts)
            return
        except DatabaseError as exc:
            if attempt == 2:
                logger.warning("could not apply %s posted leasing event(s) to the mirror: %s", len(records), exc)
