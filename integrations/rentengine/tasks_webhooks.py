"""Thin Celery tasks for webhook deliveries: the logic is in `webhook_apply` (and `webhooks`).

Both tasks are safe to run twice and concurrently (claims use SKIP LOCKED; applying is idempotent),
hence `acks_late` with `reject_on_worker_lost`: a worker that dies mid-batch gets the task redelivered
rather than dropped. Imported by the app's `ready()` so every worker registers them.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app, shared_task, signature
from django.conf import settings
from django.db import DatabaseError

from integrations.rentengine import webhook_apply, webhooks

logger = logging.getLogger(__name__)

# A batch loop stops taking new batches after this long and queues a follow-up run instead.
APPLY_TIME_BUDGET = 60.0


@shared_task(
    name="rentengine.webhooks_apply",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=150,
    time_limit=180,
    autoretry_for=(DatabaseError,),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=10,
)
def webhooks_apply(delivery_ids: list[int] | None = None) -> dict[str, Any]:
    """Apply waiting deliveries (or, with ids, exactly those again) in batches."""
    if delivery_ids is not None:
        return webhook_apply.deliveries_replay(ids=delivery_ids).as_dict()
    # Cleared before claiming: a delivery committed from now on queues the next run itself.
    webhooks.apply_request_flag_clear()
    report = webhook_apply.deliveries_apply_pending(time_budget=APPLY_TIME_BUDGET)
    if report.more:
        webhooks_apply.delay()
    return report.as_dict()


@shared_task(
    name="rentengine.webhooks_sweep",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=150,
    time_limit=180,
    autoretry_for=(DatabaseError,),
    retry_backoff=5,
    retry_jitter=True,
    max_retries=3,
)
def webhooks_sweep() -> dict[str, Any]:
    """The safety net: apply deliveries whose apply request was lost, and failed ones due for retry."""
    return webhook_apply.deliveries_sweep().as_dict()


SWEEP_EVERY_SECONDS = float(getattr(settings, "RENTENGINE_WEBHOOK_SWEEP_EVERY_SECONDS", 60))

# Registered here rather than in settings so the safety net exists wherever beat runs; an entry of
# the same name in CELERY_BEAT_SCHEDULE takes precedence.
if "rentengine.webhooks_sweep" not in (getattr(settings, "CELERY_BEAT_SCHEDULE", None) or {}):
    current_app.add_periodic_task(SWEEP_EVERY_SECONDS, signature("rentengine.webhooks_sweep"), name="rentengine.webhooks_sweep")
