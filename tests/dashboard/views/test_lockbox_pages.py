"""Lockbox inventory, a lockbox's timeline, and the portfolio-wide activity feed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from integrations.rentengine.models import Lockbox
from tests.dashboard.conftest import LOCKBOX_BIRCH, LOCKBOX_MAPLE, World

pytestmark = pytest.mark.django_db


def test_the_inventory_shows_state_unit_and_last_event(ari_client: Client, world: World) -> None:
    html = ari_client.get("/lockboxes/").content.decode()
    assert f'id="lockbox-{LOCKBOX_MAPLE}"' in html
    assert LOCKBOX_BIRCH not in html
    assert ">Installed<" in html
    assert "3318 Chesapeake Blvd" in html


@pytest.mark.parametrize(
    ("query", "shown"),
    [("state=installed", True), ("state=quiet", False), ("state=not_installed", False), ("q=2345", True), ("q=999", False),
     ("type=Sentrilock", True), ("type=Codebox", False), ("sort=quietest", True), ("sort=installed", True)],
)  # fmt: skip
def test_inventory_filters(ari_client: Client, world: World, query: str, shown: bool) -> None:
    assert (f'id="lockbox-{LOCKBOX_MAPLE}"' in ari_client.get(f"/lockboxes/?{query}").content.decode()) is shown


def test_a_box_that_went_silent_reads_quiet(ari_client: Client, world: World) -> None:
    Lockbox.objects.filter(pk=LOCKBOX_MAPLE).update(last_event_at=world.now - timedelta(days=30))
    html = ari_client.get("/lockboxes/?state=quiet").content.decode()
    assert f'id="lockbox-{LOCKBOX_MAPLE}"' in html
    assert "Quiet 30 days" in html


def test_the_lockbox_page_has_its_whole_timeline(ari_client: Client, world: World, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    # + the desk's requests on the box (codes asked, installs marked), + whether a manager (the mute form)
    with django_assert_max_num_queries(11):
        response = ari_client.get(f"/lockboxes/{LOCKBOX_MAPLE}/")
    html = response.content.decode()
    assert "Code generated for Zoë Ñúñez" in html
    assert "ACCESS code" in html
    assert "Install" in html
    assert "Installed on front door" in html
    assert "Mia Manager" in html
    assert html.index("Code generated") < html.index("Installed on front door"), "newest first"


def test_another_accounts_lockbox_is_a_404(ari_client: Client, world: World) -> None:
    assert ari_client.get(f"/lockboxes/{LOCKBOX_BIRCH}/").status_code == 404
    assert ari_client.get("/lockboxes/00000000-0000-4000-8000-000000000000/").status_code == 404


def test_the_activity_feed_links_codes_to_their_showing_and_prospect(ari_client: Client, world: World) -> None:
    html = ari_client.get("/lockboxes/activity/").content.decode()
    assert "Code generated for Zoë Ñúñez" in html
    assert "/prospects/12345/" in html
    assert "#showing-70001" in html
    assert "/units/3318/" in html
    assert "7654321" not in html, "Birch's activity stays out"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("type=Install", 1),
        ("type=Generate+Code", 1),
        ("unit=3318", 2),
        ("unit=3319", 0),
        ("since=2000-01-01&until=2000-01-02", 0),
    ],
)
def test_activity_filters(ari_client: Client, world: World, query: str, expected: int) -> None:
    html = ari_client.get(f"/lockboxes/activity/?{query}").content.decode()
    assert html.count('class="tl-item ') == expected


def test_the_feed_stays_within_its_query_budget(ari_client: Client, world: World, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    with django_assert_max_num_queries(8):
        assert ari_client.get("/lockboxes/activity/").status_code == 200
    with django_assert_max_num_queries(8):
        assert ari_client.get("/lockboxes/").status_code == 200


def test_a_stranger_is_sent_to_log_in(client: Client, world: World) -> None:
    for url in ("/lockboxes/", "/lockboxes/activity/", f"/lockboxes/{LOCKBOX_MAPLE}/"):
        assert client.get(url)["Location"].startswith("/login/")
