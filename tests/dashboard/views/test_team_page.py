"""The team page: workload per person, logins with roles and accounts, RentEngine ids named by a
manager, subteams; agents read it and can't change it; another account's people stay invisible."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from dashboard.models import PersonName, TeamMember
from integrations.rentengine.models import Prospect
from tests.dashboard.conftest import ARI_ID, BIRCH, BO_ID, MAPLE, STRANGER_ID
from tests.dashboard.reference_world import BIRCH_ONLY_ID, SUBTEAM_BIRCH, SUBTEAM_MAPLE, reference  # noqa: F401 (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference")]


def test_a_manager_sees_workload_logins_and_subteams(mia_client: Client) -> None:
    html = mia_client.get("/team/").content.decode()
    assert 'id="pipeline-h"' in html
    assert 'id="funnel-new"' in html
    assert f'id="person-{ARI_ID}"' in html
    assert "Ari Agent" in html
    assert "Sam Stranger" in html, "a named RentEngine id reads by its name"
    assert f'id="subteam-{SUBTEAM_MAPLE}"' in html
    assert "Norfolk team" in html
    assert f'action="/team/users/{User.objects.get(username="ari").pk}/"' in html, "managers get a form per login"
    assert f'action="/team/people/{STRANGER_ID}/name/"' in html


def test_workload_counts_open_prospects_showings_today_and_overdue_follow_ups(mia_client: Client) -> None:
    Prospect.objects.filter(pk=12345).update(next_follow_up=timezone.now() - timedelta(hours=2))
    html = mia_client.get("/team/").content.decode()
    row = html.split(f'id="person-{ARI_ID}"', 1)[1].split("</tr>", 1)[0]
    # Ari: Zoë (12345, open, follow-up two hours ago) and a showing today as "Ari Agent".
    assert f'href="/prospects/?assignee={ARI_ID}&amp;family=open">1</a>' in row
    assert 'href="/showings/?agent=Ari%20Agent">1</a>' in row
    assert 'class="overdue"' in row
    assert ">1</a>" in row.split('class="overdue"', 1)[1]
    bo_row = html.split(f'id="person-{BO_ID}"', 1)[1].split("</tr>", 1)[0]
    assert 'class="overdue"' not in bo_row


def test_an_agent_sees_the_team_read_only(ari_client: Client) -> None:
    html = ari_client.get("/team/").content.decode()
    assert 'id="read-only-note"' in html
    assert '<form method="post" action="/team/' not in html
    assert "Ari Agent" in html
    assert "Norfolk team" in html


def test_an_agent_cannot_change_the_team_with_a_forged_post(ari_client: Client) -> None:
    bo = User.objects.get(username="bo")
    ari = User.objects.get(username="ari")
    for target in (bo, ari):  # not even their own role
        response = ari_client.post(f"/team/users/{target.pk}/", {"role": "manager", "accounts": [MAPLE]})
        assert response.status_code == 403
    assert ari_client.post(f"/team/people/{STRANGER_ID}/name/", {"name": "Hijacked"}).status_code == 403
    assert TeamMember.objects.get(user=ari).role_in(MAPLE) == TeamMember.Role.AGENT
    assert PersonName.objects.get(account_id=MAPLE, user_id=STRANGER_ID).name == "Sam Stranger"


def test_a_manager_links_a_login_grants_accounts_and_sets_roles(mia_client: Client) -> None:
    newcomer = User.objects.create_user(username="nia", password="x", first_name="Nia", last_name="New")
    html = mia_client.get("/team/").content.decode()
    assert f'id="user-{newcomer.pk}"' in html
    assert "No account yet" in html
    response = mia_client.post(
        f"/team/users/{newcomer.pk}/", {"role": "agent", "rentengine_user_id": STRANGER_ID, "accounts": [MAPLE, BIRCH]}
    )
    assert response.status_code == 302
    member = TeamMember.objects.get(user=newcomer)
    assert str(member.rentengine_user_id) == STRANGER_ID
    assert [str(a) for a in member.accounts.values_list("id", flat=True)] == [MAPLE], "Mia can't grant Birch"
    bo = User.objects.get(username="bo")
    assert (
        mia_client.post(
            f"/team/users/{bo.pk}/", {"role": "manager", "rentengine_user_id": BO_ID, "accounts": [MAPLE]}
        ).status_code
        == 302
    )
    assert TeamMember.objects.get(user=bo).role_in(MAPLE) == TeamMember.Role.MANAGER


def test_revoking_leaves_accounts_the_manager_does_not_hold(mia_client: Client, maple, birch) -> None:  # type: ignore[no-untyped-def]
    ari = User.objects.get(username="ari")
    ari.team_member.accounts.add(birch)
    mia_client.post(f"/team/users/{ari.pk}/", {"role": "agent", "rentengine_user_id": ARI_ID, "accounts": []})
    assert [str(a) for a in ari.team_member.accounts.values_list("id", flat=True)] == [BIRCH]


def test_a_manager_cannot_take_an_id_already_linked_or_change_their_own_role(mia_client: Client) -> None:
    bo = User.objects.get(username="bo")
    response = mia_client.post(
        f"/team/users/{bo.pk}/", {"role": "agent", "rentengine_user_id": ARI_ID, "accounts": [MAPLE]}, follow=True
    )
    assert "already Ari Agent" in response.content.decode()
    assert str(TeamMember.objects.get(user=bo).rentengine_user_id) == BO_ID
    mia = User.objects.get(username="mia")
    response = mia_client.post(f"/team/users/{mia.pk}/", {"role": "agent", "accounts": [MAPLE]}, follow=True)
    assert "your own role" in response.content.decode()
    assert TeamMember.objects.get(user=mia).role_in(MAPLE) == TeamMember.Role.MANAGER
    response = mia_client.post(f"/team/users/{bo.pk}/", {"role": "agent", "rentengine_user_id": "not-a-uuid"}, follow=True)
    assert "looks like" in response.content.decode()


def test_a_manager_names_a_rentengine_user_and_the_name_shows_everywhere(mia_client: Client) -> None:
    response = mia_client.post(f"/team/people/{STRANGER_ID}/name/", {"name": "  Sam   the Leasing Lead "})
    assert response.status_code == 302
    assert PersonName.objects.get(account_id=MAPLE, user_id=STRANGER_ID).name == "Sam the Leasing Lead"
    assert "Sam the Leasing Lead" in mia_client.get("/prospects/12347/").content.decode()


def test_another_accounts_people_are_invisible_and_untouchable(mia_client: Client) -> None:
    html = mia_client.get("/team/").content.decode()
    assert "Cy Outsider" not in html
    assert BIRCH_ONLY_ID not in html
    assert SUBTEAM_BIRCH not in html
    assert "Richmond team" not in html
    assert "Birch Homes" not in html
    cy = User.objects.get(username="cy")
    assert mia_client.post(f"/team/users/{cy.pk}/", {"role": "manager", "accounts": [MAPLE]}).status_code == 404
    assert TeamMember.objects.get(user=cy).role_in(BIRCH) == TeamMember.Role.AGENT
    assert mia_client.post(f"/team/people/{BIRCH_ONLY_ID}/name/", {"name": "x"}).status_code == 404


def test_the_team_page_needs_a_login_and_get(client: Client, mia_client: Client) -> None:
    assert Client().get("/team/")["Location"].startswith("/login/")
    assert mia_client.post("/team/").status_code == 405
    assert mia_client.get(f"/team/users/{User.objects.get(username='bo').pk}/").status_code == 405


def test_team_is_in_the_navigation(ari_client: Client) -> None:
    html = ari_client.get("/prospects/").content.decode()
    assert '<a href="/team/"' in html


def test_the_team_page_stays_within_a_query_budget(mia_client: Client, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    with django_assert_max_num_queries(
        30
    ):  # +1: the live versions a page starts from; +4: roles and names per account; +1: expected recipients
        assert mia_client.get("/team/").status_code == 200


def test_a_manager_of_one_account_is_an_agent_in_another_and_names_people_only_where_they_manage(client: Client) -> None:
    from dashboard.models import AccountGrant

    mia = User.objects.get(username="mia")
    AccountGrant.objects.create(member=mia.team_member, account_id=BIRCH, role=TeamMember.Role.AGENT)
    client.force_login(mia)
    client.post("/account/", {"account": BIRCH})
    birch_team = client.get("/team/")
    assert 'name="role"' not in birch_team.content.decode(), "an agent in Birch gets no team forms there"
    cy = User.objects.get(username="cy")
    assert client.post(f"/team/users/{cy.pk}/", {"role": "manager", "accounts": [BIRCH]}).status_code == 403
    assert TeamMember.objects.get(user=cy).role_in(BIRCH) == TeamMember.Role.AGENT
    assert client.post(f"/team/people/{BIRCH_ONLY_ID}/name/", {"name": "Renamed By Maple"}).status_code == 403
    assert not PersonName.objects.filter(user_id=BIRCH_ONLY_ID, name="Renamed By Maple").exists()
