"""What live pages fetch with ordinary GETs when a notice arrives: the rows a list shows (and the
count of new matches for the "N new · show" pill), the versions a page starts from, the fallback
version check, and the lockbox-code alert."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from integrations.rentengine import mirror
from integrations.rentengine.client import LockboxEventRecord, parse_record
from integrations.rentengine.mirror import changes
from integrations.rentengine.models import Prospect
from tests.conftest import BIRCH_ID, MAPLE_ID
from tests.dashboard.conftest import LOCKBOX_BIRCH, LOCKBOX_MAPLE, MAPLE, World, event_record, prospect_record, stamp

pytestmark = pytest.mark.django_db


def live_rows(client: Client, path: str, ids: list[object], **extra: str) -> str:
    response = client.get(path, {"live": "rows", "ids": ",".join(map(str, ids)), **extra})
    assert response.status_code == 200
    return response.content.decode()


def row_ids(html: str, prefix: str) -> list[str]:
    return re.findall(rf'<tr id="{prefix}-([^"]+)"', html)


def pill(html: str) -> str:
    match = re.search(r'<div id="live-new">(.*?)</div>', html, re.S)
    assert match
    return re.sub(r"<[^>]+>", "", match[1]).strip()


# --- lists -------------------------------------------------------------------------------------------


def test_a_prospects_list_gets_its_rows_as_they_are_now_and_the_count_of_new_matches(ari_client: Client, world: World) -> None:
    on_screen = [12349, 12348, 12346, 12345]
    html = live_rows(ari_client, "/prospects/", on_screen)
    assert sorted(row_ids(html, "prospect")) == sorted(map(str, on_screen))
    assert pill(html) == "", "nothing new yet"

    mirror.leasing_events_apply([event_record(9, 12345, "Contacted, Awaiting Information", world.now)])
    mirror.prospects_apply([prospect_record(12350, MAPLE, "Newt Newcomer", created_at=stamp(world.now))])
    html = live_rows(ari_client, "/prospects/", on_screen)
    row = re.search(r'<tr id="prospect-12345".*?</tr>', html, re.S)
    assert row
    assert "Contacted" in row[0], "the row on screen comes back with its new status"
    assert "prospect-12350" not in html, "a new prospect is not pushed into the list..."
    assert pill(html) == "1 new · show", "...it is counted into the pill"
    assert 'hx-target="#results"' in html


def test_only_rows_of_the_account_on_screen_come_back_and_deleted_ones_are_marked(ari_client: Client, world: World) -> None:
    Prospect.objects.filter(pk=12346).update(deleted_at=timezone.now(), tombstone_reason="deleted")
    html = live_rows(ari_client, "/prospects/", [12345, 12346, 22222, "junk"])
    assert sorted(row_ids(html, "prospect")) == ["12345", "12346"], "Birch's prospect is not Maple's list's business"
    assert "Birch Person" not in html
    assert re.search(r'<tr id="prospect-12346" data-id="12346" class="gone">.*?deleted in RentEngine', html, re.S)


def test_new_matches_count_only_within_the_stretch_of_the_list_on_screen(ari_client: Client, world: World) -> None:
    # The page shows the newest two of Ari's list and has more below ("newest" walks ids downwards).
    mirror.prospects_apply([prospect_record(100, MAPLE, "Old Id, New Row"), prospect_record(99999, MAPLE, "Top Of The List")])
    html = live_rows(ari_client, "/prospects/", [12349, 12348], more="1")
    assert pill(html) == "1 new · show", "99999 sorts above the last row on screen; 100 far below it"
    html = live_rows(ari_client, "/prospects/", [12349, 12348, 12346, 12345], more="0")
    assert pill(html) == "2 new · show", "a list shown to its end counts every new match"
    assert pill(live_rows(ari_client, "/prospects/", [12349, 12348], more="1", count_new="0")) == ""


def test_units_and_lockboxes_lists_patch_their_rows_too(ari_client: Client, world: World) -> None:
    html = live_rows(ari_client, "/units/", [3318, 3319, 9001])
    assert sorted(row_ids(html, "unit")) == ["3318", "3319"]
    html = live_rows(ari_client, "/lockboxes/", [LOCKBOX_MAPLE, LOCKBOX_BIRCH, "not-a-uuid"])
    assert row_ids(html, "lockbox") == [LOCKBOX_MAPLE]
    assert pill(html) == ""


# --- what a page starts from ---------------------------------------------------------------------


def page_versions(html: str) -> dict[str, int]:
    match = re.search(r'data-live-versions="([^"]+)"', html)
    assert match
    return json.loads(match[1].replace("&quot;", '"'))


def test_a_page_carries_the_versions_it_was_rendered_from_for_its_own_accounts_only(ari_client: Client, world: World) -> None:
    changes._bump_now([f"prospects:{MAPLE_ID}", f"prospects:{BIRCH_ID}"])  # what scopes_bump runs once committed
    html = ari_client.get("/prospects/").content.decode()
    versions = page_versions(html)
    assert versions[f"prospects:{MAPLE_ID}"] >= 1
    assert not any(str(BIRCH_ID) in scope for scope in versions)
    assert {"sync", "assignments"} <= versions.keys()
    assert f'data-live-alerts="lockboxes:{MAPLE_ID}"' in html
    assert f'data-live="prospects:{MAPLE_ID}"' in html
    assert 'id="live-indicator"' in html


def test_the_versions_are_read_before_the_view_reads_any_data(
    ari_client: Client, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bump landing while the view renders must not be swallowed: the page claims the version from
    before its queries, so the next hello or poll sees a newer one and refetches."""
    from dashboard.lists.filters import ProspectFilter

    real = ProspectFilter.filter_queryset

    def filtered_while_a_change_lands(*args, **kwargs):  # type: ignore[no-untyped-def]
        changes._bump_now([f"prospects:{MAPLE_ID}"])
        return real(*args, **kwargs)

    before = changes.scope_versions([f"prospects:{MAPLE_ID}"])[f"prospects:{MAPLE_ID}"]
    monkeypatch.setattr(ProspectFilter, "filter_queryset", filtered_while_a_change_lands)
    html = ari_client.get("/prospects/").content.decode()
    assert page_versions(html)[f"prospects:{MAPLE_ID}"] == before
    assert changes.scope_versions([f"prospects:{MAPLE_ID}"])[f"prospects:{MAPLE_ID}"] == before + 1


# --- alerts --------------------------------------------------------------------------------------


def code(n: int, lockbox: str, unit: str, account: str, *, ago: timedelta = timedelta(0)) -> LockboxEventRecord:
    when = timezone.now() - ago
    return parse_record(
        LockboxEventRecord,
        {"id": f"0b9c1e5e-3333-4bbb-8ccc-{n:012d}", "lockbox_id": lockbox, "event_type": "Generate Code", "unit_id": unit,
         "account_id": account, "created_at": stamp(when), "metadata": {"created_for": "Vic Visitor", "code_type": "ACCESS"}},
    )  # fmt: skip


def alert_ids(client: Client) -> list[str]:
    html = client.get("/live/alerts/").content.decode()
    return re.findall(r'data-alert-id="([^"]+)"', html)


def test_a_code_for_a_unit_with_no_showing_near_it_raises_an_alert_for_its_account_only(
    mia_client: Client,
    client: Client,
    cy,
    world: World,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.LOCKBOX_ALERT_WINDOW_MINUTES = 24 * 60  # 3318's 3 pm showing is "near" whatever the time of the run
    mirror.lockbox_events_apply([
        code(1, LOCKBOX_MAPLE, "3319", MAPLE),  # 3319 has no showing today: alert
        code(2, LOCKBOX_MAPLE, "3318", MAPLE),  # 3318 has one at 3 pm: fine
        code(3, LOCKBOX_MAPLE, "3319", MAPLE, ago=timedelta(hours=5)),  # old news arriving late: no alert
        code(4, LOCKBOX_MAPLE, "3319", MAPLE, ago=timedelta(minutes=30)),  # a backfill's, not a webhook's: no alert
    ])  # fmt: skip
    assert alert_ids(mia_client) == ["0b9c1e5e-3333-4bbb-8ccc-000000000001"]
    html = mia_client.get("/live/alerts/").content.decode()
    for shown in ("no showing near it", "Vic Visitor", "3319 Granby St"):
        assert shown in html

    client.force_login(cy)
    assert alert_ids(client) == [], "Birch's agent hears nothing of Maple's lockboxes"
