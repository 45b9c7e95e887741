"""RentEngine (or something in front of it) answers a sync with an HTML error page, truncated JSON,
garbage bytes, or resets the connection: the client retries, the pass fails with a reason an operator
can act on, /sync/ shows it on that resource's row, the other resources are untouched, and once the
answers are good again the next pass brings the mirror back to RentEngine's exact state.

The fault lasts exactly as many requests as the client makes for one page (so the pass fails), and
hits the third page of prospects (so two pages were already applied when it failed). A binary body
on an error status (a NUL byte in the quoted error) is recorded too, in a sync and in a bulk job's post:
errors quote only printable text.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.utils import timezone

from integrations.rentengine.models import Account, OutboxAssignment, Prospect, SyncRun, SyncState
from integrations.rentengine.outbox import tasks as outbox_tasks
from integrations.rentengine.sync import resource_specs, resources_due
from tests.faults.conftest import ATTEMPTS, sync_pass
from tests.rentengine.outbox.conftest import BO_ID, drain, job_for, maple_prospects, mirror_fill
from tests.support.mirror import mirror_differences
from tests.support.pages import page_text
from tests.support.simulator import SimulatorHandle

pytestmark = pytest.mark.django_db(transaction=True)


# kind -> (fault spec, what the operator reads on /sync/)
ANSWERS: dict[str, tuple[dict[str, Any], str]] = {
    "html": ({"kind": "html", "status": 502}, "server error on GET /prospects (HTTP 502): <!DOCTYPE html>"),
    "truncated_json": ({"kind": "truncate", "mode": "json"}, "answered HTTP 200 with a body that is not JSON"),
    "garbage": ({"kind": "garbage", "size": 512}, "answered HTTP 200 with a body that is not JSON"),
    "reset": ({"kind": "reset"}, "Connection reset by peer"),
    "garbage_502": ({"kind": "garbage", "status": 502, "size": 512}, "server error on GET /prospects (HTTP 502)"),
}


ON_POSTGRES = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL is what refuses NUL in text")


@pytest.mark.parametrize(
    "answer",
    [
        "html",
        "truncated_json",
        "garbage",
        "reset",
        # A 502 whose body is binary (a gzip header: NUL at byte 3).
        pytest.param("garbage_502", marks=[ON_POSTGRES]),
    ],
)
def test_a_bad_answer_fails_the_pass_visibly_and_the_next_pass_recovers(
    answer: str, sim: SimulatorHandle, manager: Client
) -> None:
    spec, reads = ANSWERS[answer]
    sim.add_fault(path="/prospects", method="GET", skip=2, count=ATTEMPTS, **spec)

    first = sync_pass(list(resource_specs()))

    assert first.pop("prospects") == "failed"
    assert set(first.values()) == {"done"}, f"one resource's bad answers stop no other: {first}"
    assert sim.faults() == [], "the fault is spent: RentEngine answers well again"
    faulted = [r for r in sim.requests(path="/prospects") if r["fault"]]
    assert len(faulted) == ATTEMPTS, "each attempt met the fault: the client retried the page"
    state = SyncState.objects.get(resource="prospects")
    assert reads in state.last_error
    assert Prospect.objects.alive().count() == 200, "the two pages before the fault were applied"
    row = page_text(manager, "/sync/", fragment_id="sync-prospects")
    assert "failed" in row
    assert reads in row, f"/sync/ says what went wrong: {row}"
    assert "ok" in page_text(manager, "/sync/", fragment_id="sync-units")

    # Retried: the next scheduled pass (prospects are due a minute after the failed one started).
    due = [name for name, _ in resources_due(timezone.now() + timedelta(seconds=61))]
    assert "prospects" in due
    second = sync_pass(due)

    assert set(second.values()) == {"done"}, second
    assert mirror_differences(sim) == {}
    assert sim.posts() == [], "a sync never posts"
    row = page_text(manager, "/sync/", fragment_id="sync-prospects")
    assert "ok" in row
    assert "failed" not in row
    history = page_text(manager, "/sync/")
    assert reads[:60] in history.partition("Recent runs")[2], "the failed pass stays in the history, with its reason"
    assert SyncRun.objects.filter(resource="prospects", outcome="failed").count() == 1


@ON_POSTGRES
def test_a_binary_502_to_a_post_is_recorded_on_the_row(
    sim: SimulatorHandle, maple: Account, birch: Account, mia: User, ari: User, bo: User, manager: Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(outbox_tasks, "drain_soon", lambda **_: True)  # this test drains, in this process
    mirror_fill(sim)
    job = job_for(ari, maple_prospects(1, exclude_assigned_to=BO_ID), [BO_ID])
    sim.add_fault("garbage", method="POST", status=502, count=1)  # acted on, then a binary 502
    drain(sim, budget=2)
    row = OutboxAssignment.objects.get(job_id=job.pk)
    assert row.state == "unknown"
    assert "HTTP 502" in row.reason
    assert "HTTP 502" in page_text(manager, f"/assignments/{job.pk}/")
