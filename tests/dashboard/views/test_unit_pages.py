"""The units list (status pills, filters, sort, search) and the unit page."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from integrations.rentengine.models import UnitAvailability
from tests.dashboard.conftest import CHICAGO, HOSTILE, LOCKBOX_MAPLE, World, stamp

pytestmark = pytest.mark.django_db


def ids_on(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'id="unit-(\d+)" data-id', html)}


def test_the_list_shows_this_accounts_units_with_status_pills(ari_client: Client, world: World) -> None:
    html = ari_client.get("/units/").content.decode()
    assert ids_on(html) == {3318, 3319}
    assert 'class="pill ok" title="On the market">Available<' in html
    assert 'class="pill info" title="Leased">Leased<' in html
    assert "1234567" in html, "the unit's lockbox serial"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=Leased", {3319}),
        ("market=yes", {3318}),
        ("market=no", {3319}),
        ("city=Chesapeake", {3319}),
        ("bedrooms=3", {3318}),
        ("rent_min=1600", {3318}),
        ("rent_max=1600", {3319}),
        ("rent_min=1000&rent_max=2000", {3318, 3319}),
        ("occupied=yes", {3319}),
        ("occupied=no", set()),
        ("lockbox=yes", {3318}),
        ("lockbox=no", {3319}),
        ("q=granby", {3319}),
        ("q=3318", {3318}),
        ("sort=rent_high", {3318, 3319}),
        ("bedrooms=lots&rent_min=$", {3318, 3319}),
    ],
)
def test_filters_narrow_the_list(ari_client: Client, world: World, query: str, expected: set[int]) -> None:
    assert ids_on(ari_client.get(f"/units/?{query}").content.decode()) == expected


def test_sorting_by_rent_orders_rows(ari_client: Client, world: World) -> None:
    html = ari_client.get("/units/?sort=rent_low").content.decode()
    assert html.index('id="unit-3319"') < html.index('id="unit-3318"')
    html = ari_client.get("/units/?sort=rent_high").content.decode()
    assert html.index('id="unit-3318"') < html.index('id="unit-3319"')


def test_the_list_stays_within_its_query_budget(ari_client: Client, world: World, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    with django_assert_max_num_queries(9):
        assert ari_client.get("/units/?lockbox=yes&city=Norfolk&q=chesapeake").status_code == 200


def test_the_unit_page_shows_facts_prospects_showings_and_the_lockbox(
    ari_client: Client, world: World, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    with django_assert_max_num_queries(10):  # the live-update versions a page starts from included
        response = ari_client.get("/units/3318/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "$1,925 / month" in html
    assert "Water/sewer/trash" in html
    assert "Self Guided" in html
    assert 'id="prospect-12345"' in html
    assert "Ari Agent" in html
    assert 'id="showing-70001"' in html
    assert f"/lockboxes/{LOCKBOX_MAPLE}/" in html
    assert "Code generated for Zoë Ñúñez" in html
    assert "Mia Manager" in html, "the installer is named"
    assert "Not fetched yet" in html
    assert HOSTILE not in html


def test_the_unit_page_shows_cached_availability_windows(ari_client: Client, world: World) -> None:
    day = (world.now + timedelta(days=3)).astimezone(CHICAGO).date()
    start = datetime(day.year, day.month, day.day, 9, 0, tzinfo=CHICAGO)
    past = world.now - timedelta(days=1)
    UnitAvailability.objects.create(
        unit_id=3318,
        data={"unitId": 3318, "availableShowingWindows": [
            {"start": stamp(start), "end": stamp(start + timedelta(hours=1)), "showingMethodsAvailable": ["Self Guided"]},
            {"start": stamp(past), "end": stamp(past + timedelta(hours=1))},
        ]},
        fetched_at=timezone.now(),
    )  # fmt: skip
    html = ari_client.get("/units/3318/").content.decode()
    assert "Not fetched yet" not in html
    assert f"{start:%a, %b} {day.day}</time>: 9:00 AM-10:00 AM (Self Guided)" in html, "upcoming windows, in the account's zone"
    assert html.count("AM-") + html.count("PM-") == 1, "past windows are left out"


def test_another_accounts_unit_is_a_404(ari_client: Client, world: World) -> None:
    assert ari_client.get("/units/9001/").status_code == 404
    assert ari_client.get("/units/424242/").status_code == 404


def test_a_stranger_is_sent_to_log_in(client: Client, world: World) -> None:
    for url in ("/units/", "/units/3318/"):
        assert client.get(url)["Location"].startswith("/login/")


def test_units_answer_only_get(ari_client: Client, world: World) -> None:
    assert ari_client.post("/units/").status_code == 405
    assert ari_client.post("/units/3318/").status_code == 405
