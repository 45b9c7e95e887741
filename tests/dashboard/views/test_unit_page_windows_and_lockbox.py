"""The unit page: showing windows per day as ranges (not a wall of 30-minute slots), and a unit whose
lockbox came off says so ("Lockbox removed on ...") above its labelled history."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from integrations.rentengine import mirror
from integrations.rentengine.client import LockboxEventRecord, parse_record
from integrations.rentengine.models import Lockbox, UnitAvailability
from tests.dashboard.conftest import CHICAGO, LOCKBOX_MAPLE, MAPLE, World, stamp

pytestmark = pytest.mark.django_db


def half_hours(start: datetime, until: datetime) -> list[dict[str, str]]:
    slots = []
    while start < until:
        slots.append({"start": stamp(start), "end": stamp(start + timedelta(minutes=30))})
        start += timedelta(minutes=30)
    return slots


def test_windows_show_per_day_as_ranges(ari_client: Client, world: World) -> None:
    windows = []
    for offset in range(1, 21):  # 20 days of 9-12 and 2-6 in half hours: 280 slots
        day = (world.now + timedelta(days=offset)).astimezone(CHICAGO).date()
        at = datetime(day.year, day.month, day.day, tzinfo=CHICAGO)
        windows += half_hours(at + timedelta(hours=9), at + timedelta(hours=12))
        windows += half_hours(at + timedelta(hours=14), at + timedelta(hours=18))
    UnitAvailability.objects.create(
        unit_id=3318, data={"unitId": 3318, "availableShowingWindows": windows}, fetched_at=timezone.now()
    )
    html = ari_client.get("/units/3318/").content.decode()
    first = (world.now + timedelta(days=1)).astimezone(CHICAGO)
    assert f"{first:%a, %b} {first.day}</time>: 9:00 AM-12:00 PM, 2:00 PM-6:00 PM</li>" in html
    assert html.count("9:00 AM-12:00 PM") == 14
    assert "and windows on 6 more days" in html
    assert "9:00 AM-9:30 AM" not in html


def test_a_unit_whose_box_came_off_says_when(ari_client: Client, world: World) -> None:
    removed = world.now - timedelta(days=2)
    mirror.lockbox_events_apply(
        [
            parse_record(
                LockboxEventRecord,
                {"id": "0b9c1e5e-2222-4bbb-8ccc-000000000009", "lockbox_id": LOCKBOX_MAPLE, "event_type": "Uninstall",
                 "unit_id": "3318", "account_id": MAPLE, "created_at": stamp(removed)},
            )
        ]
    )  # fmt: skip
    Lockbox.objects.filter(pk=LOCKBOX_MAPLE).update(current_unit_id=None)
    html = ari_client.get("/units/3318/").content.decode()
    local = removed.astimezone(CHICAGO)
    assert "Lockbox removed on <time datetime=" in html
    assert f">{local:%b} {local.day}, {local.year}</time>" in html
    assert "No lockbox on this unit" not in html
    assert "<h2>Lockbox history</h2>" in html
    assert "Boxes that were on this unit before" in html


def test_a_unit_with_its_box_keeps_the_plain_timeline(ari_client: Client, world: World) -> None:
    html = ari_client.get("/units/3318/").content.decode()
    assert "<h2>Lockbox timeline</h2>" in html
    assert "Lockbox removed" not in html
