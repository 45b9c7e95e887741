"""Celery tasks for the sync: ids in, call a function in runner.py, decide what comes next.

A run is a chain of short steps (a few seconds of whole pages each), so a worker that dies costs at
most one step: `acks_late` + `reject_on_worker_lost` redeliver it, and the step resumes from the
progress saved on the resource's state row. Every step is safe to run twice (upserts are idempotent).
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import DatabaseError

from integrations.rentengine.client import RentEngineClient, RentEngineError
from integrations.rentengine.models import SyncState
from integrations.rentengine.sync.runner import SyncBusy, lane_for, resources_due, run_fail, run_start, run_step

logger = logging.getLogger(__name__)


@shared_task(name="rentengine.sync_due", ignore_result=True, soft_time_limit=30, time_limit=60)
def sync_due() -> list[str]:
    """Beat's tick: start a run for every resource whose pass is due."""
    started = []
    for resource, full in resources_due():
        if sync_start_now(resource, full=full):
            started.append(resource)
    return started


@shared_task(name="rentengine.sync_start", ignore_result=True, soft_time_limit=30, time_limit=60)
def sync_start(resource: str, full: bool = False) -> bool:
    """The "sync now" button and manual runs."""
    return sync_start_now(resource, full=full)


def sync_start_now(resource: str, *, full: bool) -> bool:
    try:
        run_id = run_start(resource, full=full)
    except SyncBusy as busy:
        logger.info("%s", busy)
        return False
    sync_step.delay(resource, str(run_id))
    return True


@shared_task(
    name="rentengine.sync_step",
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=120,
    time_limit=150,
    # A connection lost outside the page loop (recording the outcome, reading the state): the step
    # runs again and resumes from the run's saved progress, instead of stranding it until its lease ends.
    autoretry_for=(DatabaseError,),
    retry_backoff=2,
    retry_backoff_max=30,
    retry_jitter=True,
    max_retries=10,
)
def sync_step(resource: str, run_id: str) -> str:
    state = SyncState.objects.filter(resource=resource).only("run_kind", "run_id").first()
    if state is None or str(state.run_id) != run_id:
        return "stale"
    try:
        client = RentEngineClient(lane=lane_for(state.run_kind))
    except RentEngineError as exc:  # no token: fail the run with the reason, don't retry forever
        return run_fail(resource, run_id, exc)
    with client:
        outcome = run_step(resource, run_id, client=client)
    if outcome == "more":
        sync_step.delay(resource, run_id)
    return outcome
