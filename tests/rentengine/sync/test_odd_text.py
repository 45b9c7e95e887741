"""Odd text typed into RentEngine (an enquiry form, an agent's note) never freezes a resource's sync."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command

from integrations.rentengine.limiter import get_limiter
from integrations.rentengine.models import LeasingEvent, Prospect, QuarantinedRecord, SyncState
from tests.support.simulator import SimulatorHandle, running_simulator

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def sim_server() -> Iterator[SimulatorHandle]:
    with running_simulator(size="small", seed=5) as sim:
        yield sim


@pytest.fixture
def sim(sim_server: SimulatorHandle, settings: Any) -> SimulatorHandle:
    sim_server.reset()
    settings.RENTENGINE_BASE_URL = sim_server.base_url
    settings.RENTENGINE_API_TOKEN = sim_server.token
    get_limiter().backend.clear()
    return sim_server


def test_a_backslash_u0000_note_and_a_nul_in_a_name_sync_and_every_pass_succeeds(sim: SimulatorHandle) -> None:
    call_command("rentengine_sync", "--resource", "prospects", "--full")
    prospect_id = sim.state("prospects")["prospects"][0]["id"]
    sim.change_record("prospects", prospect_id, name="Ana \x00Lucía \\u0000 Pérez")
    note = sim.add_note(prospect_id, "call back \\u0000 tomorrow \\")
    for _ in range(2):  # an incremental pass, then a full one: both used to fail on every run
        call_command("rentengine_sync", "--resource", "prospects")
        call_command("rentengine_sync", "--resource", "leasing_events", "--full")
    assert Prospect.objects.get(pk=prospect_id).name == "Ana Lucía \\u0000 Pérez"
    assert LeasingEvent.objects.get(pk=note["id"]).notes == "call back \\u0000 tomorrow \\"
    assert set(SyncState.objects.filter(resource__in=["prospects", "leasing_events"]).values_list("last_outcome", flat=True)) == {
        "ok"
    }
    assert not QuarantinedRecord.objects.exists()
