"""The sync against a RentEngine without some INFERRED features (the simulator's `--without`): the
resource concerned goes off or to its fallback with a notice a person understands, every other
resource succeeds, `rentengine_sync` prints the notice and exits 0, and the mirror stays correct
wherever the fallback can keep it so.

The rate limit is not the subject here: the simulator's is off and the shared limiter is raised, so
a full sync of the small data set takes a second or two rather than ten.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils.dateparse import parse_datetime

from integrations.rentengine import vocabulary
from integrations.rentengine.limiter import get_limiter
from integrations.rentengine.models import (
    Floorplan,
    LeasingEvent,
    Lockbox,
    LockboxInstallation,
    MultifamilyProperty,
    Prospect,
    ProspectAssignee,
    Showing,
    Subteam,
    SyncMiss,
    SyncState,
    Unit,
)
from integrations.rentengine.sync import runner as sync
from tests.support.simulator import SimulatorHandle, running_simulator

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def sim_server() -> Iterator[SimulatorHandle]:
    with running_simulator(size="small", seed=3, rate_limit="off") as sim:
        yield sim


@pytest.fixture
def sim(sim_server: SimulatorHandle, settings: Any) -> Iterator[SimulatorHandle]:
    sim_server.set_without()
    sim_server.reset()
    settings.RENTENGINE_BASE_URL = sim_server.base_url
    settings.RENTENGINE_API_TOKEN = sim_server.token
    settings.RENTENGINE_RATE_LIMIT = 10_000  # a limiter of its own (the limiter is keyed by its settings)
    get_limiter().backend.clear()
    yield sim_server
    sim_server.set_without()


def sync_command(capsys: Any, *args: str) -> str:
    """`manage.py rentengine_sync`; a failure raises CommandError (a non-zero exit). Returns its output."""
    capsys.readouterr()
    call_command("rentengine_sync", *args, quiet=True)
    return capsys.readouterr().out


def state(resource: str) -> SyncState:
    return SyncState.objects.get(resource=resource)


def assert_only(resource: str, mode: str, notice: str, output: str) -> None:
    """`resource` is in `mode` with a notice saying `notice`, printed by the command; every other
    resource is normal and succeeded."""
    concerned = state(resource)
    assert concerned.mode == mode
    assert concerned.last_outcome == SyncState.Outcome.OK
    assert notice in concerned.notice
    assert f"notice: {resource} is {mode}: {concerned.notice}" in output
    others = {s.resource: (s.mode, s.last_outcome, s.last_error) for s in SyncState.objects.exclude(resource=resource)}
    assert set(others) == set(sync.resource_specs()) - {resource}
    assert set(others.values()) == {(SyncState.Mode.NORMAL, SyncState.Outcome.OK, "")}, others


def prospects_match(sim: SimulatorHandle) -> None:
    """Every prospect's status and assignees are the simulator's."""
    expected = {p["id"]: (p["status"], sorted(p["assigned_user_ids"])) for p in sim.state("prospects")["prospects"]}
    assignees: dict[int, list[str]] = {}
    for a in ProspectAssignee.objects.all():
        assignees.setdefault(a.prospect_id, []).append(str(a.user_id))
    actual = {p.id: (p.status, sorted(assignees.get(p.id, []))) for p in Prospect.objects.alive()}
    assert actual == expected


def moment(text: str | None) -> datetime | None:
    return parse_datetime(text) if text else None


# --- endpoints that may not exist -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("feature", "model", "notice"),
    [
        ("subteams", Subteam, "RentEngine has no GET /subteams here (INFERRED endpoint): subteams are not shown."),
        ("multifamily_properties", MultifamilyProperty, "multifamily properties are not shown"),
        ("floorplans", Floorplan, "floorplans are not shown"),
    ],
)
def test_reference_data_rentengine_does_not_offer_is_switched_off_and_the_rest_succeeds(
    sim: SimulatorHandle, capsys: Any, feature: str, model: Any, notice: str
) -> None:
    sim.set_without(feature)
    output = sync_command(capsys)
    assert_only(feature, SyncState.Mode.OFF, notice, output)
    assert not model.objects.exists()
    assert Unit.objects.alive().count() == len(sim.state("units")["units"])


def test_without_lockbox_installations_each_lockbox_is_placed_by_its_install_and_uninstall_events(
    sim: SimulatorHandle, capsys: Any
) -> None:
    sim.set_without("lockbox_installations")
    output = sync_command(capsys)
    assert_only("lockbox_installations", SyncState.Mode.OFF, "derived from Install and Uninstall events", output)
    sim.activity(steps=4, kind="lockbox_move")
    sync_command(capsys)
    assert not LockboxInstallation.objects.exists()
    installations = sim.state("lockbox_installations")["lockbox_installations"]
    expected = {i["lockbox_id"]: int(i["unit_id"]) for i in installations if i["uninstalled_at"] is None}
    placed = {str(b.id): b.current_unit_id for b in Lockbox.objects.alive()}
    assert {box: unit for box, unit in placed.items() if unit is not None} == expected
    assert len(placed) == len(sim.state("lockboxes")["lockboxes"])


def test_an_off_resource_is_left_alone_until_a_full_pass_after_reprobe_after_finds_it_back(
    sim: SimulatorHandle, capsys: Any
) -> None:
    sim.set_without("subteams")
    sync_command(capsys)
    assert state("subteams").mode == SyncState.Mode.OFF
    switched = state("subteams").mode_changed_at
    sim.set_without()  # RentEngine offers it again
    sim.clear_requests()
    output = sync_command(capsys)
    assert not sim.requests(path="/subteams"), "an off resource costs no request before REPROBE_AFTER"
    assert "notice: subteams is off" in output
    assert state("subteams").mode_changed_at == switched, "so its REPROBE_AFTER does not start again"
    assert "subteams" not in dict(sync.resources_due())

    SyncState.objects.filter(resource="subteams").update(mode_changed_at=switched - sync.REPROBE_AFTER)
    assert dict(sync.resources_due())["subteams"] is True, "due, as a full pass"
    output = sync_command(capsys, "--resource", "subteams")
    subteams = state("subteams")
    assert (subteams.mode, subteams.notice, subteams.last_outcome) == (SyncState.Mode.NORMAL, "", SyncState.Outcome.OK)
    assert "notice:" not in output
    assert {str(s.id) for s in Subteam.objects.alive()} == {s["id"] for s in sim.state("subteams")["subteams"]}


# --- parameters that may not exist ----------------------------------------------------------------


def test_without_updated_after_on_units_every_units_pass_lists_them_all_and_misses_no_change(
    sim: SimulatorHandle, capsys: Any
) -> None:
    sim.set_without("units.updated_after")
    sync_command(capsys)  # the first pass of each resource is a full one: no updated_after yet
    assert state("units").mode == SyncState.Mode.NORMAL
    sim.activity(steps=6, kind="unit")
    output = sync_command(capsys)
    assert_only("units", SyncState.Mode.FALLBACK, "every units pass lists all units", output)
    queries = [dict(r["query"]) for r in sim.requests(path="/units")]
    assert "updated_after" in queries[-2], "it asked once"
    assert "updated_after" not in queries[-1], "then listed them all, in the same pass"
    expected = {(u["id"], u["status"], float(u["target_rental_rate"])) for u in sim.state("units")["units"]}
    assert {(u.id, u.status, float(u.rent or 0)) for u in Unit.objects.alive()} == expected


def test_without_updated_after_on_prospects_new_prospects_arrive_by_created_after(sim: SimulatorHandle, capsys: Any) -> None:
    sim.set_without("prospects.updated_after")
    sync_command(capsys)
    output = sync_command(capsys)
    assert_only("prospects", SyncState.Mode.FALLBACK, "incremental passes fetch new prospects by created_after", output)
    enquiries = sim.activity(steps=3, kind="enquiry")
    sim.clear_requests()
    sync_command(capsys)
    asked = [dict(r["query"]) for r in sim.requests(path="/prospects")]
    assert asked
    assert all("created_after" in q and "updated_after" not in q for q in asked)
    new = {change["id"] for change in enquiries}
    assert len(new) == 3
    assert set(Prospect.objects.filter(id__in=new).values_list("id", flat=True)) == new
    assert Prospect.objects.alive().count() == len(sim.state("prospects")["prospects"])
    assert state("prospects").mode == SyncState.Mode.FALLBACK


# --- leasing events one prospect at a time --------------------------------------------------------


def test_without_the_account_wide_listing_events_come_one_prospect_at_a_time_and_agree_with_rentengine(
    sim: SimulatorHandle, capsys: Any
) -> None:
    sim.set_without("leasing_events.account_wide")
    output = sync_command(capsys)
    assert_only("leasing_events", SyncState.Mode.FALLBACK, "fetched one prospect at a time", output)
    prospects = sim.state("prospects")["prospects"]
    asked = [dict(r["query"]) for r in sim.requests(path="/leasing_events")]
    assert sum("prospect_id" in q for q in asked) == len(prospects), "one request per prospect"
    prospects_match(sim)
    expected_events = {e["id"] for e in sim.state("leasing_events")["leasing_events"] if not e["deleted"]}
    assert set(LeasingEvent.objects.alive().values_list("id", flat=True)) == expected_events

    sim.clear_requests()
    sync_command(capsys)
    assert not sim.requests(path="/leasing_events"), "prospects whose events are known are not asked again"

    sim.activity(steps=5, kind="status")  # new events move their prospects' updated_at
    sim.clear_requests()
    sync_command(capsys)
    assert 0 < len(sim.requests(path="/leasing_events")) <= 5
    prospects_match(sim)

    sync_command(capsys, "--full")
    events = state("leasing_events")
    assert (events.mode, events.last_outcome, events.last_error) == (SyncState.Mode.FALLBACK, SyncState.Outcome.OK, "")
    assert not SyncMiss.objects.filter(resource="leasing_events").exists(), (
        "a full pass that fetches only some prospects' events takes none of the others for missing"
    )
    assert set(LeasingEvent.objects.alive().values_list("id", flat=True)) >= expected_events
    prospects_match(sim)


# --- reporting showings ---------------------------------------------------------------------------


def test_without_reporting_showings_the_agenda_still_has_every_showing_from_leasing_events(
    sim: SimulatorHandle, capsys: Any, ari_client: Client
) -> None:
    sim.set_without("reporting.showings")  # a 403: the token may not use reporting
    output = sync_command(capsys)
    assert_only("showings", SyncState.Mode.OFF, "the agenda shows showing-related leasing events only", output)
    page = ari_client.get("/sync/").content.decode()
    assert "not available to this token" in page
    assert "rejected the API token" not in page, "a 403 on reporting is no token problem: no banner"
    sim.activity(steps=3, kind="showing")
    sync_command(capsys)
    assert not Showing.objects.exists()
    by_events = {
        (e.prospect_id, e.planned_at, str(e.account_id))
        for e in LeasingEvent.objects.alive().filter(event_type__in=vocabulary.SHOWING_EVENT_TYPES)
    }
    showings = sim.state("showings")["showings"]
    expected = {(s["prospect_id"], moment(s["planned_date_time"]), s["account_id"]) for s in showings}
    assert expected <= by_events, "each showing is on the agenda through its events (prospect, planned time)"
