"""Operators read JSON log lines that say which request, task, resource or job each line belongs to."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from integrations.rentengine import sync
from integrations.rentengine.limiter import get_limiter
from integrations.rentengine.models import SyncState
from tests.support.simulator import running_simulator
from tests.support.worker import worker_start, worker_stop


def test_every_response_carries_a_request_id_and_a_proxys_own_is_kept(client: Client, db: None) -> None:
    made = client.get("/healthz")["X-Request-ID"]
    assert len(made) == 32
    assert client.get("/healthz", headers={"X-Request-ID": "proxy-id-12345"})["X-Request-ID"] == "proxy-id-12345"
    assert client.get("/healthz", headers={"X-Request-ID": "bad id\nwith junk"})["X-Request-ID"] != "bad id\nwith junk"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_every_worker_log_line_is_json_and_a_sync_steps_lines_name_its_task_and_resource(tmp_path: Path, maple: Any) -> None:
    log = tmp_path / "worker.log"
    get_limiter().backend.clear()
    with running_simulator(size="small", seed=2) as sim:
        env = {"LOG_FORMAT": "json", "LOG_LEVEL": "INFO", "RENTENGINE_BASE_URL": sim.base_url, "RENTENGINE_API_TOKEN": sim.token}
        worker = worker_start(log_path=log, **env)
        try:
            assert sync.sync_start_now("units", full=True)
            deadline = time.monotonic() + 120
            while not SyncState.objects.filter(resource="units", run_id__isnull=True).exclude(last_outcome="").exists():
                assert time.monotonic() < deadline, "the units sync did not finish"
                time.sleep(0.3)
        finally:
            worker_stop(worker)
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    first = next(n for n, line in enumerate(lines) if line.startswith("{"))  # after Celery's start-up banner
    printed = [line for line in lines[first:] if not line.startswith("{")]
    assert all(line.startswith("worker: ") for line in printed), printed  # Celery's own shutdown notice only
    records = [json.loads(line) for line in lines[first:] if line.startswith("{")]
    steps = [r for r in records if r.get("task") == "rentengine.sync_step"]
    assert steps, "no line of the sync step's task"
    assert {r["resource"] for r in steps} == {"units"}
    assert all(r["task_id"] for r in steps)
