"""Celery tasks for the bulk-assign outbox: the logic is in `drain.py` and the modules it calls.

One task message drains every job's due rows (never one message per row): it claims rows with SKIP
LOCKED, so any number may run at once, and it stops after a time budget and queues its successor
while work remains. `acks_late` + `reject_on_worker_lost`: a worker killed mid-drain gets the message
redelivered, and the next drain sweeps the row it left `sending`. Imported by the app's `ready()`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from celery import shared_task
from celery.signals import worker_process_init
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, transaction

from integrations.rentengine.client import RentEngineClient, RentEngineError
from integrations.rentengine.limiter import Lane
from integrations.rentengine.outbox.decisions import rows_fail_queued
from integrations.rentengine.outbox.drain import next_due_in
from integrations.rentengine.outbox.drain import outbox_drain as drain_for
from integrations.rentengine.outbox.lockbox_posts import lockbox_posts_sweep
from integrations.rentengine.outbox.reconcile import rows_sweep

logger = logging.getLogger(__name__)


def drain_budget() -> float:
    """How long a drain claims rows before it hands over to a fresh message: well inside the time
    limits (which must also cover one limiter wait and one request), and well inside the broker's
    visibility timeout, after which Redis would deliver a still-running drain's message again."""
    return min(50.0, settings.CELERY_VISIBILITY_TIMEOUT / 3)


# Drains side by side: one posts at most 1 / (RentEngine's latency), and at ~200 ms a post that is
# below the 5.6 per second the limiter allows. Each drain re-queues only itself, so there are never
# more than this many messages waiting (beside any a dead worker's broker still holds).
PARALLEL = 2
QUEUED_KEY = "rentengine:outbox:drain-queued"  # + ":<slot>": that slot's message is waiting in the broker
# Short: a message Redis lost (it happens: RELIABILITY 2.2) must not block its slot for long; a key
# that expires while its message still waits only costs one extra, harmless drain.
QUEUED_TTL = 15


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
def outbox_drain(slot: int = 0) -> dict[str, Any]:
    # Cleared before claiming: whatever is committed from now on queues the next drain itself.
    cache.delete(f"{QUEUED_KEY}:{slot}")
    try:
        client = bulk_client()
    except RentEngineError as exc:  # no token: end the waiting rows with the reason instead of spinning
        failed = rows_fail_queued(str(exc))
        logger.error("outbox: cannot post (%s); %s queued row(s) failed", exc, failed)
        return {"failed": failed}
    report = drain_for(client, budget=drain_budget())
    if report.more:
        drain_soon(slots=[slot])
    return report.as_dict()


@shared_task(name="rentengine.outbox_tick", ignore_result=True, soft_time_limit=30, time_limit=60)
def outbox_tick() -> dict[str, Any]:
    """Beat's safety net: sweep rows whose worker died, and refill any drain slot whose message is
    gone (a dead worker's, or one the broker lost) while rows wait."""
    swept = rows_sweep() + lockbox_posts_sweep()
    started = next_due_in() is not None and drain_soon()
    return {"swept": swept, "started": started}


_client: tuple[tuple[str, str], RentEngineClient] | None = None


def bulk_client() -> RentEngineClient:
    """One client per worker process, kept between drains: its connection to RentEngine stays open,
    so the first post of the next job pays no new TCP and TLS handshake (nor the client's set-up)."""
    global _client
    key = (settings.RENTENGINE_BASE_URL, settings.RENTENGINE_API_TOKEN)
    if _client is None or _client[0] != key:
        if _client is not None:
            _client[1].close()
        _client = (key, RentEngineClient(lane=Lane.BULK))
    return _client[1]


@worker_process_init.connect
def _pool_process_ready(**_: Any) -> None:
    """Set up before any agent waits on it: a job's first post is then one claim and one request away."""
    with contextlib.suppress(RentEngineError):  # no token yet: the drain says so when there is work
        bulk_client()


def drain_soon(*, slots: Sequence[int] | None = None) -> bool:
    """Queue a drain in each slot (every slot by default) that has none waiting for a worker."""
    queued = False
    try:
        for slot in range(PARALLEL) if slots is None else slots:
            if cache.add(f"{QUEUED_KEY}:{slot}", 1, timeout=QUEUED_TTL):
                outbox_drain.delay(slot)
                queued = True
    except Exception as exc:  # Redis away: the rows are safe in the database, and beat's tick queues a drain later
        logger.warning("outbox: could not queue a drain (%s); beat's outbox tick will", exc)
    return queued


def drain_on_commit() -> None:
    """Queue a drain once the rows the caller is writing are committed (a drain must see them)."""
    transaction.on_commit(drain_soon)
