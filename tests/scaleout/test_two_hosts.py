"""Scale-out without Docker: two worker groups as if on two hosts (their own processes and var dirs, one
PostgreSQL, one Redis), two web processes, and a beat on each host.

One budget for all: RentEngine (the simulator at its real 30 requests per 5 s) never answers 429 while
both groups sync and post a bulk job; the job, split across both groups, posts each prospect exactly
once, even when one host dies mid-job; and only one beat sends the schedule."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection

from dashboard.celery import app as celery_app
from integrations.rentengine import sync
from integrations.rentengine.limiter import get_limiter
from integrations.rentengine.models import OutboxAssignment
from integrations.rentengine.outbox.tasks import PARALLEL, QUEUED_KEY
from tests.rentengine.outbox.conftest import BO_ID, committed_posts, duplicates, job_for, maple_prospects, mirror_fill, states
from tests.support.simulator import SimulatorHandle, running_simulator
from tests.support.uvicorn import running_uvicorn
from tests.support.worker import beat_start, worker_start, worker_stop

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
State = OutboxAssignment.State


@pytest.fixture
def limited_sim(maple: Any, birch: Any, mia: User, ari: User, bo: User, cy: User) -> Any:
    if not settings.REDIS_URL or connection.vendor != "postgresql":
        pytest.skip("two hosts share PostgreSQL and Redis: set DATABASE_URL and REDIS_URL")
    celery_app.control.purge()
    cache.delete_many([f"{QUEUED_KEY}:{slot}" for slot in range(PARALLEL)])
    get_limiter().backend.clear()
    import redis

    redis.Redis.from_url(settings.REDIS_URL).delete("leasing-desk:beat")
    with running_simulator(size="small", seed=11, rate_limit="30/5s") as sim:
        sim.set_rate_limit("off")
        mirror_fill(sim)
        sim.set_rate_limit("30/5s")
        sim.clear_requests()
        yield sim


def host(tmp_path: Path, name: str, sim: SimulatorHandle) -> dict[str, str]:
    var = tmp_path / name
    var.mkdir()
    return {
        "LEASING_VAR_DIR": str(var),
        "RENTENGINE_BASE_URL": sim.base_url,
        "RENTENGINE_API_TOKEN": sim.token,
        "CELERY_VISIBILITY_TIMEOUT": "10",
        "RENTENGINE_OUTBOX_TICK_SECONDS": "2",
        "RENTENGINE_SYNC_TICK_SECONDS": "2",
        "RENTENGINE_OUTBOX_SETTLE_SECONDS": "2",
        "BEAT_LOCK_SECONDS": "4",
    }


def beat_sends(log: Path) -> int:
    return log.read_text(errors="replace").count("Sending due task") if log.exists() else 0


def test_two_hosts_share_one_budget_post_each_prospect_once_and_survive_losing_one(
    limited_sim: SimulatorHandle, ari: User, tmp_path: Path
) -> None:
    sim = limited_sim
    hosts = {name: host(tmp_path, name, sim) for name in ("a", "b")}
    beat_logs = {name: tmp_path / f"beat-{name}.log" for name in hosts}
    processes: dict[str, list[Any]] = {name: [] for name in hosts}
    with running_uvicorn(**hosts["a"]) as web_a, running_uvicorn(**hosts["b"]) as web_b:
        try:
            for name, env in hosts.items():
                processes[name].append(
                    worker_start(concurrency=2, pool="prefork", log_path=tmp_path / f"worker-{name}.log", **env)
                )
                processes[name].append(beat_start(Path(env["LEASING_VAR_DIR"]), log_path=beat_logs[name], **env))
            # Both hosts pull (a full sync of every resource, steps spread over both groups) and post.
            for name in sync.resource_specs():
                sync.sync_start_now(name, full=True)
            ids = maple_prospects(60, exclude_assigned_to=BO_ID, distinct_phones=False)
            job = job_for(ari, ids, [BO_ID])
            deadline = time.monotonic() + 120
            while len(committed_posts(sim)) < 15:
                assert time.monotonic() < deadline, f"the job did not start: {states(job)}"
                time.sleep(0.3)
            before_kill = {name: beat_sends(path) for name, path in beat_logs.items()}
            # Host a dies mid-job: its workers and its beat, all at once.
            for process in processes["a"]:
                os.killpg(process.pid, signal.SIGKILL)
            deadline = time.monotonic() + 180
            while OutboxAssignment.objects.filter(job_id=job.pk, state__in=[State.QUEUED, State.SENDING]).exists() or (
                OutboxAssignment.objects.filter(job_id=job.pk, state=State.UNKNOWN, needs_decision=False).exists()
            ):
                assert time.monotonic() < deadline, f"host b did not finish the job: {states(job)}"
                time.sleep(0.5)
            # Both web processes serve the same state.
            for web in (web_a, web_b):
                assert httpx.get(f"{web.url}/healthz", timeout=10).status_code == 200
        finally:
            for group in processes.values():
                for process in group:
                    worker_stop(process, kill=True)

    log = sim.requests()
    assert not [r for r in log if r["status"] == 429], "RentEngine answered 429: the two hosts overran the budget"
    assert sim.max_requests_in_window(5.0) <= 30
    assert duplicates(sim) == {}, "a prospect was posted twice"
    assert states(job) == {"done": 60}
    assert len({p["body"]["events"][0]["prospect_id"] for p in committed_posts(sim)}) == 60
    assert max(before_kill.values()) > 0
    assert min(before_kill.values()) == 0, f"both beats sent the schedule: {before_kill}"
    assert beat_sends(beat_logs["b"]) > before_kill["b"], "host b's beat did not carry on alone"
    for name in hosts:  # the work was spread over both hosts' workers
        assert "Task rentengine." in (tmp_path / f"worker-{name}.log").read_text(errors="replace")
