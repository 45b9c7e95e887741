"""Lockbox alerts worth reading: only codes with no showing of the unit within the window, not for
expected recipients, not on muted boxes, told to the unit's subteam and the account's managers only;
the bell's count and panel, and the daily digest with the showing and prospect each code ties to."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from dashboard.models import ExpectedRecipient, LockboxMute
from integrations.rentengine import mirror
from integrations.rentengine.client import LockboxEventRecord, parse_record
from integrations.rentengine.models import Subteam, Unit
from tests.dashboard.conftest import ARI_ID, BIRCH, LOCKBOX_BIRCH, LOCKBOX_MAPLE, MAPLE, World, stamp

pytestmark = pytest.mark.django_db

EAST = "5e5e5e5e-0000-4000-8000-000000000001"


def code(n: int, unit: str, *, made_for: str = "Vic Visitor", lockbox: str = LOCKBOX_MAPLE, account: str = MAPLE) -> str:
    event_id = f"0b9c1e5e-3333-4bbb-8ccc-{n:012d}"
    record = {"id": event_id, "lockbox_id": lockbox, "event_type": "Generate Code", "unit_id": unit, "account_id": account,
              "created_at": stamp(timezone.now()), "metadata": {"created_for": made_for, "code_type": "ACCESS"}}  # fmt: skip
    mirror.lockbox_events_apply([parse_record(LockboxEventRecord, record)])
    return event_id


def bell(client: Client) -> tuple[list[str], int]:
    html = client.get("/live/alerts/").content.decode()
    unseen = int(re.search(r'data-alerts-unseen="(\d+)"', html).group(1))  # type: ignore[union-attr]
    return re.findall(r'data-alert-id="([^"]+)"', html), unseen


def as_user(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


@pytest.fixture
def east(world: World) -> None:
    """Ari works 3319 (the East subteam); Bo works no subteam."""
    Subteam.objects.create(id=EAST, account_id=MAPLE, name="East", user_ids=[ARI_ID], synced_at=timezone.now())
    Unit.objects.filter(pk=3319).update(subteam_id=EAST)


def test_a_code_with_no_showing_reaches_the_units_subteam_and_managers_only(
    client: Client, east: None, mia: User, ari: User, bo: User, cy: User
) -> None:
    alert = code(1, "3319")
    birch_code = code(2, "9001", lockbox=LOCKBOX_BIRCH, account=BIRCH)
    assert bell(as_user(client, mia)) == ([alert], 1), "Maple's manager"
    assert bell(as_user(client, ari)) == ([alert], 1), "3319's subteam"
    assert bell(as_user(client, bo)) == ([], 0), "an agent of the account who doesn't work 3319"
    assert bell(as_user(client, cy)) == ([], 0), "Birch's agent, who doesn't work 9001 either, hears nothing of Maple"
    html = as_user(client, mia).get("/live/alerts/").content.decode()
    assert birch_code not in html
    assert "3319 Granby St" in html
    assert "Vic Visitor" in html


def test_opening_the_panel_clears_the_count_but_keeps_the_list(client: Client, east: None, mia: User) -> None:
    alert = code(1, "3319")
    as_user(client, mia)
    assert bell(client) == ([alert], 1)
    assert client.post("/alerts/seen/").status_code == 204
    assert bell(client) == ([alert], 0)
    page = client.get("/alerts/").content.decode()
    assert alert in page


def test_codes_for_expected_recipients_raise_nothing(client: Client, east: None, mia: User, ari: User) -> None:
    code(1, "3319", made_for="Sparkle Cleaning - Rosa")
    assert bell(as_user(client, ari))[0] != []
    assert client.post("/team/expected/", {"name": "sparkle cleaning", "kind": "cleaner"}).status_code == 403
    as_user(client, mia).post("/team/expected/", {"name": "Sparkle Cleaning", "kind": "cleaner"})
    assert ExpectedRecipient.objects.filter(account_id=MAPLE, name="Sparkle Cleaning").exists()
    assert "Sparkle Cleaning" in client.get("/team/").content.decode()
    assert bell(client) == ([], 0)
    assert bell(as_user(client, ari)) == ([], 0)
    other = code(2, "3319", made_for="Vic Visitor")
    assert bell(client)[0] == [other], "anyone else still raises one"


def test_a_manager_mutes_a_lockbox_for_n_days(client: Client, east: None, mia: User, ari: User, cy: User) -> None:
    code(1, "3319")
    assert as_user(client, ari).post(f"/lockboxes/{LOCKBOX_MAPLE}/mute/", {"days": "3"}).status_code == 403
    assert as_user(client, cy).post(f"/lockboxes/{LOCKBOX_MAPLE}/mute/", {"days": "3"}).status_code == 404
    assert not LockboxMute.objects.exists()
    as_user(client, mia).post(f"/lockboxes/{LOCKBOX_MAPLE}/mute/", {"days": "3"})
    mute = LockboxMute.objects.get()
    assert timedelta(days=2, hours=23) < mute.until - timezone.now() <= timedelta(days=3)
    assert bell(client) == ([], 0)
    assert bell(as_user(client, ari)) == ([], 0)
    assert "muted" in as_user(client, mia).get("/alerts/digest/").content.decode(), "the digest still lists it"
    LockboxMute.objects.update(until=timezone.now() - timedelta(seconds=1))
    assert len(bell(client)[0]) == 1, "a mute ends by itself"


@pytest.mark.parametrize(("window_minutes", "alerted"), [(24 * 60, False), (0, True)])
def test_a_showing_of_the_unit_within_the_window_makes_a_code_expected(
    client: Client, world: World, mia: User, settings: Any, window_minutes: int, alerted: bool
) -> None:
    settings.LOCKBOX_ALERT_WINDOW_MINUTES = window_minutes  # 3318 has a showing at 3 pm today
    alert = code(1, "3318")
    assert bell(as_user(client, mia))[0] == ([alert] if alerted else [])


def test_the_digest_ties_each_code_to_its_showing_and_prospect(client: Client, world: World, mia: User, settings: Any) -> None:
    settings.LOCKBOX_ALERT_WINDOW_MINUTES = 0
    alert = code(1, "3318", made_for="Somebody Else")
    html = as_user(client, mia).get("/alerts/digest/").content.decode()
    row = html.split(f'id="digest-{alert}"')[1].split("</tr>")[0]
    assert "3318 Chesapeake Blvd" in row
    assert "Somebody Else" in row
    assert "3:00 p.m." in row or "3:00 pm" in row.lower()
    assert "/prospects/12345/" in row, "the showing's prospect"
    assert as_user(client, mia).get("/alerts/digest/?day=nonsense").status_code == 200


def test_the_bell_sits_in_the_top_bar_and_nothing_floats(ari_client: Client, world: World) -> None:
    html = ari_client.get("/units/").content.decode()
    assert 'id="alert-bell"' in html
    assert 'id="alert-panel"' in html
    assert 'id="live-alerts"' not in html
    assert "<script>" not in html


def test_a_code_asked_for_from_the_desk_for_a_showing_raises_nothing(client: Client, east: None, mia: User, ari: User) -> None:
    from integrations.rentengine.models import OutboxLockboxPost

    for_showing = OutboxLockboxPost.objects.create(
        account_id=MAPLE, kind="code", lockbox_id=LOCKBOX_MAPLE, unit_id=3319, requested_by=ari, why="early", showing_id=70001
    )
    without = OutboxLockboxPost.objects.create(
        account_id=MAPLE, kind="code", lockbox_id=LOCKBOX_MAPLE, unit_id=3319, requested_by=ari, why="no showing"
    )
    code(1, "3319", made_for=f"Zoë Ñúñez · desk #{for_showing.pk}")
    raised = code(2, "3319", made_for=f"Ari Agent · desk #{without.pk}")
    alerts, _ = bell(as_user(client, mia))
    assert alerts == [raised]
    assert f"desk #{without.pk}" not in client.get("/live/alerts/").content.decode(), "the reference is ours, not shown"
