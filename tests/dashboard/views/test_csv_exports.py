"""CSV export: each list's file is the list as filtered (same rows, same order), text that Excel
opens as UTF-8 and never as a formula, streamed so a large list never sits in memory."""

from __future__ import annotations

import csv
import io
import re
import tracemalloc
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.http import StreamingHttpResponse
from django.test import AsyncRequestFactory, Client
from django.utils import timezone

from dashboard.views import csv_exports as export
from integrations.rentengine.models import Prospect
from tests.dashboard.conftest import ARI_ID, HOSTILE, LOCKBOX_MAPLE, MAPLE, World

pytestmark = pytest.mark.django_db


def read_csv(response: StreamingHttpResponse) -> list[list[str]]:
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    body = b"".join(response.streaming_content)  # type: ignore[arg-type]
    assert body.startswith(b"\xef\xbb\xbf"), "a byte-order mark, so Excel reads UTF-8"
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def ids_on(html: str, kind: str) -> list[str]:
    return re.findall(rf'id="{kind}-([\w-]+)" data-id', html)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "assignee=all",
        "assignee=mine",
        "assignee=unassigned&sort=name",
        f"assignee={ARI_ID}",
        "assignee=all&family=open&sort=oldest",
        "assignee=all&source=HotPads",
        "assignee=all&unit=3319",
        "assignee=all&q=555-123-4567",
        "assignee=all&sort=follow_up",
    ],
)
def test_the_prospects_csv_is_the_filtered_list(ari_client: Client, world: World, query: str) -> None:
    listed = ids_on(ari_client.get(f"/prospects/?{query}").content.decode(), "prospect")
    rows = read_csv(ari_client.get(f"/prospects/export.csv?{query}"))
    assert rows[0][:2] == ["Prospect id", "Name"]
    assert [r[0] for r in rows[1:]] == listed


def test_the_prospects_csv_keeps_names_and_non_ascii_text(ari_client: Client, world: World) -> None:
    rows = {r[0]: r for r in read_csv(ari_client.get("/prospects/export.csv?assignee=all"))[1:]}
    assert rows["12345"][1] == "Zoë Ñúñez"
    assert rows["12345"][9] == "Ari Agent"
    assert rows["12347"][9] == "Bo Agent"
    assert rows["12348"][1] == HOSTILE, "CSV is not HTML: the text itself, unescaped"
    assert rows["12347"][5] == "Working"


def test_cells_that_a_spreadsheet_would_run_as_formulas_are_defused(ari_client: Client, world: World) -> None:
    hostile = {
        12345: '=HYPERLINK("http://evil.example","click")',
        12346: "+1 555 0100",
        12347: "-2+3+cmd|' /C calc'!A0",
        12348: "@SUM(1+1)",
        12349: "\tTabbed",
    }
    for pk, name in hostile.items():
        Prospect.objects.filter(pk=pk).update(name=name)
    Prospect.objects.filter(pk=12346).update(email="\rcarriage@example.com")
    rows = {r[0]: r for r in read_csv(ari_client.get("/prospects/export.csv?assignee=all"))[1:]}
    for pk, name in hostile.items():
        assert rows[str(pk)][1] == "'" + name
    assert rows["12346"][2] == "'\rcarriage@example.com"
    assert rows["12345"][0] == "12345", "our own numbers stay numbers"


def test_the_units_lockboxes_and_activity_csvs_are_their_lists(ari_client: Client, world: World) -> None:
    for query in ("", "lockbox=yes", "status=Leased", "sort=rent_high"):
        listed = ids_on(ari_client.get(f"/units/?{query}").content.decode(), "unit")
        rows = read_csv(ari_client.get(f"/units/export.csv?{query}"))
        assert [r[0] for r in rows[1:]] == listed
    rows = read_csv(ari_client.get("/units/export.csv?lockbox=yes"))
    assert rows[1][11] == "1234567"

    rows = read_csv(ari_client.get("/lockboxes/export.csv"))
    assert [r[0] for r in rows[1:]] == [LOCKBOX_MAPLE], "Birch's box stays out"
    assert rows[1][3] == "Installed"

    rows = read_csv(ari_client.get("/lockboxes/activity/export.csv"))
    assert [r[1] for r in rows[1:]] == ["Generate Code", "Install"], "newest first, Maple's only"
    assert rows[1][2] == "Code generated for Zoë Ñúñez"
    assert rows[1][9] == "70001", "matched to the showing, as on screen"
    assert rows[2][7] == "Mia Manager"
    assert len(read_csv(ari_client.get("/lockboxes/activity/export.csv?type=Install"))) == 2


def test_the_showings_csv_is_the_agenda(ari_client: Client, world: World) -> None:
    rows = read_csv(ari_client.get("/showings/export.csv?view=week"))
    assert [r[3] for r in rows[1:]] == ["Zoë Ñúñez"]
    assert rows[1][6] == "Ari Agent"
    assert rows[1][8] == "Showing Scheduled"
    assert len(read_csv(ari_client.get("/showings/export.csv?agent=Nobody"))) == 1


def test_export_needs_a_login_and_an_account(client: Client, world: World) -> None:
    assert client.get("/prospects/export.csv")["Location"].startswith("/login/")
    loner = User.objects.create_user(username="loner", password="x")
    client.force_login(loner)
    assert client.get("/prospects/export.csv").status_code == 404


def _many_prospects(n: int) -> None:
    now = timezone.now()
    Prospect.objects.bulk_create(
        [
            Prospect(id=1_000_000 + i, account_id=MAPLE, name=f"Bulk Prospect {i} Ñ", email=f"b{i}@example.com",
                     phone="555-0100", status="New", status_family="new", source_normalized="Zillow",
                     created_at=now - timedelta(minutes=i), synced_at=now, raw={"filler": "x" * 400})
            for i in range(n)
        ],
        batch_size=2_000,
    )  # fmt: skip


def test_a_large_export_streams_without_holding_the_rows(ari_client: Client, world: World) -> None:
    n = 10_000
    _many_prospects(n)
    response = ari_client.get("/prospects/export.csv?assignee=all")
    assert response.streaming
    tracemalloc.start()
    lines = 0
    size = 0
    try:
        for chunk in response.streaming_content:  # type: ignore[union-attr]
            lines += chunk.count(b"\n")
            size += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lines == n + 5 + 1
    # The rows held at once cost ~2.3 KB each: all 10,000 would be ~23 MB; one fetch of 1,000, ~5 MB.
    assert peak < 10 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.1f} MB file"


def test_under_asgi_the_chunks_are_handed_over_one_by_one(world: World) -> None:
    request = AsyncRequestFactory().get("/prospects/export.csv", {"assignee": "all"})
    request.user = User.objects.get(username="ari")
    request.session = {}  # type: ignore[assignment]
    response = export.prospects_csv(request)
    assert response.is_async, "an async iterator: Django would read a sync one whole under ASGI"

    async def body() -> bytes:
        return b"".join([chunk async for chunk in response])

    text = async_to_sync(body)().decode("utf-8-sig")
    assert [r[0] for r in csv.reader(io.StringIO(text))][1:] == ["12349", "12348", "12347", "12346", "12345"]
