"""The sync as it really runs: chains of short Celery steps in worker processes, sharing one limiter."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from integrations.rentengine.limiter import get_limiter
from integrations.rentengine.models import LeasingEvent, LockboxEvent, Prospect, SyncState, Unit
from integrations.rentengine.sync import runner as sync
from integrations.rentengine.sync import tasks as tasks
from tests.support.simulator import SimulatorHandle, running_simulator
from tests.support.worker import celery_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sim() -> Iterator[SimulatorHandle]:
    with running_simulator(size="small", seed=5) as running:
        yield running


def wait_for_runs(names: list[str], timeout: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = {s.resource: s for s in SyncState.objects.filter(resource__in=names)}
        if len(states) == len(names) and all(s.run_id is None and s.last_outcome for s in states.values()):
            return {name: s.last_outcome for name, s in states.items()}
        time.sleep(0.5)
    raise AssertionError(
        f"syncs still running after {timeout} s: {list(SyncState.objects.values('resource', 'run_id', 'progress'))}"
    )


def test_two_workers_syncing_at_once_stay_under_the_limit_and_get_no_429(
    sim: SimulatorHandle, settings_env: dict[str, str]
) -> None:
    names = list(sync.resource_specs())
    with (
        celery_worker(concurrency=2, pool="prefork", **settings_env),
        celery_worker(concurrency=2, pool="prefork", **settings_env),
    ):
        for name in names:
            assert tasks.sync_start_now(name, full=True)
        outcomes = wait_for_runs(names, timeout=240)
    assert set(outcomes.values()) == {"ok"}, outcomes
    assert sim.max_requests_in_window(5.0) <= 30
    assert [r for r in sim.requests() if r["status"] == 429] == []
    counts = sim.health()["counts"]
    assert Unit.objects.alive().count() == counts["units"]
    assert Prospect.objects.alive().count() == counts["prospects"]
    assert LockboxEvent.objects.alive().count() == counts["lockbox_events"]
    assert LeasingEvent.objects.count() == counts["leasing_events"]


@pytest.fixture
def settings_env(sim: SimulatorHandle) -> dict[str, str]:
    """The worker processes talk to the test simulator; the test process shares their limiter."""
    if not settings.REDIS_URL:
        pytest.skip("cross-process rate limiting is checked with the Redis limiter (set REDIS_URL)")
    get_limiter().backend.clear()
    env: dict[str, Any] = {"RENTENGINE_BASE_URL": sim.base_url, "RENTENGINE_API_TOKEN": sim.token}
    return env
