"""Settling what is unknown: rows whose worker died mid-send, and posts whose outcome was never heard.

A row is settled from the prospect's own leasing events, by the reference every posted note ends with
(`bulk #<job>-<row>`): found means done, a complete list without it means send again, and when
RentEngine can't tell, an operator decides.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from integrations.rentengine import mirror
from integrations.rentengine.client import LeasingEventRecord, RentEngineClient, RentEngineError
from integrations.rentengine.client.coerce import to_uuid_list
from integrations.rentengine.limiter import Lane
from integrations.rentengine.models import LeasingEvent, OutboxAssignment
from integrations.rentengine.outbox.send import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    State,
    locked,
    on_postgres,
    posted_events_apply,
    result_entry,
    row_hold,
    row_settle,
    row_unhold,
    settle_delay,
    stuck_after,
)

logger = logging.getLogger(__name__)

# Reconciliation: how many transient failures to list a prospect's events before asking a person.
RECONCILE_CHECKS_MAX = 6
# A reconciler holds its row this long (other drains leave it alone meanwhile).
RECONCILE_LEASE = timedelta(seconds=120)
REFERENCE = re.compile(r"bulk #(\d+)-(\d+)(?!\d)")


def rows_sweep(*, now: datetime | None = None) -> int:
    """Rows left `sending` by a worker that died become `unknown` (to be reconciled): a post may have
    left. Returns how many were swept."""
    now = now or timezone.now()
    swept = 0
    candidates = OutboxAssignment.objects.filter(state=State.SENDING)
    if not on_postgres():
        candidates = candidates.filter(attempt_started_at__lt=now - stuck_after())
    for row_id, attempts in candidates.values_list("id", "attempts"):
        if not row_hold(row_id):
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
                row_settle(row, State.UNKNOWN, reason=reason)
                swept += 1
        finally:
            row_unhold(row_id)
    if swept:
        logger.warning("outbox: %s row(s) left sending by a dead worker are now unknown", swept)
    return swept


def row_reconcile_claim(*, now: datetime | None = None) -> OutboxAssignment | None:
    """Take the next unknown row that is due for a look, keeping other drains off it meanwhile."""
    now = now or timezone.now()
    with transaction.atomic():
        due = OutboxAssignment.objects.filter(state=State.UNKNOWN, needs_decision=False, next_attempt_at__lte=now)
        row = locked(due.order_by("next_attempt_at", "id")).first()
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
        found = [result_entry(r) for r in records]
    with transaction.atomic():
        current = OutboxAssignment.objects.select_for_update().filter(pk=row.pk, state=State.UNKNOWN).first()
        if current is None:
            return "settled elsewhere"
        if found:
            current.result = found[:1]
            current.log_add("done", f"found in RentEngine's events for prospect {row.prospect_id} (event {found[0]['event_id']})")
            row_settle(current, State.DONE, reason="", fields_also=["result"])
            # Its same-phone prospects carry the same reference: each is looked up in its own events.
            for follower in OutboxAssignment.objects.filter(covered_by=current, state=State.QUEUED):
                follower.log_add("unknown", "covered by a post whose outcome was unknown")
                follower.next_attempt_at = timezone.now()
                row_settle(follower, State.UNKNOWN, reason="covered by a post whose outcome was unknown")
            outcome = State.DONE
        else:
            current.log_add("not found", f"no event with '{reference}' for prospect {row.prospect_id}: sending again")
            current.covered_by = None
            current.next_attempt_at = timezone.now()
            current.reconcile_checks = 0
            row_settle(current, State.QUEUED, reason="", fields_also=["covered_by", "reconcile_checks"])
            outcome = State.QUEUED
    posted_events_apply(records)
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
        mirror.scopes_bump(["assignments"])
    return State.UNKNOWN
