"""One way of writing times: "12:42 PM" everywhere (never Django's "12:42 p.m."), in the account's
zone; CSV files say which zone their times are in (ISO 8601 with the offset)."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from integrations.rentengine.models import Account, Prospect
from tests.dashboard.conftest import BIRCH, World

pytestmark = pytest.mark.django_db

ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


def test_csv_times_carry_the_accounts_offset(ari_client: Client, world: World) -> None:
    body = b"".join(ari_client.get("/prospects/export.csv").streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    created = rows[0].index("Created")
    row = next(r for r in rows if r[0] == "12345")
    assert ISO_WITH_OFFSET.match(row[created]), row[created]
    stored = Prospect.objects.get(pk=12345).created_at
    assert datetime.fromisoformat(row[created]) == stored.replace(microsecond=0)
    assert row[created].endswith(stored.astimezone(ZoneInfo("America/Chicago")).strftime("%z")[:3] + ":00")


def test_pages_write_times_as_12_42_pm(ari_client: Client, world: World) -> None:
    for path in ("/prospects/12345/", "/lockboxes/", "/units/3318/", "/showings/"):
        html = ari_client.get(path).content.decode()
        assert "a.m." not in html, path
        assert "p.m." not in html, path
    html = ari_client.get("/prospects/12345/").content.decode()
    assert re.search(r"\b\d{1,2}:\d\d (AM|PM)\b", html)


def test_the_top_bar_time_follows_the_accounts_zone_and_names_it_when_zones_differ(ari_client: Client, world: World, ari) -> None:  # type: ignore[no-untyped-def]
    html = ari_client.get("/units/").content.decode()
    assert 'data-time-zone="America/Chicago"' in html
    assert 'data-zone-label=""' in html
    Account.objects.filter(pk=BIRCH).update(time_zone="America/New_York")
    ari.team_member.accounts.add(Account.objects.get(pk=BIRCH))
    html = ari_client.get("/units/").content.decode()
    assert 'data-zone-label="yes"' in html
