"""Dashboard tasks (thin: ids in, call a function)."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import connection

from integrations.rentengine.models import Account


@shared_task(name="dashboard.worker_health", soft_time_limit=20, time_limit=30)
def worker_health() -> dict[str, Any]:
    """Answer from inside a worker: proves the worker runs, reads the same database, and returns."""
    return {"database": connection.vendor, "accounts": Account.objects.count()}
