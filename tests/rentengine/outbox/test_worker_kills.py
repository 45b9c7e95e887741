"""A 200-prospect job while real worker processes are SIGKILLed over and over: nothing is lost and
nothing is posted twice. Pool children die mid-task (the task comes straight back:
`reject_on_worker_lost`), and whole workers die (their task comes back after the visibility timeout,
or beat's outbox tick queues a fresh one)."""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection

from dashboard.celery import app as celery_app
from integrations.rentengine.limiter import get_limiter
from integrations.rentengine.models import OutboxAssignment
from integrations.rentengine.outbox.tasks import PARALLEL, QUEUED_KEY
from tests.rentengine.outbox.conftest import (
    BO_ID,
    committed_posts,
    duplicates,
    job_for,
    maple_prospects,
    sim_assignees,
    states,
    went_through,
)
from tests.support.simulator import SimulatorHandle
from tests.support.worker import beat_start, worker_children, worker_start, worker_stop

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

VISIBILITY_TIMEOUT = 10
State = OutboxAssignment.State


@pytest.fixture
def real_parts() -> None:
    if not settings.REDIS_URL or connection.vendor != "postgresql":
        pytest.skip(
            "worker kills are checked with Redis (visibility timeout) and PostgreSQL (row locks): set REDIS_URL and DATABASE_URL"
        )
    celery_app.control.purge()
    cache.delete_many([f"{QUEUED_KEY}:{slot}" for slot in range(PARALLEL)])
    get_limiter().backend.clear()


def test_sigkilling_workers_during_a_200_prospect_job_loses_nothing_and_posts_nothing_twice(
    real_parts: None, filled: SimulatorHandle, ari: User, tmp_path: Path
) -> None:
    ids = maple_prospects(200, exclude_assigned_to=BO_ID, distinct_phones=False)
    assert len(ids) == 200
    # Every post takes a while at RentEngine (so kills land mid-request, and the request still lands
    # after its client died), and some answers come only after the client gave up.
    # (One fault per request, the first that applies: the 5% go first.)
    filled.add_fault("delay_after_commit", method="POST", path="/leasing_events", seconds=1.5, probability=0.05)
    filled.add_fault("slow", method="POST", path="/leasing_events", seconds=0.1)
    env = {
        "RENTENGINE_BASE_URL": filled.base_url,
        "RENTENGINE_API_TOKEN": filled.token,
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "RENTENGINE_TIMEOUT_SECONDS": "1",
        "RENTENGINE_OUTBOX_SETTLE_SECONDS": "2",
        "RENTENGINE_RATE_LIMIT": "500",  # pacing is the benchmark's business; this is about kills
    }
    log = tmp_path / "workers.log"
    # Beat runs apart from the workers, as in production: its outbox tick is the safety net for a
    # drain message that died with its worker (or that the broker lost).
    beat = beat_start(tmp_path, log_path=tmp_path / "beat.log", RENTENGINE_OUTBOX_TICK_SECONDS="2",
                      RENTENGINE_SYNC_TICK_SECONDS="100000", **env)  # fmt: skip
    workers = [worker_start(concurrency=2, pool="prefork", log_path=log, **env)]
    try:
        job = job_for(ari, ids, [BO_ID])
        rng = random.Random(7)
        kills = 0
        while kills < 12 and OutboxAssignment.objects.filter(job_id=job.pk, state=State.QUEUED).exists():
            time.sleep(rng.uniform(0.5, 1.2))
            if kills % 4 == 3:  # the whole worker (its task waits out the visibility timeout)
                worker_stop(workers[-1], kill=True)
                workers.append(worker_start(concurrency=2, pool="prefork", log_path=log, **env))
            else:  # one pool process, mid-task or idle
                children = worker_children(workers[-1])
                if children:
                    os.kill(rng.choice(children), signal.SIGKILL)
            kills += 1
        last_kill = time.monotonic()
        assert kills >= 8, f"the job finished after only {kills} kills: make the posts slower"

        deadline = last_kill + VISIBILITY_TIMEOUT + 30
        while OutboxAssignment.objects.filter(job_id=job.pk, state__in=[State.QUEUED, State.SENDING]).exists():
            assert time.monotonic() < deadline, (
                f"rows still waiting {VISIBILITY_TIMEOUT + 30} s after the last kill: {states(job)}"
            )
            time.sleep(0.5)
        settled_after = time.monotonic() - last_kill
        # Unknown rows (a kill mid-request) are settled by the reconciler from RentEngine's events.
        while OutboxAssignment.objects.filter(job_id=job.pk, state=State.UNKNOWN, needs_decision=False).exists():
            assert time.monotonic() < deadline + 30, f"unknown rows not reconciled: {states(job)}"
            time.sleep(0.5)
    finally:
        for process in [beat, *workers]:
            worker_stop(process)
    assert duplicates(filled) == {}, "a prospect was assigned twice"
    assert states(job) == {"done": 200}
    assert len({p["body"]["events"][0]["prospect_id"] for p in committed_posts(filled)}) == 200
    remote = sim_assignees(filled)
    assert all(remote[p] == {BO_ID} for p in ids)
    swept = len(went_through(job, "unknown"))
    print(f"{kills} kills; every row terminal or unknown {settled_after:.1f} s after the last; {swept} went through unknown; "
          f"{len(filled.posts())} posts for 200 prospects")  # fmt: skip
