"""Redis (the broker, the cache and the shared rate limiter) crashes in the middle of a bulk job and
comes back empty: queued task messages, drain flags and the limiter's state are gone. Nothing is
lost (every prospect assigned), nothing is posted twice (one "Assign to User" POST per prospect),
the mirror equals RentEngine, and the job page said rows were waiting, then that every one was assigned.

The Redis here is a private redis-server (never the machine's shared one): the worker and beat use it
for everything; this process keeps the shared test Redis, and publishes the job's first drain to the
private one, as the web process would.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from dashboard.celery import app as celery_app
from integrations.rentengine.models import Account, OutboxAssignment
from integrations.rentengine.outbox import tasks as outbox_tasks
from tests.faults.conftest import assign_posts, eventually, worker_env
from tests.rentengine.outbox.conftest import BO_ID, job_for, maple_prospects, mirror_fill, sim_assignees, states
from tests.support.mirror import mirror_differences
from tests.support.pages import page_text
from tests.support.redis_server import REDIS_SERVER, running_redis
from tests.support.simulator import SimulatorHandle
from tests.support.worker import beat_start, worker_start, worker_stop

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed"),
]

State = OutboxAssignment.State
PROSPECTS = 80


def test_redis_crashing_mid_job_loses_nothing_and_posts_nothing_twice(
    real_parts: None, sim: SimulatorHandle, maple: Account, birch: Account, mia: User, ari: User, bo: User,
    manager: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    mirror_fill(sim)
    ids = maple_prospects(PROSPECTS, exclude_assigned_to=BO_ID)
    assert len(ids) == PROSPECTS
    sim.add_fault("slow", method="POST", path="/leasing_events", seconds=0.25)  # the job lasts long enough to be hit
    with running_redis(tmp_path / "redis") as redis_server:

        def drain_soon_there(*, slots: Sequence[int] | None = None) -> bool:
            with celery_app.connection_for_write(redis_server.url()) as conn:
                for slot in range(outbox_tasks.PARALLEL) if slots is None else slots:
                    celery_app.send_task("rentengine.outbox_drain", args=(slot,), connection=conn)
            return True

        monkeypatch.setattr(outbox_tasks, "drain_soon", drain_soon_there)
        env = worker_env(sim, REDIS_URL=redis_server.url(), RENTENGINE_OUTBOX_TICK_SECONDS="2",
                         RENTENGINE_SYNC_TICK_SECONDS="100000", RENTENGINE_WEBHOOK_SWEEP_EVERY_SECONDS="100000")  # fmt: skip
        beat = beat_start(tmp_path, log_path=tmp_path / "beat.log", **env)
        log = tmp_path / "worker.log"
        worker = worker_start(concurrency=2, pool="prefork", log_path=log, **env)
        try:
            job = job_for(ari, ids, [BO_ID])
            page = f"/assignments/{job.pk}/"
            eventually(lambda: states(job).get("done", 0) >= PROSPECTS // 4, timeout=60, what="a quarter of the job is done")

            redis_server.crash()
            crashed_with = states(job)
            # Down until the worker has noticed (its broker connection lost), and the rows wait.
            eventually(lambda: "Connection to broker lost" in log.read_text(), timeout=30, what="the worker notices")
            while_down = page_text(manager, page)
            redis_server.start()
            restarted = time.monotonic()

            def finished() -> bool:
                """every row terminal, none unknown left to reconcile"""
                return not OutboxAssignment.objects.filter(job_id=job.pk, state__in=list(OutboxAssignment.PENDING)).exists()

            eventually(finished, timeout=90, interval=0.5, what=lambda: f"the job finishes: {states(job)}")
            recovered = time.monotonic() - restarted
        finally:
            worker_stop(beat)
            worker_stop(worker)
    assert states(job) == {"done": PROSPECTS}
    posts = assign_posts(sim)
    assert {p: n for p, n in posts.items() if n != 1} == {}, "a prospect was posted more than once"
    assert set(posts) == set(ids), "every prospect was posted"
    assert all(p["status"] == 201 for p in sim.posts()), "every post was answered"
    remote = sim_assignees(sim)
    assert all(remote[p] == {BO_ID} for p in ids)
    assert mirror_differences(sim, "prospects", "leasing_events") == {}
    assert re.search(r"\d+ waiting to be sent", while_down), while_down
    done = page_text(manager, page)
    assert f"{PROSPECTS} of {PROSPECTS}" in done
    assert re.search(rf"\b{PROSPECTS} assigned\b", done), done
    assert "Needs attention" not in done
    assert "failed" not in done
    print(f"Redis crashed at {crashed_with}; the job finished {recovered:.1f} s after it came back")


def test_while_redis_is_down_the_job_page_and_sync_page_still_say_what_is_wrong(
    real_parts: None, sim: SimulatorHandle, maple: Account, birch: Account, mia: User, ari: User, bo: User,
    manager: Client, tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    mirror_fill(sim)
    with running_redis(tmp_path / "redis") as redis_server:
        # The web process's Redis (cache, limiter) is this one, as in production.
        settings.REDIS_URL = redis_server.url()
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_server.url()}}
        monkeypatch.setattr(outbox_tasks, "drain_soon", lambda **_: True)  # no worker here: the rows just wait
        job = job_for(ari, maple_prospects(5, exclude_assigned_to=BO_ID), [BO_ID])
        page = f"/assignments/{job.pk}/"
        assert "5 waiting to be sent" in page_text(manager, page)
        redis_server.crash()
        assert "5 waiting to be sent" in page_text(manager, page)
        assert "The rate limiter can't be read" in page_text(manager, "/sync/")
