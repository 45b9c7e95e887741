"""The helpers every screen relies on: keyset pages, names for user ids, capped counts, filter menus."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.keyset import Sort, count_capped, cursor_for, keyset_page
from dashboard.listing import distinct_values
from dashboard.people import people_in_account, people_names, person_name, user_label
from dashboard.presentation import count_label, lockbox_state, prospect_status_pill, unit_status_pill
from integrations.rentengine import mirror
from integrations.rentengine.models import Prospect, RentEngineUser
from tests.dashboard.conftest import ARI_ID, BO_ID, MAPLE, MIA_ID, STRANGER_ID, prospect_record, stamp

pytestmark = pytest.mark.django_db


def many_prospects(count: int, *, null_every: int = 0) -> None:
    base = timezone.now() - timedelta(days=10)
    records = []
    for n in range(count):
        created = None if null_every and n % null_every == 0 else stamp(base + timedelta(minutes=n // 2))  # pairs share a time
        records.append(prospect_record(50_000 + n, MAPLE, f"P{n:03d}", created_at=created, updated_at=stamp(base)))
    mirror.prospects_apply(records)


def walk(sort: Sort, size: int) -> list[int]:
    seen: list[int] = []
    cursor = None
    while True:
        page = keyset_page(Prospect.objects.filter(id__gte=50_000), sort, cursor=cursor, size=size)
        seen += [p.id for p in page.rows]
        if not page.has_next:
            return seen
        cursor = page.next_cursor


@pytest.mark.parametrize("descending", [True, False])
def test_keyset_pages_cover_every_row_once_in_order_nulls_last(maple, descending: bool) -> None:  # type: ignore[no-untyped-def]
    many_prospects(23, null_every=5)
    sort = Sort("created_at", descending)
    seen = walk(sort, size=4)
    assert len(seen) == len(set(seen)) == 23
    rows = {p.id: p.created_at for p in Prospect.objects.filter(id__gte=50_000)}
    valued = [i for i in seen if rows[i] is not None]
    assert seen[: len(valued)] == valued, "NULLs come after every value"
    key = [(rows[i], i) for i in valued]
    assert key == sorted(key, reverse=descending)


def test_keyset_pages_stay_stable_when_rows_arrive_mid_walk(maple) -> None:  # type: ignore[no-untyped-def]
    many_prospects(10)
    sort = Sort("created_at", True)
    first = keyset_page(Prospect.objects.filter(id__gte=50_000), sort, cursor=None, size=4)
    # A webhook inserts a newer prospect while the agent reads page one.
    mirror.prospects_apply([prospect_record(60_000, MAPLE, "Newcomer", created_at=stamp(timezone.now()))])
    second = keyset_page(Prospect.objects.filter(id__gte=50_000), sort, cursor=first.next_cursor, size=4)
    assert not {p.id for p in first.rows} & {p.id for p in second.rows}
    assert 60_000 not in {p.id for p in second.rows}


def test_a_deep_page_costs_one_query(maple) -> None:  # type: ignore[no-untyped-def]
    many_prospects(30)
    sort = Sort("created_at", True)
    tenth = Prospect.objects.filter(id__gte=50_000).order_by("-created_at", "-id")[9]
    with CaptureQueriesContext(connection) as queries:
        page = keyset_page(Prospect.objects.filter(id__gte=50_000), sort, cursor=cursor_for(tenth, sort), size=5)
    assert len(queries) == 1
    assert "OFFSET" not in queries[0]["sql"].upper()
    assert len(page.rows) == 5


def test_a_garbage_cursor_reads_as_the_first_page(maple) -> None:  # type: ignore[no-untyped-def]
    many_prospects(3)
    page = keyset_page(Prospect.objects.filter(id__gte=50_000), Sort("created_at", True), cursor="!!garbage", size=5)
    assert page.is_first
    assert len(page.rows) == 3


def test_counts_stop_at_their_cap(maple) -> None:  # type: ignore[no-untyped-def]
    many_prospects(12)
    assert count_capped(Prospect.objects.all(), 5) == 6
    assert count_label(6, 5) == "5+"
    assert count_label(1234, 10_000) == "1,234"


def test_names_resolve_in_one_query_team_members_first(world) -> None:  # type: ignore[no-untyped-def]
    RentEngineUser.objects.update_or_create(id=ARI_ID, defaults={"name": "Ari from RentEngine"})
    RentEngineUser.objects.update_or_create(id=STRANGER_ID, defaults={"name": "Sam Stranger"})
    with CaptureQueriesContext(connection) as queries:
        names = people_names([ARI_ID, STRANGER_ID, "00000000-0000-4000-8000-0000000000aa", None, "not a uuid"])
    assert len(queries) == 1
    assert names[ARI_ID] == "Ari Agent", "the team member's own name wins"
    assert names[STRANGER_ID] == "Sam Stranger"
    assert names["00000000-0000-4000-8000-0000000000aa"] == "User 000000"
    assert person_name(names, "Automation") == "Automation"
    assert user_label(MIA_ID) == "User 1259ef"


def test_people_in_account_lists_members_and_ids_seen_in_the_data(world) -> None:  # type: ignore[no-untyped-def]
    people = people_in_account(MAPLE)
    assert people[ARI_ID] == "Ari Agent"
    assert people[BO_ID] == "Bo Agent"
    assert people[STRANGER_ID] == "User 9f9f9f", "seen in Maple's events, never named"


def test_filter_menus_list_distinct_values_by_index_hops(world) -> None:  # type: ignore[no-untyped-def]
    assert distinct_values(Prospect, "source_normalized", account_id=MAPLE) == ["HotPads", "Rent.com", "Zillow"]


def test_presentation_tables_cover_unknown_values() -> None:
    assert prospect_status_pill("Something New From RentEngine").css == "fam-unknown"
    assert prospect_status_pill("Lease Signed").css == "fam-won"
    assert unit_status_pill("Mystery").css == "fam-unknown"
    now = timezone.now()
    assert lockbox_state(None, now, now) == "not_installed"
    assert lockbox_state(1, now - timedelta(days=20), now) == "quiet"
    assert lockbox_state(1, now - timedelta(days=1), now) == "installed"


def test_assignee_ids_ride_along_in_assignment_order() -> None:
    """with_assignee_ids reads every assignee in the prospects' own query, in position order (SQLite
    can't order an aggregate, so the order is restored from the positions)."""
    from dashboard.people import assignee_user_ids, with_assignee_ids
    from integrations.rentengine.models import ProspectAssignee

    mirror.prospects_apply([prospect_record(70_001, MAPLE, "Two People"), prospect_record(70_002, MAPLE, "Nobody")])
    ProspectAssignee.objects.create(prospect_id=70_001, user_id=MIA_ID, position=1)
    ProspectAssignee.objects.create(prospect_id=70_001, user_id=BO_ID, position=0)
    with CaptureQueriesContext(connection) as captured:
        rows = {p.id: p for p in with_assignee_ids(Prospect.objects.filter(id__in=[70_001, 70_002]))}
    assert len(captured) == 1
    assert assignee_user_ids(rows[70_001]) == [BO_ID, MIA_ID]
    assert assignee_user_ids(rows[70_002]) == []
