"""Dashboard tasks (thin: ids in, call a function)."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import connection

from dashboard import retention
from integrations.rentengine.models import Account


@shared_task(name="dashboard.worker_health", soft_time_limit=20, time_limit=30)
def worker_health() -> dict[str, Any]:
    """Answer from inside a worker: proves the worker runs, reads the same database, and returns."""
    return {"database": connection.vendor, "accounts": Account.objects.count()}


@shared_task(name="dashboard.retention_prune", soft_time_limit=600, time_limit=900)
def retention_prune() -> dict[str, Any]:
    """Beat's daily pass over old operational history (dashboard/retention.py)."""
    return retention.retention_prune()
