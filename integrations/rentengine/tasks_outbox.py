"""Thin Celery tasks for the bulk-assign outbox: the logic is in `outbox`.

One task message drains every job's due rows (never one message per row): it claims rows with SKIP
LOCKED, so any number may run at once, and it stops after a time budget and queues its successor
while work remains. `acks_late` + `reject_on_worker_lost`: a worker killed mid-drain gets the message
redelivered, and the next drain sweeps the row it left `sending`. Imported by the app's `ready()`.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.core.cache import cache
from django.db import DatabaseError, transaction

from integrations.rentengine import outbox
from integrations.rentengine.client import RentEngineClient, RentEngineError
from integrations.rentengine.limiter import Lane

logger = logging.getLogger(__name__)

# A drain stops claiming after this long and queues the next one (well inside the time limits, which
# must also cover one limiter wait and one request).
DRAIN_BUDGET = 50.0
QUEUED_KEY = "rentengine:outbox:drain-queued"  # a drain message is waiting in the broker
RUNNING_KEY = "rentengine:outbox:drain-running"  # a drain ran recently (the tick leaves it be)


@shared_task(
    name="rentengine.outbox_drain",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=240,
    time_limit=300,
    autoretry_for=(DatabaseError,),
    retry_backoff=2,
    retry_backoff_max=30,
    max_retries=5,
)
def outbox_drain() -> dict[str, Any]:
    # Cleared before claiming: whatever is committed from now on queues the next drain itself.
    cache.delete(QUEUED_KEY)
    cache.set(RUNNING_KEY, 1, timeout=DRAIN_BUDGET + 60)
    try:
        client = RentEngineClient(lane=Lane.BULK)
    except RentEngineError as exc:  # no token: end the waiting rows with the reason instead of spinning
        failed = outbox.rows_fail_queued(str(exc))
        logger.error("outbox: cannot post (%s); %s queued row(s) failed", exc, failed)
        return {"failed": failed}
    try:
        with client:
            report = outbox.outbox_drain(client, budget=DRAIN_BUDGET)
    finally:
        cache.delete(RUNNING_KEY)
    if report.more:
        drain_soon()
    return report.as_dict()


@shared_task(name="rentengine.outbox_tick", ignore_result=True, soft_time_limit=30, time_limit=60)
def outbox_tick() -> dict[str, Any]:
    """Beat's safety net: sweep rows whose worker died and start a drain if work waits and none runs."""
    swept = outbox.rows_sweep()
    started = False
    if outbox.next_due_in() is not None and not cache.get(RUNNING_KEY):
        started = drain_soon()
    return {"swept": swept, "started": started}


def drain_soon() -> bool:
    """Queue a drain unless one is already waiting for a worker."""
    if not cache.add(QUEUED_KEY, 1, timeout=60):
        return False
    outbox_drain.delay()
    return True


def drain_on_commit() -> None:
    """Queue a drain once the rows the caller is writing are committed (a drain must see them)."""
    transaction.on_commit(drain_soon)
