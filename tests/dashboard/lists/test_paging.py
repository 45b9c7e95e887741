"""Keyset pages and capped counts: every list page walks its rows this way."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.display.pills import count_label
from dashboard.lists.filtering import Sort
from dashboard.lists.paging import count_capped, cursor_for, keyset_page
from integrations.rentengine import mirror
from integrations.rentengine.models import Prospect
from tests.dashboard.conftest import MAPLE, prospect_record, stamp

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
    ordered = list(Prospect.objects.filter(id__gte=50_000).order_by("-created_at", "-id"))
    with CaptureQueriesContext(connection) as queries:
        page = keyset_page(Prospect.objects.filter(id__gte=50_000), sort, cursor=cursor_for(ordered[9], sort), size=5)
    assert len(queries) == 1
    assert [p.id for p in page.rows] == [p.id for p in ordered[10:15]], "the page starts right after the cursor's row"


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
