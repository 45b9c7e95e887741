"""The frame around the screens: the account switcher, global search, and people without accounts."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from dashboard.models import TeamMember
from integrations.rentengine.models import Account
from tests.dashboard.conftest import BIRCH, HOSTILE, MAPLE, World

pytestmark = pytest.mark.django_db


def test_the_switcher_lists_only_granted_accounts(ari_client: Client, world: World, ari) -> None:  # type: ignore[no-untyped-def]
    html = ari_client.get("/units/").content.decode()
    assert "Maple Leasing" in html
    assert "Birch Homes" not in html
    assert 'id="account-switch"' not in html, "one account: a name, not a menu"
    ari.team_member.accounts.add(Account.objects.get(pk=BIRCH))
    html = ari_client.get("/units/").content.decode()
    assert 'id="account-switch"' in html
    assert "Birch Homes" in html


def test_switching_account_changes_what_lists_show(ari_client: Client, world: World, ari) -> None:  # type: ignore[no-untyped-def]
    ari.team_member.accounts.add(Account.objects.get(pk=BIRCH))
    response = ari_client.post("/account/", {"account": BIRCH, "next": "/units/?after=xyz"})
    assert response.status_code == 302
    assert response["Location"] == "/units/"
    html = ari_client.get("/units/").content.decode()
    assert 'id="unit-9001"' in html
    assert 'id="unit-3318"' not in html
    ari_client.post("/account/", {"account": MAPLE, "next": "https://evil.example/"})
    assert 'id="unit-3318"' in ari_client.get("/units/").content.decode()


def test_an_agent_cannot_switch_to_an_account_not_granted(ari_client: Client, world: World) -> None:
    response = ari_client.post("/account/", {"account": BIRCH, "next": "/units/"})
    assert response.status_code == 302
    html = ari_client.get("/units/").content.decode()
    assert 'id="unit-3318"' in html
    assert 'id="unit-9001"' not in html


def test_a_superuser_can_pick_any_account(client: Client, world: World, root) -> None:  # type: ignore[no-untyped-def]
    client.force_login(root)
    html = client.get("/units/").content.decode()
    assert "Maple Leasing" in html
    assert "Birch Homes" in html
    client.post("/account/", {"account": BIRCH, "next": "/units/"})
    assert 'id="unit-9001"' in client.get("/units/").content.decode()


def test_the_switcher_only_takes_post(ari_client: Client, world: World) -> None:
    assert ari_client.get("/account/").status_code == 405


def test_someone_with_no_account_is_told_why_the_screens_are_empty(client: Client, db: None) -> None:
    user = User.objects.create_user("newbie", password="x")
    TeamMember.objects.create(user=user)
    client.force_login(user)
    for url in ("/units/", "/prospects/", "/showings/", "/lockboxes/", "/lockboxes/activity/"):
        assert "No RentEngine account is shared with you yet" in client.get(url).content.decode()


@pytest.mark.parametrize(
    ("q", "present", "absent"),
    [
        ("zoë", ["/prospects/12345/", "/prospects/12349/"], ["/prospects/22222/"]),
        ("555 123 4567", ["/prospects/12345/", "/prospects/12349/"], []),
        ("p12346@example", ["/prospects/12346/"], ["/prospects/12345/"]),
        ("granby", ["/units/3319/"], ["/units/3318/"]),
        ("1234567", ["/lockboxes/"], []),
        ("birch", [], ["/prospects/22222/", "/units/9001/"]),
    ],
)
def test_global_search_finds_people_units_and_lockboxes(
    ari_client: Client, world: World, q: str, present: list[str], absent: list[str]
) -> None:
    html = ari_client.get("/search/", {"q": q}).content.decode()
    for url in present:
        assert url in html, url
    for url in absent:
        assert url not in html, url


def test_search_groups_enquiries_by_person_and_escapes_names(ari_client: Client, world: World) -> None:
    html = ari_client.get("/search/", {"q": "zo"}).content.decode()
    assert html.count('class="person"') == 1, "two enquiries, one person"
    html = ari_client.get("/search/", {"q": "script"}).content.decode()
    assert HOSTILE not in html
    assert "&lt;script&gt;" in html


def test_search_without_a_query_is_the_plain_layout(ari_client: Client, world: World, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    with django_assert_max_num_queries(4):  # +1: the live-update versions a page starts from
        response = ari_client.get("/search/")
    assert response.status_code == 200
    assert "Search prospects by name" in response.content.decode()


def test_search_stays_within_its_query_budget(ari_client: Client, world: World, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    with django_assert_max_num_queries(7):  # +1: the live-update versions a page starts from
        assert ari_client.get("/search/", {"q": "zo"}).status_code == 200


def test_a_stranger_is_sent_to_log_in(client: Client, db: None) -> None:
    assert client.get("/search/?q=x")["Location"].startswith("/login/")
