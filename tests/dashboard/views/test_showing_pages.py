"""The showings agenda: day and week, today first, filters, and events attached to their showing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from integrations.rentengine import mirror
from tests.dashboard.conftest import CHICAGO, World, event_record, stamp

pytestmark = pytest.mark.django_db


def test_today_is_the_default_and_shows_the_showing_with_its_events(ari_client: Client, world: World) -> None:
    html = ari_client.get("/showings/").content.decode()
    assert 'id="showing-70001"' in html
    assert "Showing Scheduled" in html, "the leasing event sits under its showing"
    assert "Today" in html
    assert "Birch" not in html


def test_the_week_view_starts_today(ari_client: Client, world: World) -> None:
    today = world.showing_at.date()
    html = ari_client.get(f"/showings/?view=week&date={today - timedelta(days=6)}").content.decode()
    assert 'id="showing-70001"' in html
    html = ari_client.get(f"/showings/?view=day&date={today + timedelta(days=1)}").content.decode()
    assert 'id="showing-70001"' not in html
    assert "No showings on this day" in html


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("agent=Ari+Agent", True),
        ("agent=mine", True),
        ("agent=Someone+Else", False),
        ("status=Scheduled", True),
        ("status=Completed", False),
        ("unit=3318", True),
        ("unit=3319", False),
    ],
)
def test_filters(ari_client: Client, world: World, query: str, shown: bool) -> None:
    assert ('id="showing-70001"' in ari_client.get(f"/showings/?{query}").content.decode()) is shown


def test_a_showing_known_only_from_events_still_appears(ari_client: Client, world: World) -> None:
    later = world.showing_at + timedelta(hours=2)
    mirror.leasing_events_apply(
        [event_record(50, 12346, "Showing Scheduled", world.now - timedelta(hours=1), source="Showing Scheduler",
                      planned_date_time=stamp(later), property_address="3318 Chesapeake Blvd")]
    )  # fmt: skip
    html = ari_client.get(f"/showings/?date={later.astimezone(CHICAGO).date()}").content.decode()
    assert 'id="event-showing-50"' in html
    assert "Una Unassigned" in html
    assert "from events" in html


def test_the_agenda_stays_within_its_query_budget(ari_client: Client, world: World, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    with django_assert_max_num_queries(9):  # the live-update versions a page starts from included
        assert ari_client.get("/showings/?view=week&agent=mine").status_code == 200


def test_a_stranger_is_sent_to_log_in(client: Client, world: World) -> None:
    assert client.get("/showings/")["Location"].startswith("/login/")


def test_a_bad_date_falls_back_to_today(ari_client: Client, world: World) -> None:
    assert 'id="showing-70001"' in ari_client.get("/showings/?date=yesterday&view=fortnight").content.decode()
