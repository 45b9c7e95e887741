"""Pull: RentEngine into the mirror, per resource, in incremental and full passes made of short steps.

`resources.py` says what is pulled and how each resource's pages are fetched and applied,
`runner.py` drives a run step by step (resumable, with deletion detection on full passes), and
`tasks.py` holds the Celery tasks beat and the "sync now" button start.
"""

from integrations.rentengine.sync.resources import Resource, resource_specs
from integrations.rentengine.sync.runner import (
    FAILING_AFTER,
    SyncBusy,
    first_sync_progress,
    first_sync_refresh,
    lane_for,
    quarantine_retry_now,
    resources_due,
    run_fail,
    run_start,
    run_step,
    runs_prune,
    sync_health,
)
from integrations.rentengine.sync.tasks import sync_start, sync_start_now

__all__ = [
    "FAILING_AFTER",
    "Resource",
    "SyncBusy",
    "first_sync_progress",
    "first_sync_refresh",
    "lane_for",
    "quarantine_retry_now",
    "resource_specs",
    "resources_due",
    "run_fail",
    "run_start",
    "run_step",
    "runs_prune",
    "sync_health",
    "sync_start",
    "sync_start_now",
]
