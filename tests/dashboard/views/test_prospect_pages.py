"""The prospects list (mine + unassigned by default, filters, search, keyset pages, htmx parts), the
quick view and the prospect page with its merged timeline."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from dashboard.lists import prospect_timeline as timeline
from integrations.rentengine import mirror
from integrations.rentengine.models import Prospect
from tests.dashboard.conftest import ARI_ID, BO_ID, HOSTILE, LOCKBOX_MAPLE, World, event_record

pytestmark = pytest.mark.django_db


def ids_on(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'id="prospect-(\d+)" data-id', html)}


def test_the_default_view_is_mine_plus_unassigned(ari_client: Client, world: World) -> None:
    html = ari_client.get("/prospects/").content.decode()
    assert ids_on(html) == {12345, 12346, 12348, 12349}, "Bo's prospect and Birch's stay out"
    assert "Mine + unassigned" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("assignee=mine", {12345}),
        ("assignee=unassigned", {12346, 12348, 12349}),
        ("assignee=all", {12345, 12346, 12347, 12348, 12349}),
        (f"assignee={BO_ID}", {12347}),
        ("assignee=all&family=working", {12347}),
        ("assignee=all&family=open", {12345, 12346, 12347, 12348, 12349}),
        ("assignee=all&family=won", set()),
        ("assignee=all&status=Showing+Scheduled", {12345}),
        ("assignee=all&source=HotPads", {12348}),
        ("assignee=all&unit=3319", {12347, 12349}),
        ("assignee=all&q=una", {12346}),
        ("assignee=all&q=(555)+123-4567", {12345, 12349}),
        ("assignee=all&q=p12347@example.com", {12347}),
        ("assignee=all&created_from=2000-01-01&created_to=2000-01-02", set()),
        ("assignee=nonsense", {12345, 12346, 12348, 12349}),
    ],
)
def test_filters_narrow_the_list(ari_client: Client, world: World, query: str, expected: set[int]) -> None:
    assert ids_on(ari_client.get(f"/prospects/?{query}").content.decode()) == expected


def test_the_created_range_is_read_in_the_accounts_time_zone(ari_client: Client, world: World) -> None:
    first = Prospect.objects.get(pk=12345).created_at
    assert first is not None
    day = first.astimezone(ZoneInfo("America/Chicago")).date()
    on_day = ids_on(ari_client.get(f"/prospects/?assignee=all&created_from={day}&created_to={day}").content.decode())
    assert 12345 in on_day
    before = ids_on(ari_client.get(f"/prospects/?assignee=all&created_to={day - timedelta(days=1)}").content.decode())
    assert before == set()


def test_sorts_and_bad_cursors_do_not_break_the_page(ari_client: Client, world: World) -> None:
    for sort in ("newest", "oldest", "status", "follow_up", "name", "bogus"):
        assert ari_client.get(f"/prospects/?assignee=all&sort={sort}").status_code == 200
    response = ari_client.get("/prospects/?after=not-a-cursor")
    assert response.status_code == 200
    assert ids_on(response.content.decode()) == {12345, 12346, 12348, 12349}


def test_names_show_instead_of_uuids_and_hostile_names_are_escaped(ari_client: Client, world: World) -> None:
    html = ari_client.get("/prospects/?assignee=all").content.decode()
    assert "Ari Agent" in html
    assert "Bo Agent" in html
    assert f">{BO_ID}<" not in html, "ids only in option values, never as text"
    assert "User 9f9f9f" in html, "an unknown id reads as a short, stable label"
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html


def test_an_htmx_filter_swaps_only_the_results(ari_client: Client, world: World) -> None:
    response = ari_client.get("/prospects/?assignee=mine", headers={"HX-Request": "true", "HX-Target": "results"})
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="results"')
    assert "<html" not in html
    assert ids_on(html) == {12345}


def test_load_more_pages_by_keyset_and_appends_rows(ari_client: Client, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dashboard.views.prospect_pages.PAGE_SIZE", 2)
    html = ari_client.get("/prospects/?assignee=all").content.decode()
    first = ids_on(html)
    assert len(first) == 2
    cursor = re.search(r"after=([\w-]+)", html)
    assert cursor
    more = ari_client.get(
        f"/prospects/?assignee=all&after={cursor.group(1)}", headers={"HX-Request": "true", "HX-Target": "more-rows"}
    )
    part = more.content.decode()
    assert "<table" not in part
    assert "<html" not in part
    second = ids_on(part)
    assert len(second) == 2
    assert not (first & second)
    # Without JavaScript the same link is a whole page with a way back to the first page.
    page = ari_client.get(f"/prospects/?assignee=all&after={cursor.group(1)}").content.decode()
    assert ids_on(page) == second
    assert "Back to the first page" in page


def test_rows_carry_the_hooks_bulk_selection_and_live_updates_need(ari_client: Client, world: World) -> None:
    html = ari_client.get("/prospects/").content.decode()
    assert 'id="prospect-12345" data-id="12345"' in html
    assert 'id="rows"' in html
    assert 'id="list-notices"' in html


def test_the_list_stays_within_its_query_budget(ari_client: Client, world: World, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    with django_assert_max_num_queries(8):
        assert ari_client.get("/prospects/?assignee=all&unit=3318&source=Zillow&q=zo").status_code == 200
    with django_assert_max_num_queries(8):
        assert ari_client.get("/prospects/").status_code == 200


def test_a_stranger_is_sent_to_log_in(client: Client, world: World) -> None:
    for url in ("/prospects/", "/prospects/12345/", "/prospects/12345/quick/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_the_list_answers_only_get(ari_client: Client, world: World) -> None:
    assert ari_client.post("/prospects/").status_code == 405


# --- the prospect page -----------------------------------------------------------------------------


def test_the_prospect_page_tells_the_whole_story(ari_client: Client, world: World, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    with django_assert_max_num_queries(10):  # the live-update versions a page starts from included
        response = ari_client.get("/prospects/12345/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'Bo Agent</span> <span aria-label="to">→</span> <span class="new">Ari Agent' in html
    assert "Unassigned</span>" in html, "the first assignment reads Unassigned -> Bo"
    assert "Mia Manager" in html, "the actor of an assignment is named"
    assert "Showing Scheduler" in html, "sources show on rows"
    assert "Phone Call" in html
    assert "Code generated for Zoë Ñúñez (this prospect)" in html, "lockbox events sit inside the showing"
    assert f"/lockboxes/{LOCKBOX_MAPLE}/" in html
    assert 'class="tl-divider"' in html
    assert "Also enquired about" in html
    assert "/prospects/12349/" in html
    assert HOSTILE not in html


def test_timeline_chips_filter_by_type(ari_client: Client, world: World) -> None:
    html = ari_client.get(
        "/prospects/12345/?only=assignment", headers={"HX-Request": "true", "HX-Target": "timeline"}
    ).content.decode()
    assert html.lstrip().startswith('<div id="timeline"')
    assert html.count('data-kind="assignment"') == 2
    assert 'data-kind="note"' not in html
    notes = ari_client.get("/prospects/12345/?only=note").content.decode()
    assert notes.count('data-kind="note"') == 1
    assert 'data-kind="assignment"' not in notes
    lockbox = ari_client.get("/prospects/12345/?only=lockbox").content.decode()
    assert 'id="showing-70001"' in lockbox
    assert 'data-kind="status"' not in lockbox


def test_the_timeline_loads_older_rows_without_repeating(world: World) -> None:
    seen: list[str] = []
    cursor = None
    prospect = Prospect.objects.get(pk=12345)
    while True:
        page = timeline.prospect_timeline(prospect, zone=ZoneInfo("America/Chicago"), cursor=cursor, size=2)
        seen += [item.key for day in page.days for item in day.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 6, seen  # five events and one showing


def test_the_quick_view_is_a_fragment(ari_client: Client, world: World) -> None:
    html = ari_client.get("/prospects/12345/quick/").content.decode()
    assert "<html" not in html
    assert "data-close-quickview" in html
    assert "Zoë Ñúñez" in html
    assert "Ari Agent" in html


def test_another_accounts_prospect_is_a_404(ari_client: Client, world: World) -> None:
    assert ari_client.get("/prospects/22222/").status_code == 404
    assert ari_client.get("/prospects/22222/quick/").status_code == 404
    assert ari_client.get("/prospects/999999/").status_code == 404


def test_a_superuser_sees_any_accounts_prospect(client: Client, world: World, root) -> None:  # type: ignore[no-untyped-def]
    client.force_login(root)
    assert client.get("/prospects/22222/").status_code == 200


def test_times_show_in_the_accounts_time_zone(ari_client: Client, world: World, maple) -> None:  # type: ignore[no-untyped-def]
    maple.time_zone = "Asia/Tokyo"
    maple.save()
    created = Prospect.objects.get(pk=12345).created_at
    assert created is not None
    tokyo = created.astimezone(ZoneInfo("Asia/Tokyo"))
    html = ari_client.get("/prospects/12345/").content.decode()
    assert f"{tokyo:%b} {tokyo.day}, {tokyo.year}, {tokyo.strftime('%I').lstrip('0')}:{tokyo:%M}" in html


def test_a_burst_of_edits_by_one_person_folds_into_one_row(ari_client: Client, world: World) -> None:
    at = world.now - timedelta(hours=1)
    mirror.leasing_events_apply(
        [
            event_record(60, 12346, "Log Note", at, created_by=ARI_ID, notes="first"),
            event_record(61, 12346, "Log Note", at + timedelta(seconds=40), created_by=ARI_ID, notes="second"),
            event_record(62, 12346, "Contacted, Awaiting Information", at + timedelta(seconds=70), created_by=ARI_ID),
        ]
    )
    html = ari_client.get("/prospects/12346/").content.decode()
    assert "2 more by Ari Agent within two minutes" in html
    assert html.index('id="event-62"') < html.index('class="tl-fold"') < html.index('id="event-61"')


def test_a_prospect_whose_assignee_was_removed_counts_as_unassigned(ari_client: Client, world: World) -> None:
    mirror.leasing_events_apply(
        [
            event_record(
                70,
                12347,
                "Assign to User",
                world.now,
                source="Other",
                context={"assignedToUserIds": [], "previousAssignedToUserIds": [BO_ID]},
            )
        ]
    )
    assert 12347 in ids_on(ari_client.get("/prospects/?assignee=unassigned").content.decode())
    assert 12347 in ids_on(ari_client.get("/prospects/").content.decode())
