"""Posting the outbox: claim due rows, post each as one "Assign to User" event, settle what is unknown.

RentEngine's POST /leasing_events has no idempotency key (API-FACTS 2.8), so the one rule is: a row
is posted again only when its previous post surely never reached RentEngine (the client's
`not_sent`: connect error, 429, 503, no limiter slot). Anything else that leaves the outcome open (a
read timeout, a 5xx, a worker killed mid-send) makes the row `unknown`, and the reconciler settles
it from the prospect's own leasing events, matching the reference every posted note ends with
("... · bulk #12-345"). Only when that list proves the event absent does the row go back to the
queue; when RentEngine can't tell, an operator decides ("mark sent" / "resend").

Claims use `FOR UPDATE SKIP LOCKED`, so any number of drains can run side by side. While a row is
being posted (`sending`), its worker holds a PostgreSQL advisory lock on it; the lock dies with the
worker's connection, which is how the sweeper tells a row whose worker was killed from one still in
flight (SQLite, the embedded mode, falls back on age). Everything here is a plain function; the
Celery tasks in `tasks_outbox` only call `outbox_drain`.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Min, Q, QuerySet
from django.utils import timezone

from integrations.rentengine import changes, mirror
from integrations.rentengine.client import SLOT_TIMEOUTS, MalformedResponse, RentEngineClient, RentEngineError
from integrations.rentengine.limiter import Lane
from integrations.rentengine.models import LeasingEvent, OutboxAssignment, Prospect, ProspectAssignee
from integrations.rentengine.records import LeasingEventRecord, to_uuid_list
from integrations.rentengine.webhook_apply import appliers_serialize

logger = logging.getLogger(__name__)

State = OutboxAssignment.State

# Posts that surely never reached RentEngine are retried this many times (with backoff) before the
# row fails; a human "retry" starts the count again.
MAX_ATTEMPTS = 12
BACKOFF_BASE = 2.0
BACKOFF_CAP = 60.0
# Reconciliation: how many transient failures to list a prospect's events before asking a person.
RECONCILE_CHECKS_MAX = 6
# A reconciler holds its row this long (other drains leave it alone meanwhile).
RECONCILE_LEASE = timedelta(seconds=120)
# Namespace of the advisory locks that mark a row as being posted ("OB" in the high bits).
HOLD_NAMESPACE = 0x4F42 << 48

REFERENCE = re.compile(r"bulk #(\d+)-(\d+)(?!\d)")


def settle_delay() -> timedelta:
    """How long after a post began before the reconciler may conclude from RentEngine's events: long
    enough for a request still in flight at RentEngine (its client gone) to have been committed."""
    return timedelta(seconds=settings.RENTENGINE_OUTBOX_SETTLE_SECONDS)


def stuck_after() -> timedelta:
    """Without advisory locks (SQLite): a row `sending` longer than any post can take has lost its worker."""
    return timedelta(seconds=SLOT_TIMEOUTS[Lane.BULK] + settings.RENTENGINE_TIMEOUT_SECONDS + 30)


def _postgres() -> bool:
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


def _locked(queryset: QuerySet[OutboxAssignment]) -> QuerySet[OutboxAssignment]:
    # SQLite has no row locks; its IMMEDIATE transactions already let one writer in at a time.
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True)
    return queryset


def _hold(row_id: int) -> bool:
    """Mark the row as in flight for as long as this connection lives (PostgreSQL only)."""
    if not _postgres():
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [HOLD_NAMESPACE | row_id])
        return bool(cursor.fetchone()[0])


def _unhold(row_id: int) -> None:
    if not _postgres():
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [HOLD_NAMESPACE | row_id])
    except DatabaseError as exc:  # the connection is gone, and the lock with it
        logger.warning("could not release the hold on outbox row %s: %s", row_id, exc)


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
        row = _locked(due.order_by("next_attempt_at", "id")).first()
        if row is None or not _hold(row.pk):  # not held: a sweeper is looking at it this instant
            return None, False
        try:
            skip = _skip_reason(row)
            if skip:
                row.log_add("skipped", skip)
                _settle(row, State.SKIPPED, reason=skip)
                _covers_release(row)
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
    if skip:
        _unhold(row.pk)
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
        _unhold(row.pk)


def _send_failed(row: OutboxAssignment, exc: RentEngineError) -> SendOutcome:
    if isinstance(exc, MalformedResponse) and exc.status is not None and 200 <= exc.status < 300:
        return _send_unknown(row, f"RentEngine accepted the post (HTTP {exc.status}) but its answer was unreadable: {exc}")
    if exc.not_sent and not exc.permanent:
        if row.attempts >= MAX_ATTEMPTS:
            reason = f"gave up after {row.attempts} attempts that never reached RentEngine: {exc}"
            _finish(row, State.FAILED, reason=reason, log=("failed", reason))
            return SendOutcome(State.FAILED, reason)
        delay = (
            exc.retry_after
            if exc.retry_after is not None
            else random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (row.attempts - 1)))
        )
        _finish(
            row,
            State.QUEUED,
            reason=str(exc),
            next_attempt_at=timezone.now() + timedelta(seconds=max(delay, 0.05)),
            log=("not sent", str(exc)),
        )
        return SendOutcome(State.QUEUED, str(exc))
    if exc.permanent:
        _finish(row, State.FAILED, reason=str(exc), log=("failed", str(exc)))
        _covers_release_committed(row)
        return SendOutcome(State.FAILED, str(exc))
    return _send_unknown(row, f"{exc}")


def _send_unknown(row: OutboxAssignment, reason: str) -> SendOutcome:
    started = row.attempt_started_at or timezone.now()
    _finish(row, State.UNKNOWN, reason=reason, next_attempt_at=started + settle_delay(), log=("unknown", reason))
    return SendOutcome(State.UNKNOWN, reason)


def _send_done(row: OutboxAssignment, records: Sequence[LeasingEventRecord]) -> None:
    result = [_result_entry(r) for r in records]
    with transaction.atomic():
        if _finish(
            row, State.DONE, reason="", result=[e for e in result if e["prospect_id"] == row.prospect_id], log=("done", "")
        ):
            _covers_settle(row, result)
    _mirror_apply(records)


def _result_entry(record: LeasingEventRecord) -> dict[str, Any]:
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
        _settle(row, state, reason=row.reason, fields_also=["log", "next_attempt_at", "result"])
    return True


def _settle(row: OutboxAssignment, state: str, *, reason: str, fields_also: Iterable[str] = ()) -> None:
    row.state = state
    row.reason = reason
    if state != State.UNKNOWN:
        row.needs_decision = False
    if state in OutboxAssignment.TERMINAL:
        row.completed_at = timezone.now()
        row.next_attempt_at = None
    fields = {"state", "reason", "completed_at", "next_attempt_at", "needs_decision", "log", *fields_also}
    row.save(update_fields=sorted(fields))
    changes.scopes_bump(["assignments"])


def _covers_settle(lead: OutboxAssignment, result: list[dict[str, Any]]) -> None:
    """The lead's post also assigned its same-phone prospects: those in the answer are done; any the
    answer left out (a phone changed meanwhile) are released to be posted on their own."""
    events = {e["prospect_id"]: e for e in result}
    waiting = list(_locked(OutboxAssignment.objects.filter(covered_by=lead, state=State.QUEUED)))
    for row in waiting:
        if row.prospect_id in events:
            row.result = [events[row.prospect_id]]
            row.log_add("done", f"covered by the post for prospect {lead.prospect_id}")
            _settle(row, State.DONE, reason=f"covered by the post for prospect {lead.prospect_id}", fields_also=["result"])
    _covers_release(lead)


def _covers_release(lead: OutboxAssignment) -> None:
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
        _covers_release(lead)


def _mirror_apply(records: Sequence[LeasingEventRecord]) -> None:
    """Show the new assignees at once (the webhook echo and the next sync then change nothing).
    Best effort: the outcome is already recorded, and webhooks and syncs converge on the same state.
    One writer at a time with the webhook appliers (they refresh the same prospects); should another
    writer still make PostgreSQL pick this transaction as a deadlock victim, once more goes through."""
    if not records:
        return
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                appliers_serialize()
                applied = mirror.leasing_events_apply(records)
                if applied.changed:
                    changes.mirror_changed("leasing_events", applied.accounts)
            return
        except DatabaseError as exc:
            if attempt == 2:
                logger.warning("could not apply %s posted leasing event(s) to the mirror: %s", len(records), exc)


# --- the sweeper: rows whose worker died mid-send --------------------------------------------------


def rows_sweep(*, now: datetime | None = None) -> int:
    """Rows left `sending` by a worker that died become `unknown` (to be reconciled): a post may have
    left. Returns how many were swept."""
    now = now or timezone.now()
    swept = 0
    candidates = OutboxAssignment.objects.filter(state=State.SENDING)
    if not _postgres():
        candidates = candidates.filter(attempt_started_at__lt=now - stuck_after())
    for row_id, attempts in candidates.values_list("id", "attempts"):
        if not _hold(row_id):
            continue  # its worker is alive and posting
        try:
            with transaction.atomic():
                row = (
                    OutboxAssignment.objects.select_for_update().filter(pk=row_id, state=State.SENDING, attempts=attempts).first()
                )
                if row is None:
                    continue
                reason = "the worker stopped while posting; it may have reached RentEngine"
                row.log_add("unknown", reason, attempt=row.attempts)
                row.next_attempt_at = (row.attempt_started_at or now) + settle_delay()
                _settle(row, State.UNKNOWN, reason=reason)
                swept += 1
        finally:
            _unhold(row_id)
    if swept:
        logger.warning("outbox: %s row(s) left sending by a dead worker are now unknown", swept)
    return swept


# --- the reconciler ---------------------------------------------------------------------------------


def row_reconcile_claim(*, now: datetime | None = None) -> OutboxAssignment | None:
    """Take the next unknown row that is due for a look, keeping other drains off it meanwhile."""
    now = now or timezone.now()
    with transaction.atomic():
        due = OutboxAssignment.objects.filter(state=State.UNKNOWN, needs_decision=False, next_attempt_at__lte=now)
        row = _locked(due.order_by("next_attempt_at", "id")).first()
        if row is None:
            return None
        row.next_attempt_at = now + RECONCILE_LEASE
        row.reconcile_checks += 1
        row.save(update_fields=["next_attempt_at", "reconcile_checks"])
    return row


def row_reconcile(client: RentEngineClient, row: OutboxAssignment) -> str:
    """Settle an unknown row from the prospect's leasing events: "done" when our reference is there,
    "queued" when the complete list proves it absent, "unknown" when it must be looked at again or by
    a person."""
    reference = _covering_reference(row)
    records: list[LeasingEventRecord] = []
    found = _mirror_events_with(row.prospect_id, reference)
    if not found:
        try:
            records = _remote_events_with(client, row.prospect_id, reference)
        except RentEngineError as exc:
            return _reconcile_failed(row, exc)
        found = [_result_entry(r) for r in records]
    with transaction.atomic():
        current = OutboxAssignment.objects.select_for_update().filter(pk=row.pk, state=State.UNKNOWN).first()
        if current is None:
            return "settled elsewhere"
        if found:
            current.result = found[:1]
            current.log_add("done", f"found in RentEngine's events for prospect {row.prospect_id} (event {found[0]['event_id']})")
            _settle(current, State.DONE, reason="", fields_also=["result"])
            # Its same-phone prospects carry the same reference: each is looked up in its own events.
            for follower in OutboxAssignment.objects.filter(covered_by=current, state=State.QUEUED):
                follower.log_add("unknown", "covered by a post whose outcome was unknown")
                follower.next_attempt_at = timezone.now()
                _settle(follower, State.UNKNOWN, reason="covered by a post whose outcome was unknown")
            outcome = State.DONE
        else:
            current.log_add("not found", f"no event with '{reference}' for prospect {row.prospect_id}: sending again")
            current.covered_by = None
            current.next_attempt_at = timezone.now()
            current.reconcile_checks = 0
            _settle(current, State.QUEUED, reason="", fields_also=["covered_by", "reconcile_checks"])
            outcome = State.QUEUED
    _mirror_apply(records)
    return outcome


def _covering_reference(row: OutboxAssignment) -> str:
    """A row waiting on a same-phone lead was posted (if at all) with the lead's notes."""
    if row.covered_by_id:
        return OutboxAssignment(pk=row.covered_by_id, job_id=row.job_id).reference
    return row.reference


def reference_in(notes: str | None, reference: str) -> bool:
    """Exactly this reference: "bulk #12-34" does not match "bulk #12-345"."""
    return any(match.group(0) == reference for match in REFERENCE.finditer(notes or ""))


def _mirror_events_with(prospect_id: int, reference: str) -> list[dict[str, Any]]:
    """The event as a webhook or sync already mirrored it (no request needed), as result entries."""
    candidates = LeasingEvent.objects.filter(prospect_id=prospect_id, notes__contains=reference, deleted_at__isnull=True)
    return [
        {
            "prospect_id": e.prospect_id,
            "event_id": e.id,
            "previous": to_uuid_list((e.context or {}).get("previousAssignedToUserIds")),
        }
        for e in candidates.only("id", "prospect_id", "notes", "context")
        if reference_in(e.notes, reference)
    ]


def _remote_events_with(client: RentEngineClient, prospect_id: int, reference: str) -> list[LeasingEventRecord]:
    found: list[LeasingEventRecord] = []
    # GET /leasing_events?prospect_id= (API-FACTS 2.8, envelope pages): every page, newest events included.
    for page in client.leasing_events(prospect_id=prospect_id, lane=Lane.BULK):
        found += [r for r in page.records if reference_in(r.notes, reference)]
    return found


def _reconcile_failed(row: OutboxAssignment, exc: RentEngineError) -> str:
    with transaction.atomic():
        current = OutboxAssignment.objects.select_for_update().filter(pk=row.pk, state=State.UNKNOWN).first()
        if current is None:
            return "settled elsewhere"
        if exc.permanent or current.reconcile_checks >= RECONCILE_CHECKS_MAX:
            current.needs_decision = True
            current.next_attempt_at = None
            current.reason = f"RentEngine can't tell whether it was assigned ({exc}): mark it sent, or send it again"[:2000]
            current.log_add("needs a decision", str(exc))
        else:
            wait = exc.retry_after or min(BACKOFF_CAP, BACKOFF_BASE * 2**current.reconcile_checks)
            current.next_attempt_at = timezone.now() + timedelta(seconds=wait)
            current.log_add("look again", str(exc))
        current.save(update_fields=["needs_decision", "next_attempt_at", "reason", "log"])
        changes.scopes_bump(["assignments"])
    return State.UNKNOWN


# --- decisions by people ----------------------------------------------------------------------------


def row_mark_sent(row_id: int, *, by: str) -> bool:
    """An operator saw it in RentEngine: done (with no event known, so undo can't revert it)."""
    with transaction.atomic():
        row = OutboxAssignment.objects.select_for_update().filter(pk=row_id, state=State.UNKNOWN).first()
        if row is None:
            return False
        reason = f"marked sent by {by}"
        row.log_add("marked sent", by)
        _settle(row, State.DONE, reason=reason)
        for follower in OutboxAssignment.objects.filter(covered_by=row, state=State.QUEUED):
            follower.log_add("marked sent", by)
            _settle(follower, State.DONE, reason=f"{reason} (covered by the post for prospect {row.prospect_id})")
    return True


def row_resend(row_id: int, *, by: str) -> bool:
    """An operator checked it is not in RentEngine: post it again."""
    with transaction.atomic():
        row = OutboxAssignment.objects.select_for_update().filter(pk=row_id, state=State.UNKNOWN).first()
        if row is None:
            return False
        row.log_add("resend", by)
        row.covered_by = None
        row.next_attempt_at = timezone.now()
        row.attempts = 0
        row.reconcile_checks = 0
        _settle(row, State.QUEUED, reason="", fields_also=["covered_by", "attempts", "reconcile_checks"])
    return True


def rows_retry_failed(job_id: int, *, by: str) -> int:
    """Queue a job's failed rows again (a person fixed the cause, or wants another try)."""
    with transaction.atomic():
        rows = list(_locked(OutboxAssignment.objects.filter(job_id=job_id, state=State.FAILED)))
        now = timezone.now()
        for row in rows:
            row.log_add("retry", by)
            row.attempts = 0
            row.covered_by = None
            row.next_attempt_at = now
            row.completed_at = None
            _settle(row, State.QUEUED, reason="", fields_also=["attempts", "covered_by", "completed_at"])
    return len(rows)


def rows_fail_queued(reason: str) -> int:
    """Nothing can be posted (no API token): end what is waiting, with the reason, rather than wait forever."""
    with transaction.atomic():
        rows = list(_locked(OutboxAssignment.objects.filter(state=State.QUEUED)))
        for row in rows:
            row.log_add("failed", reason)
            _settle(row, State.FAILED, reason=reason)
    return len(rows)


# --- the drain ----------------------------------------------------------------------------------------


@dataclass
class DrainReport:
    posted: int = 0
    done: int = 0
    failed: int = 0
    unknown: int = 0
    requeued: int = 0
    reconciled: int = 0
    swept: int = 0
    more: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def next_due_in(*, now: datetime | None = None) -> float | None:
    """Seconds until this process has something to do (0: now), or None when nothing is pending
    that a drain could act on. Rows `sending` elsewhere keep it looking (their worker may die)."""
    now = now or timezone.now()
    due = OutboxAssignment.objects.filter(
        Q(state=State.QUEUED, covered_by__isnull=True) | Q(state=State.UNKNOWN, needs_decision=False)
    ).aggregate(at=Min("next_attempt_at"))["at"]
    if due is not None:
        return max(0.0, (due - now).total_seconds())
    if OutboxAssignment.objects.filter(state=State.SENDING).exists():
        return 1.0
    return None


def outbox_drain(
    client: RentEngineClient,
    *,
    budget: float,
    idle_poll: float = 0.25,
    sweep_every: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> DrainReport:
    """Post due rows and reconcile unknown ones for up to `budget` seconds; `more` says work remains."""
    report = DrainReport()
    deadline = time.monotonic() + budget
    next_sweep = 0.0
    while time.monotonic() < deadline:
        if time.monotonic() >= next_sweep:
            report.swept += rows_sweep()
            next_sweep = time.monotonic() + sweep_every
        row = row_claim()
        if row is not None:
            outcome = row_send(client, row)
            report.posted += 1
            if outcome.state == State.DONE:
                report.done += 1
            elif outcome.state == State.FAILED:
                report.failed += 1
            elif outcome.state == State.UNKNOWN:
                report.unknown += 1
            else:
                report.requeued += 1
            continue
        unknown = row_reconcile_claim()
        if unknown is not None:
            row_reconcile(client, unknown)
            report.reconciled += 1
            continue
        wait = next_due_in()
        if wait is None:
            return report
        sleep(max(0.01, min(wait, idle_poll, deadline - time.monotonic())))
    report.more = next_due_in() is not None
    return report
