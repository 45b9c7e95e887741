"""PostgreSQL ends a real worker's connections (`pg_terminate_backend`: an administrator, a failover,
a pooler restarting) again and again while it syncs, and while it applies webhook deliveries:
nothing is lost, the mirror ends equal to RentEngine, and /sync/ says what happened.

Only the worker's connections are ended (it runs with PGAPPNAME=faults-worker); beat, the receiver
and this test keep theirs.

Mid sync, a connection is ended while the worker waits for one of RentEngine's pages: the page's
write then fails inside the pass, which fails with the reason. (Ended at any moment, a step can also
lose its connection before or after its page loop; that strands the run for its lease:
`test_a_step_that_cannot_record_its_failure_does_not_strand_the_resource` shows it.)
"""

from __future__ import annotations

import collections
import re
import time
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from integrations.rentengine.models import SyncRun, SyncState, WebhookDelivery
from integrations.rentengine.sync import resource_specs
from tests.faults.conftest import (
    PGAPPNAME,
    eventually,
    no_sync_running,
    sync_pass,
    sync_rows,
    synced_since,
    worker_env,
)
from tests.support.mirror import mirror_differences
from tests.support.pages import page_text
from tests.support.postgres import backends_terminate, refusing_connections, terminating
from tests.support.simulator import TEST_WEBHOOK_KEY, SimulatorHandle
from tests.support.uvicorn import running_uvicorn
from tests.support.worker import beat_start, worker_start, worker_stop

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Every resource is due again a few seconds after its last pass began (a failed one included), so
# recovery is a matter of seconds; availability asks once per unit, so it keeps its hour.
QUICK = ",".join(f"{name}={3600 if name == 'availability' else 3}" for name in resource_specs())
CONNECTION_GONE = ("terminating connection", "server closed the connection", "connection is closed")
ENDINGS = 6
STEP_OVER = re.compile(r"Task rentengine\.sync_step\[[^]]+\] (succeeded|raised|retry)")


def sync_env(sim: SimulatorHandle, **extra: str) -> dict[str, str]:
    return worker_env(sim, RENTENGINE_SYNC_TICK_SECONDS="1", RENTENGINE_SYNC_INTERVALS=QUICK,
                      RENTENGINE_OUTBOX_TICK_SECONDS="100000", RENTENGINE_WEBHOOK_SWEEP_EVERY_SECONDS="100000", **extra)  # fmt: skip


def in_flight_get(sim: SimulatorHandle, since: int, *, young: float = 0.15, path: str | None = None) -> dict[str, Any] | None:
    """A GET (of `path`) RentEngine is still answering, that arrived less than `young` s ago."""
    for request in reversed(sim.requests(since=since, method="GET", path=path)):
        if request["duration_ms"] is None and time.time() - request["at"] < young:
            return request
    return None


def test_connections_ended_mid_sync_fail_the_pass_visibly_and_the_next_pass_recovers(
    real_parts: None, sim: SimulatorHandle, manager: Client, tmp_path: Path
) -> None:
    slow = sim.add_fault("slow", method="GET", seconds=0.4)  # every page takes a moment: a window to aim at
    env = sync_env(sim)
    beat = beat_start(tmp_path, log_path=tmp_path / "beat.log", **env)
    worker = worker_start(log_path=tmp_path / "worker.log", **env)  # one process: the GET in flight is its own
    try:
        ended, seen, said = 0, 0, []
        deadline = time.monotonic() + 120
        while ended < ENDINGS:
            assert time.monotonic() < deadline, f"only {ended} connections ended mid-page in 120 s"
            request = in_flight_get(sim, seen)
            if request is None:
                time.sleep(0.03)
                continue
            seen = request["seq"]
            failed_before = SyncRun.objects.filter(outcome="failed").count()
            if not backends_terminate(PGAPPNAME):
                continue
            ended += 1
            # The page's write fails when RentEngine's answer arrives: the pass fails, and says why.
            run = eventually(
                lambda before=failed_before: SyncRun.objects.filter(outcome="failed").order_by("id")[before:].first(),
                timeout=30, interval=0.1, what="the pass whose connection was ended fails",
            )  # fmt: skip
            said.append((run.resource, run.error, page_text(manager, "/sync/")))  # what an operator sees then
        sim.remove_fault(slow["id"])
        faults_over = timezone.now()
        eventually(
            lambda: synced_since(faults_over),
            timeout=60,
            interval=0.5,
            what=lambda: f"every resource synced: {sync_rows(manager)}",
        )
        worker_stop(beat)  # no new pass: the ones running end, and /sync/ shows each resource's last pass
        eventually(no_sync_running, timeout=60, interval=0.5, what=lambda: f"the last passes end: {sync_rows(manager)}")
        eventually(lambda: not mirror_differences(sim), timeout=30, what="the mirror equals RentEngine")
    finally:
        worker_stop(beat)
        worker_stop(worker)
    failures = list(SyncRun.objects.filter(outcome="failed").values_list("resource", "error"))
    assert len(failures) >= ENDINGS, "each ended connection failed a pass"
    for resource, error in failures:
        assert any(sign in error for sign in CONNECTION_GONE), f"{resource} failed for another reason: {error}"
    for resource, error, page in said:
        assert " ".join(error.split())[:60] in page, f"/sync/ did not say why {resource} failed: {page}"
    rows = sync_rows(manager)
    assert {name: text for name, text in rows.items() if "ok" not in text or "failed" in text} == {}, "every resource is ok again"
    assert mirror_differences(sim) == {}
    assert sim.posts() == []
    print(f"{ended} connections ended mid-page; {len(failures)} passes failed: {sorted({r for r, _ in failures})}")


class Stranded(AssertionError):
    """No pass of the resource finished after the database came back."""


def test_a_step_that_cannot_record_its_failure_does_not_strand_the_resource(
    real_parts: None, sim: SimulatorHandle, manager: Client, tmp_path: Path
) -> None:
    """PostgreSQL restarts while a step waits for RentEngine: its connection is ended and for a
    moment no new one is accepted, so the step can neither write its page nor record its failure.
    Once PostgreSQL is back, the resource should have a pass finished within seconds (the next
    tick), and /sync/ should never show it as running with nobody working on it."""
    sim.add_fault("slow", method="GET", path="/units", seconds=2, count=1)
    env = sync_env(sim)
    log = tmp_path / "worker.log"
    beat = beat_start(tmp_path, log_path=tmp_path / "beat.log", **env)
    worker = worker_start(log_path=log, **env)
    try:
        # Beat starts the first pass of every resource; the slow page is the first of units.
        eventually(
            lambda: in_flight_get(sim, 0, young=1.5, path="/units"), timeout=60, interval=0.05, what="the slow page of units"
        )
        with refusing_connections():
            assert backends_terminate(PGAPPNAME) >= 1
            # Until the step is over, whatever it made of it (the warning comes before it tries to record).
            eventually(lambda: STEP_OVER.search(log.read_text().partition("sync of units failed")[2]), timeout=30,
                       what="the step finds its connection gone and ends")  # fmt: skip
        back = timezone.now()

        def units_finished() -> bool:
            """a pass of units finished after PostgreSQL came back"""
            state = SyncState.objects.get(resource="units")
            return bool(state.last_finished_at and state.last_finished_at > back)

        try:
            eventually(units_finished, timeout=20, what=lambda: f"units: {sync_rows(manager)['units']}")
        except AssertionError as exc:
            raise Stranded(str(exc)) from None
    finally:
        worker_stop(beat)
        worker_stop(worker)


WEBHOOK_TABLES = ("units", "prospects", "leasing_events", "lockboxes", "lockbox_events")
ATTEMPTS_KEPT = 2000  # the simulator's log of delivery attempts (webhook_sender.attempts_log)


def test_connections_ended_again_and_again_while_deliveries_are_applied(
    real_parts: None, sim: SimulatorHandle, manager: Client, tmp_path: Path
) -> None:
    assert set(sync_pass(full=True).values()) == {"done"}  # the mirror as the sync left it: accounts known
    env = worker_env(sim, RENTENGINE_WEBHOOK_SWEEP_EVERY_SECONDS="2", RENTENGINE_WEBHOOK_SWEEP_AFTER_SECONDS="2",
                     RENTENGINE_SYNC_TICK_SECONDS="100000", RENTENGINE_OUTBOX_TICK_SECONDS="100000")  # fmt: skip
    log = tmp_path / "worker.log"
    with running_uvicorn(log_path=tmp_path / "uvicorn.log", RENTENGINE_WEBHOOK_API_KEY=TEST_WEBHOOK_KEY) as web:
        # QStash-like: some messages delivered twice, some overtaken by later ones.
        sim.configure_webhooks(url=f"{web.url}/webhooks/rentengine/", duplicate_probability=0.1, reorder_probability=0.1,
                               reorder_delay_seconds=0.5, backoff_seconds=0.2)  # fmt: skip
        beat = beat_start(tmp_path, log_path=tmp_path / "beat.log", **env)
        worker = worker_start(concurrency=2, pool="prefork", log_path=log, **env)
        try:
            with terminating(PGAPPNAME, every=(0.1, 0.4)) as killer:
                # Changes keep coming (and being applied) while connections are ended, until an
                # apply has been hit mid-batch at least twice, for 8 s at least.
                began, changes = time.monotonic(), 0
                while time.monotonic() - began < 8 or len(APPLY_HIT.findall(log.read_text())) < 2:
                    assert time.monotonic() - began < 60, "no apply was hit mid-batch in 60 s"
                    changes += len(sim.activity(steps=10))
                    time.sleep(0.2)  # pacing: a change every 20 ms or so, not an assertion
            sim.wait_for_webhooks(timeout=60)
            sent = sim.webhook_stats(recent=ATTEMPTS_KEPT)
            eventually(lambda: not WebhookDelivery.objects.exclude(status="applied").exists(), timeout=90, interval=0.5,
                       what=lambda: f"every delivery applied: {webhook_states()}")  # fmt: skip
            eventually(lambda: not mirror_differences(sim, *WEBHOOK_TABLES), timeout=30,
                       what=lambda: f"the mirror equals RentEngine: {mirror_differences(sim, *WEBHOOK_TABLES)}")  # fmt: skip
        finally:
            sim.configure_webhooks(url=None)
            worker_stop(beat)
            worker_stop(worker)
    stored = list(WebhookDelivery.objects.values_list("message_id", flat=True))
    delivered = {a["message_id"] for a in sent["recent_attempts"] if a["ok"]}
    assert sent["given_up"] == 0
    assert sent["attempts"] <= ATTEMPTS_KEPT, "the simulator's log of attempts holds them all"
    assert len(stored) == len(set(stored)), "a message stored twice"
    assert delivered == set(stored), f"{len(delivered - set(stored))} delivered messages were lost"
    assert mirror_differences(sim, *WEBHOOK_TABLES) == {}
    hooks = page_text(manager, "/sync/", fragment_id="sync-live").partition("Webhooks")[2]
    assert re.search(r"Waiting:? 0\b", hooks), f"/sync/ says nothing waits: {hooks}"
    assert re.search(r"Failed:? 0\b", hooks), f"/sync/ says nothing failed: {hooks}"
    assert re.search(rf"\bapplied:? {len(stored)}\b", hooks), f"/sync/ counts every delivery applied: {hooks}"
    print(f"{changes} changes, {len(stored)} deliveries; {killer.terminated} connections ended in {killer.rounds} rounds; "
          f"applies hit mid-batch: {len(APPLY_HIT.findall(log.read_text()))}")  # fmt: skip


# An apply that lost its connection mid-batch: retried by Celery, or applied one by one first.
APPLY_HIT = re.compile(r"rentengine\.webhooks_apply\[[^]]+\] retry|deliveries together failed; applying them one by one")


def webhook_states() -> dict[str, int]:
    return dict(collections.Counter(WebhookDelivery.objects.values_list("status", flat=True)))
