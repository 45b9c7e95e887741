"""My day (/today/): an agent's own day, a manager's team day, never another account's data."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from dashboard.lists.my_day import SHOWING_ROWS
from integrations.rentengine import mirror
from integrations.rentengine.client import ShowingRecord, parse_record
from integrations.rentengine.models import Subteam, Unit
from tests.dashboard.conftest import ARI_ID, BIRCH, BO_ID, MAPLE, World, event_record, stamp

pytestmark = pytest.mark.django_db


@pytest.fixture
def follow_ups(world: World) -> World:
    """Ari's Zoë is due in an hour; Bo's Bea was due yesterday; Birch's prospect (assigned to Ari's
    RentEngine id there) is due too, in the other account."""
    now = world.now
    mirror.leasing_events_apply([
        event_record(101, 12345, "Contacted, Awaiting Information", now - timedelta(hours=2), next_follow_up=stamp(now + timedelta(hours=1))),
        event_record(102, 12347, "Contacted, Awaiting Information", now - timedelta(days=2), next_follow_up=stamp(now - timedelta(days=1))),
        event_record(103, 22222, "Contacted, Awaiting Information", now - timedelta(hours=2), next_follow_up=stamp(now + timedelta(minutes=30))),
    ])  # fmt: skip
    return world


def test_login_lands_on_my_day(ari_client: Client, world: World) -> None:
    assert ari_client.get("/")["Location"] == "/today/"
    html = ari_client.get("/today/").content.decode()
    assert 'href="/today/" aria-current="page"' in html, "the nav links to My day"


def test_an_agent_sees_their_showing_with_its_unit_lockbox_and_todays_code(ari_client: Client, world: World) -> None:
    html = ari_client.get("/today/").content.decode()
    assert "My showings today" in html
    assert 'id="today-showing-70001"' in html
    assert 'href="/units/3318/"' in html, "the unit's address links to its page"
    assert "3318 Chesapeake Blvd" in html
    assert "Sentrilock 1234567" in html, "the lockbox on the unit"
    assert "Code generated" in html
    assert "for Zoë Ñúñez" in html
    assert "9001 Birch Rd" not in html, "never another account's showing"


def test_another_agent_does_not_see_ari_s_showing(client: Client, world: World, bo) -> None:  # type: ignore[no-untyped-def]
    client.force_login(bo)
    html = client.get("/today/").content.decode()
    assert 'id="today-showing-70001"' not in html
    assert "No showings today." in html


def test_a_manager_sees_the_team_day(mia_client: Client, follow_ups: World) -> None:
    html = mia_client.get("/today/").content.decode()
    assert "Team day" in html
    assert 'id="today-showing-70001"' in html
    assert "Ari Agent" in html, "whose showing it is"
    assert 'id="today-follow-up-12345"' in html
    assert 'id="today-follow-up-12347"' in html, "Bo's overdue follow-up is the team's too"
    assert 'id="today-assignment-6"' in html, "Bo's assignment"
    assert "Birch Person" not in html
    assert 'id="today-follow-up-22222"' not in html


def test_an_agent_sees_only_their_follow_ups_due_and_overdue(ari_client: Client, follow_ups: World) -> None:
    html = ari_client.get("/today/").content.decode()
    assert 'id="today-follow-up-12345"' in html
    assert "Due today" in html
    assert 'id="today-follow-up-12347"' not in html, "Bo's"
    assert 'id="today-follow-up-22222"' not in html, "the other account's, though assigned to Ari's id there"


def test_bo_sees_his_overdue_follow_up(client: Client, follow_ups: World, bo) -> None:  # type: ignore[no-untyped-def]
    client.force_login(bo)
    html = client.get("/today/").content.decode()
    assert 'id="today-follow-up-12347"' in html
    assert "Overdue" in html


def test_new_leads_are_the_unassigned_ones_on_my_subteams_units(ari_client: Client, world: World) -> None:
    html = ari_client.get("/today/").content.decode()
    # In no subteam, Ari sees every property's new leads (as in RentEngine).
    assert 'id="today-lead-12346"' in html
    assert 'id="today-lead-12349"' in html
    assert 'id="today-lead-12345"' not in html, "assigned"
    now = timezone.now()
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    Subteam.objects.create(id=mine, account_id=MAPLE, name="North", user_ids=[ARI_ID], synced_at=now)
    Subteam.objects.create(id=theirs, account_id=MAPLE, name="South", user_ids=[BO_ID], synced_at=now)
    Unit.objects.filter(id=3318).update(subteam_id=mine)
    Unit.objects.filter(id=3319).update(subteam_id=theirs)
    html = ari_client.get("/today/").content.decode()
    assert 'id="today-lead-12346"' in html, "on 3318, Ari's subteam's unit"
    assert 'id="today-lead-12349"' not in html, "on 3319, another subteam's unit"


def test_my_recent_assignments(ari_client: Client, world: World) -> None:
    html = ari_client.get("/today/").content.decode()
    assert 'id="today-assignment-3"' in html, "Zoë, assigned to Ari by Mia"
    assert "By Mia Manager" in html
    assert 'id="today-assignment-6"' not in html, "Bo's"
    assert 'id="today-assignment-8"' not in html, "the other account's assignment to Ari's id"


def test_the_other_account_s_agent_sees_only_their_account(client: Client, follow_ups: World, cy) -> None:  # type: ignore[no-untyped-def]
    client.force_login(cy)
    html = client.get("/today/").content.decode()
    for maple_thing in ("Zoë", "Una Unassigned", "3318 Chesapeake", "Bea Bosperson", "Ari Agent"):
        assert maple_thing not in html


def test_today_is_the_account_s_day(ari_client: Client, world: World) -> None:
    """A showing at 11 PM Chicago is today there even when it is already tomorrow in UTC."""
    html = ari_client.get("/today/").content.decode()
    local_today = world.showing_at.date()
    assert local_today.strftime("%A") in html


def test_the_page_is_live(ari_client: Client, world: World) -> None:
    html = ari_client.get("/today/").content.decode()
    assert f'data-live="showings:{MAPLE} prospects:{MAPLE} lockboxes:{MAPLE}"' in html
    assert BIRCH not in html.split('id="today-live"', 1)[1].split(">", 1)[0]


@pytest.mark.parametrize("who", ["ari", "mia"])
def test_my_day_stays_within_its_query_budget(
    client: Client, follow_ups: World, who: str, request, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    client.force_login(request.getfixturevalue(who))
    with django_assert_max_num_queries(10):  # the live-update versions a page starts from included
        assert client.get("/today/").status_code == 200


def test_a_stranger_is_sent_to_log_in(client: Client, world: World) -> None:
    assert client.get("/today/")["Location"].startswith("/login/")


def test_a_busy_team_day_shows_fifty_showings_and_sends_the_rest_to_the_agenda(mia_client: Client, world: World) -> None:
    at = world.now.replace(microsecond=0)
    mirror.showings_apply(
        [
            parse_record(ShowingRecord, {"showing_id": 90000 + n, "prospect_id": 12345, "property_address": "3318 Chesapeake Blvd",
                                         "prospect_name": "Zoë Ñúñez", "status": "Scheduled", "showing_agent": "Ari Agent",
                                         "planned_date_time": stamp(at), "created_at": stamp(at - timedelta(days=1))})
            for n in range(SHOWING_ROWS + 5)
        ],
        account_id=MAPLE,
    )  # fmt: skip
    html = mia_client.get("/today/").content.decode()
    assert html.count('id="today-showing-') == SHOWING_ROWS
    assert f'<span class="count-badge">{SHOWING_ROWS}+</span>' in html
    assert "All of today&#x27;s showings in the Agenda" in html or "All of today's showings in the Agenda" in html
