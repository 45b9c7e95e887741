"""The sync against the simulator over real HTTP: complete, correct, idempotent, frugal with requests,
and honest about what RentEngine does not offer."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from integrations.rentengine.client import RentEngineClient
from integrations.rentengine.limiter import get_limiter
from integrations.rentengine.models import (
    LeasingEvent,
    Lockbox,
    LockboxEvent,
    LockboxInstallation,
    Prospect,
    ProspectAssignee,
    Subteam,
    SyncState,
    Unit,
)
from integrations.rentengine.sync import runner as sync
from tests.support.simulator import SimulatorHandle, running_simulator

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def sim_server() -> Iterator[SimulatorHandle]:
    with running_simulator(size="small", seed=3) as sim:
        yield sim


@pytest.fixture
def sim(sim_server: SimulatorHandle, settings: Any) -> SimulatorHandle:
    sim_server.reset()
    settings.RENTENGINE_BASE_URL = sim_server.base_url
    settings.RENTENGINE_API_TOKEN = sim_server.token
    get_limiter().backend.clear()  # a fresh shared limiter: no cooldown carried over from another test
    return sim_server


def sync_all(*, full: bool = False, names: list[str] | None = None) -> dict[str, str]:
    outcomes = {}
    with RentEngineClient(backoff_base=0.05, backoff_cap=1.0) as client:
        for name in names or list(sync.resource_specs()):
            run = sync.run_start(name, full=full)
            outcome = "more"
            while outcome == "more":
                outcome = sync.run_step(name, run, client=client)
            outcomes[name] = outcome
    return outcomes


def digest(rows: list[tuple[Any, ...]]) -> str:
    return hashlib.sha256(json.dumps(sorted(rows), default=str).encode()).hexdigest()


def mirror_matches(sim: SimulatorHandle) -> None:
    """The mirror holds exactly the simulator's rows, key fields included."""
    state = sim.state()
    expected_units = [(u["id"], u["status"], u["account_id"]) for u in state["units"]]
    assert digest([(u.id, u.status, str(u.account_id)) for u in Unit.objects.alive()]) == digest(expected_units)

    expected_prospects = [(p["id"], p["status"], sorted(p["assigned_user_ids"])) for p in state["prospects"]]
    assignees: dict[int, list[str]] = {}
    for a in ProspectAssignee.objects.all():
        assignees.setdefault(a.prospect_id, []).append(str(a.user_id))
    actual_prospects = [(p.id, p.status, sorted(assignees.get(p.id, []))) for p in Prospect.objects.alive()]
    assert len(actual_prospects) == len(expected_prospects)
    assert digest(actual_prospects) == digest(expected_prospects)

    expected_events = [(e["id"], e["event_type"]) for e in state["leasing_events"] if not e["deleted"]]
    assert digest([(e.id, e.event_type) for e in LeasingEvent.objects.alive()]) == digest(expected_events)
    expected_lockbox_events = [(e["id"], e["event_type"], int(e["unit_id"])) for e in state["lockbox_events"]]
    assert digest([(str(e.id), e.event_type, e.unit_id) for e in LockboxEvent.objects.alive()]) == digest(expected_lockbox_events)
    assert {str(b.id) for b in Lockbox.objects.alive()} == {b["id"] for b in state["lockboxes"]}
    assert {str(i.id) for i in LockboxInstallation.objects.alive()} == {i["id"] for i in state["lockbox_installations"]}
    assert {str(s.id) for s in Subteam.objects.alive()} == {s["id"] for s in state["subteams"]}


def test_a_full_sync_equals_the_simulator_even_with_faults_on(sim: SimulatorHandle) -> None:
    sim.add_fault("rate_limit", path="/prospects", count=3, retry_after=1)  # a short 429 storm
    sim.add_fault("status", status=500, path="/leasing_events", count=2)
    sim.add_fault("slow", path="/units", seconds=0.5, count=1)
    sim.add_fault("drop", path="/lockbox_events", count=1)
    sim.add_fault("truncate", path="/lockboxes", count=1)
    sim.add_fault("html", status=502, path="/prospects", skip=2, count=1)
    outcomes = sync_all()
    assert set(outcomes.values()) == {"done"}, outcomes
    statuses = {r["status"] for r in sim.requests()}
    assert {429, 500, 502, None} <= statuses, "the faults did happen (None: a dropped connection)"
    mirror_matches(sim)


def test_a_second_full_sync_changes_nothing(sim: SimulatorHandle) -> None:
    sync_all()
    sync_all(full=True)
    changed = {s.resource: s.last_rows_changed for s in SyncState.objects.all()}
    assert set(changed.values()) == {0}, {k: v for k, v in changed.items() if v}


def test_an_incremental_sync_with_nothing_changed_costs_at_most_one_request_per_resource(sim: SimulatorHandle) -> None:
    sync_all()
    sim.clear_requests()
    sync_all()
    paths = [r["path"].removeprefix("/api/public/v1") for r in sim.requests()]
    per_path = {p: paths.count(p) for p in set(paths)}
    assert per_path, "the incremental sync asked something"
    assert max(per_path.values()) <= 1, per_path


def test_changes_in_rentengine_reach_the_mirror_on_the_next_incremental_sync(sim: SimulatorHandle) -> None:
    sync_all()
    changes = sim.activity(steps=25)
    assert changes
    sync_all()
    mirror_matches(sim)


def test_a_row_missing_from_two_full_passes_becomes_a_tombstone(sim: SimulatorHandle) -> None:
    sync_all()
    ghost = Unit.objects.first()
    assert ghost is not None
    Unit.objects.filter(pk=ghost.pk).update(id=999_999_999)  # a unit RentEngine does not list
    sync_all(full=True, names=["units"])
    assert Unit.objects.get(id=999_999_999).deleted_at is None, "one miss is not enough"
    sync_all(full=True, names=["units"])
    gone = Unit.objects.get(id=999_999_999)
    assert gone.deleted_at is not None
    assert gone.tombstone_reason == "missing"


def test_an_inferred_endpoint_that_does_not_exist_is_switched_off_and_the_rest_succeeds(
    sim: SimulatorHandle, capsys: Any
) -> None:
    sim.add_fault("status", status=404, path="/lockbox_installations")
    call_command("rentengine_sync", quiet=True)
    state = SyncState.objects.get(resource="lockbox_installations")
    assert state.mode == SyncState.Mode.OFF
    assert "derived from Install and Uninstall events" in state.notice
    assert SyncState.objects.exclude(resource="lockbox_installations").filter(last_outcome="failed").count() == 0
    out = capsys.readouterr().out
    assert "notice: lockbox_installations is off" in out
    # Where each box is still shows, derived from the events.
    installed = Lockbox.objects.alive().exclude(current_unit=None).count()
    expected = sum(1 for i in sim.state("lockbox_installations")["lockbox_installations"] if i["uninstalled_at"] is None)
    assert installed == expected


def test_a_rejected_token_fails_the_command_with_a_reason_a_person_can_act_on(sim: SimulatorHandle, settings: Any) -> None:
    settings.RENTENGINE_API_TOKEN = "not-the-token"
    with pytest.raises(CommandError, match=r"the API token was rejected .*check RENTENGINE_API_TOKEN") as failure:
        call_command("rentengine_sync", quiet=True)
    assert "not-the-token" not in str(failure.value)
    state = SyncState.objects.get(resource="subteams")
    assert state.last_outcome == "failed"
    assert state.last_error_kind == "TokenRejected"
    assert "not-the-token" not in state.last_error


def test_one_run_at_a_time_per_resource(sim: SimulatorHandle) -> None:
    sync.run_start("units")
    with pytest.raises(sync.SyncBusy):
        sync.run_start("units")


def test_a_run_abandoned_by_a_dead_worker_is_taken_over_after_its_lease(sim: SimulatorHandle) -> None:
    from datetime import timedelta

    from django.utils import timezone

    stale = sync.run_start("units")
    SyncState.objects.filter(resource="units").update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    fresh = sync.run_start("units")
    assert fresh != stale
    with RentEngineClient() as client:
        assert sync.run_step("units", stale, client=client) == "stale"
        assert sync.run_step("units", fresh, client=client) == "done"


def test_a_pass_cut_into_one_page_steps_reads_each_page_once(sim: SimulatorHandle) -> None:
    run = sync.run_start("prospects", full=True)
    steps = 0
    with RentEngineClient() as client:
        outcome = "more"
        while outcome == "more":
            outcome = sync.run_step("prospects", run, client=client, budget=0)  # hand back after every page
            steps += 1
    state = SyncState.objects.get(resource="prospects")
    expected = len(sim.state("prospects")["prospects"])
    assert outcome == "done"
    assert state.last_rows_seen == expected
    assert steps >= expected // 100
    assert Prospect.objects.alive().count() == expected
