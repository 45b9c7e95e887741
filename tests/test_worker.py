"""A task goes through the real broker to a real worker process and its answer comes back."""

from __future__ import annotations

import pytest

from dashboard.tasks import worker_health
from integrations.rentengine.models import Account
from tests.support.worker import celery_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_task_round_trips_through_a_worker_process_that_reads_the_test_database(maple: Account, birch: Account) -> None:
    with celery_worker():
        result = worker_health.delay().get(timeout=30, interval=0.05)
    assert result["accounts"] == 2
