"""Celery tasks for webhook deliveries, and the "apply requested" flag that keeps at most one apply queued.

Both tasks are safe to run twice and concurrently (claims use SKIP LOCKED; applying is idempotent),
hence `acks_late` with `reject_on_worker_lost`: a worker that dies mid-batch gets its task back.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError

from integrations.rentengine.webhooks.apply import deliveries_apply_pending, deliveries_replay, deliveries_sweep

logger = logging.getLogger(__name__)

# A batch loop stops taking new batches after this long and queues a follow-up run instead.
APPLY_TIME_BUDGET = 60.0

APPLY_PENDING_KEY = "rentengine:webhooks:apply-requested"
APPLY_PENDING_TTL = 30  # a lost apply request blocks the next one this long at most; the sweeper covers the rest


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
        return deliveries_replay(ids=delivery_ids).as_dict()
    # Cleared before claiming: a delivery committed from now on queues the next run itself.
    apply_request_flag_clear()
    report = deliveries_apply_pending(time_budget=APPLY_TIME_BUDGET)
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
    """Beat's safety net: apply deliveries whose apply request was lost, and failed ones due for retry."""
    return deliveries_sweep().as_dict()


def deliveries_apply_soon() -> None:
    """Ask a worker to apply waiting deliveries, keeping at most one such request queued.

    The apply task clears the flag before it claims, so a delivery committed after the claim always
    finds the flag clear and queues the next run; the flag expires in case a queued request is lost.
    """
    try:
        if apply_request_flag_set():
            try:
                webhooks_apply.delay()
            except Exception:
                apply_request_flag_clear()
                raise
    except Exception:  # the delivery is stored: a broker hiccup must not turn it into a 500
        logger.warning("Could not queue the webhook apply; the sweeper will apply the waiting deliveries", exc_info=True)


_redis_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    # One client per process: Django's RedisCache builds a client object per call, which costs more
    # CPU than the rest of the receiver together.
    global _redis_client
    if _redis_client is None:
        _redis_client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    return _redis_client


def apply_request_flag_set() -> bool:
    """Raise the "apply requested" flag; False when it was already up (an apply is queued)."""
    if settings.REDIS_URL:
        return bool(_redis().set(APPLY_PENDING_KEY, 1, nx=True, ex=APPLY_PENDING_TTL))
    return cache.add(APPLY_PENDING_KEY, 1, timeout=APPLY_PENDING_TTL)  # embedded mode: the file cache


def apply_request_flag_clear() -> None:
    if settings.REDIS_URL:
        _redis().delete(APPLY_PENDING_KEY)
    else:
        cache.delete(APPLY_PENDING_KEY)


def apply_request_flag_is_set() -> bool:
    if settings.REDIS_URL:
        return bool(_redis().exists(APPLY_PENDING_KEY))
    return cache.get(APPLY_PENDING_KEY) is not None
