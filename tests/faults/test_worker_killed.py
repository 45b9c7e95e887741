"""Workers SIGKILLed over and over while a full sync and a bulk job run side by side: pool processes
die in the middle of a sync step or of a drain (each kill aimed at one or the other, taken from the
worker's list of active tasks), and now and then a whole worker dies and a new one starts. Nothing is
lost, nothing is posted twice, the mirror ends equal to RentEngine, and /sync/ and the job page say
every resource synced and every prospect was assigned.

(tests/rentengine/outbox/test_worker_kills.py kills workers during a bigger job alone; here the kills
are aimed, and the sync shares the workers.)
"""

from __future__ import annotations

import collections
import os
import random
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from dashboard.celery import app as celery_app
from integrations.rentengine.models import Account, OutboxAssignment
from integrations.rentengine.sync import resource_specs
from tests.faults.conftest import (
    VISIBILITY_TIMEOUT,
    assign_posts,
    eventually,
    no_sync_running,
    sync_rows,
    synced_since,
    worker_env,
)
from tests.rentengine.outbox.conftest import BO_ID, job_for, maple_prospects, mirror_fill, sim_assignees, states
from tests.support.mirror import mirror_differences
from tests.support.pages import page_text
from tests.support.simulator import SimulatorHandle
from tests.support.worker import beat_start, worker_start, worker_stop

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PROSPECTS = 100
AIMED = ("rentengine.outbox_drain", "rentengine.sync_step")  # drains first: the job ends, the syncs go on
KILLS_EACH = 3  # pool processes killed mid-task, per kind of task
WHOLE_WORKER_EVERY = 3  # every 3rd kill takes the whole worker (its tasks wait out the visibility timeout)
QUICK = ",".join(f"{name}={3600 if name == 'availability' else 3}" for name in resource_specs())


def active_tasks() -> list[dict[str, Any]]:
    replies = celery_app.control.inspect(timeout=1.0, limit=1).active() or {}  # one worker lives at a time
    return [task for tasks in replies.values() for task in tasks]


def test_sigkill_loops_during_a_full_sync_and_a_bulk_job(
    real_parts: None, sim: SimulatorHandle, maple: Account, birch: Account, mia: User, ari: User, bo: User,
    manager: Client, tmp_path: Path,
) -> None:  # fmt: skip
    mirror_fill(sim)  # prospects and their events, so that a job can be made; every other resource is empty
    ids = maple_prospects(PROSPECTS, exclude_assigned_to=BO_ID)
    assert len(ids) == PROSPECTS
    # Posts and pages take a moment, so that kills land mid-request (and a killed post still lands).
    faults = [sim.add_fault("slow", method="POST", path="/leasing_events", seconds=0.3),
              sim.add_fault("slow", method="GET", seconds=0.15)]  # fmt: skip
    env = worker_env(sim, RENTENGINE_OUTBOX_TICK_SECONDS="2", RENTENGINE_SYNC_TICK_SECONDS="1", RENTENGINE_SYNC_INTERVALS=QUICK,
                     RENTENGINE_WEBHOOK_SWEEP_EVERY_SECONDS="100000")  # fmt: skip
    log = tmp_path / "workers.log"
    beat = beat_start(tmp_path, log_path=tmp_path / "beat.log", **env)
    workers: list[subprocess.Popen[bytes]] = [worker_start(concurrency=2, pool="prefork", log_path=log, **env)]
    rng = random.Random(14)
    killed: collections.Counter[str] = collections.Counter()
    try:
        job = job_for(ari, ids, [BO_ID])

        def job_finished() -> bool:
            """every row of the job terminal: none queued, sending or unknown"""
            return not OutboxAssignment.objects.filter(job_id=job.pk, state__in=list(OutboxAssignment.PENDING)).exists()

        deadline = time.monotonic() + 90
        while min(killed[name] for name in AIMED) < KILLS_EACH:
            assert time.monotonic() < deadline, f"only {dict(killed)} kills in 90 s"
            assert not job_finished(), f"the job ended after only {dict(killed)} kills: make the posts slower"
            time.sleep(rng.uniform(0.3, 0.8))
            if sum(killed.values()) % WHOLE_WORKER_EVERY == WHOLE_WORKER_EVERY - 1 and not killed["whole worker"] > 1:
                worker_stop(workers[-1], kill=True)
                killed["whole worker"] += 1
                workers.append(worker_start(concurrency=2, pool="prefork", log_path=log, **env))
                continue
            wanted = min(AIMED, key=lambda name: killed[name])
            victims = [t for t in active_tasks() if t["name"] == wanted and t.get("worker_pid")]
            if victims:
                try:
                    os.kill(rng.choice(victims)["worker_pid"], signal.SIGKILL)
                except ProcessLookupError:  # it ended meanwhile
                    continue
                killed[wanted] += 1
        for fault in faults:
            sim.remove_fault(fault["id"])
        kills_over = timezone.now()
        last_kill = time.monotonic()

        budget = VISIBILITY_TIMEOUT + 60
        eventually(job_finished, timeout=budget, interval=0.5, what=lambda: f"the job finishes: {states(job)}")
        eventually(lambda: synced_since(kills_over), timeout=budget, interval=0.5,
                   what=lambda: f"every resource synced again: {sync_rows(manager)}")  # fmt: skip
        worker_stop(beat)  # no new pass: the ones running end, and /sync/ shows each resource's last pass
        eventually(no_sync_running, timeout=60, interval=0.5, what=lambda: f"the last passes end: {sync_rows(manager)}")
        eventually(
            lambda: not mirror_differences(sim),
            timeout=30,
            what=lambda: f"the mirror equals RentEngine: {mirror_differences(sim)}",
        )
        recovered = time.monotonic() - last_kill
    finally:
        for process in [beat, *workers]:
            worker_stop(process)
    # Nothing lost, nothing twice.
    assert states(job) == {"done": PROSPECTS}
    posts = assign_posts(sim)
    assert {p: n for p, n in posts.items() if n != 1} == {}, "a prospect was posted more than once"
    assert set(posts) == set(ids)
    remote = sim_assignees(sim)
    assert all(remote[p] == {BO_ID} for p in ids)
    assert mirror_differences(sim) == {}
    # What operators read.
    rows = sync_rows(manager)
    assert {name: text for name, text in rows.items() if "ok" not in text or re.search(r"failed|stalled", text)} == {}
    done = page_text(manager, f"/assignments/{job.pk}/")
    assert f"{PROSPECTS} of {PROSPECTS}" in done
    assert re.search(rf"\b{PROSPECTS} assigned\b", done), done
    assert "Needs attention" not in done
    print(f"kills: {dict(killed)}; {len(workers)} workers started; recovered {recovered:.1f} s after the last kill")
