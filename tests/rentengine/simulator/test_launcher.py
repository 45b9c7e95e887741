"""The management command and the demo's people both come from the simulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest

from dashboard.models import TeamMember
from dashboard.people.demo_people import DEMO_PASSWORD, demo_agent_usernames, demo_people_ensure
from integrations.rentengine.models import Account
from integrations.rentengine.simulator.lexicon import BIRCH_ACCOUNT_ID, MAPLE_ACCOUNT_ID, OWNER_USER_ID
from tests.support.simulator import READY, ROOT, SimulatorHandle


def test_the_management_command_prints_one_ready_line_and_stops_cleanly_on_sigterm() -> None:
    env = {**os.environ, "RENTENGINE_API_TOKEN": "from-settings", "PYTHONUNBUFFERED": "1"}
    argv = [sys.executable, "manage.py", "rentengine_simulator", "--port", "0", "--size", "small", "--rate-limit", "off"]
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = READY.search(line)
        assert match, line
        assert "small: 50 units" in line
        answer = httpx.get(f"{match[1]}{match[2]}/units", headers={"Authorization": "Bearer from-settings"}, params={"limit": 1})
        assert answer.status_code == 200, "the token defaults to RENTENGINE_API_TOKEN"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        assert "stopped" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()


@pytest.mark.django_db
def test_the_demo_people_come_from_the_simulator_and_can_be_made_twice(sim: SimulatorHandle) -> None:
    manager = demo_people_ensure(simulator_url=sim.base_url)
    demo_people_ensure(simulator_url=sim.base_url)
    assert {str(a.id): a.name for a in Account.objects.all()} == {
        MAPLE_ACCOUNT_ID: "Maple Leasing",
        BIRCH_ACCOUNT_ID: "Birch Homes",
    }
    manager.refresh_from_db()
    assert str(manager.rentengine_user_id) == OWNER_USER_ID
    assert manager.user.get_full_name() == "Morgan Reyes"
    agents = demo_agent_usernames()
    assert len(agents) == 11
    assert "priya" in agents
    assert "noah" in agents
    priya = TeamMember.objects.get(user__username="priya")
    assert priya.role_in(MAPLE_ACCOUNT_ID) == TeamMember.Role.AGENT
    assert [str(a.id) for a in priya.accounts.all()] == [MAPLE_ACCOUNT_ID]
    assert priya.user.check_password(DEMO_PASSWORD)
    assert TeamMember.objects.count() == 12
