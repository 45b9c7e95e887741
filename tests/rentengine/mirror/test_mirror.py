"""The mirror takes records in any order and converges: older states never win, tombstones hold,
derived state (status, assignees, a lockbox's unit) follows the stored events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from integrations.rentengine import mirror
from integrations.rentengine.client import (
    LeasingEventRecord,
    LockboxEventRecord,
    LockboxRecord,
    ProspectRecord,
    UnitRecord,
    parse_record,
)
from integrations.rentengine.models import Account, LeasingEvent, Lockbox, Prospect, ProspectAssignee, Unit

pytestmark = pytest.mark.django_db

ACCOUNT = "6ecca3ec-0000-4000-8000-00000000a001"
ALICE = "1259ef6e-61ee-42cb-b6bd-7fe547569d7c"
BOB = "2a1f0c3e-1111-4aaa-8bbb-000000000002"
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def at(minutes: int) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def unit(**overrides: Any) -> UnitRecord:
    raw = {
        "id": 3318,
        "account_id": ACCOUNT,
        "status": "Available",
        "address": {"formatted_address": "9117 Chesapeake Blvd #5", "city": "Norfolk", "state": "Virginia", "zip_code": "23503",
                    "coordinates": [-76.2, 36.9]},
        "bedrooms": "3",
        "bathrooms": "2.5",
        "sqft": "1378",
        "target_rental_rate": "1,925",
        "monthly_fees": [{"name": "Resident Benefits Package", "type": "dollar", "amount": 45.95},
                         {"name": "Water/sewer/trash", "type": "dollar", "amount": "75"}],
        "marketing_photos": [{"path": "internal/1.jpg", "hidden": False, "original": "https://img.example/1.jpg"},
                             {"path": "internal/2.jpg", "hidden": True, "original": "https://img.example/2.jpg"}],
        "highlighted_amenities": "None",
        "created_at": at(0),
        "updated_at": at(1),
        "brand_new_field": {"kept": True},
    }  # fmt: skip
    raw.update(overrides)
    return parse_record(UnitRecord, raw)


def prospect(**overrides: Any) -> ProspectRecord:
    raw = {"id": 12345, "account_id": ACCOUNT, "name": "Zoë Ñúñez", "email": None, "phone": "+1 (555) 123-4567",
           "status": "New", "source": "zillow.com", "unit_of_interest": 3318, "created_at": at(0), "updated_at": at(0)}  # fmt: skip
    raw.update(overrides)
    return parse_record(ProspectRecord, raw)


def event(event_id: int, event_type: str, minutes: int, **overrides: Any) -> LeasingEventRecord:
    raw = {
        "id": event_id,
        "prospect_id": 12345,
        "event_type": event_type,
        "source": "Phone Call",
        "created_at": at(minutes),
        "context": {},
    }
    raw.update(overrides)
    return parse_record(LeasingEventRecord, raw)


def test_a_quirky_unit_round_trips_into_typed_columns_and_keeps_its_raw_json() -> None:
    applied = mirror.units_apply([unit()])
    assert applied.changed_ids == [3318]
    row = Unit.objects.get()
    assert (row.bedrooms, row.bathrooms, row.sqft, row.rent) == (Decimal(3), Decimal("2.5"), 1378, Decimal(1925))
    assert row.address == "9117 Chesapeake Blvd #5"
    assert row.latitude == Decimal("36.900000")
    assert [f["amount"] for f in row.fees] == ["45.95", "75"]
    assert row.photos == ["https://img.example/1.jpg"]
    assert row.raw["brand_new_field"] == {"kept": True}
    assert Account.objects.filter(id=ACCOUNT).exists(), "accounts are discovered from the data"


def test_applying_the_same_records_again_changes_nothing() -> None:
    mirror.units_apply([unit()])
    assert mirror.units_apply([unit()]).changed == 0


def test_an_older_version_never_overwrites_a_newer_one() -> None:
    mirror.units_apply([unit(status="Leased", updated_at=at(10))])
    assert mirror.units_apply([unit(status="Available", updated_at=at(5))]).changed == 0
    assert Unit.objects.get().status == "Leased"
    assert mirror.units_apply([unit(status="On Hold", updated_at=at(11))]).changed == 1
    assert Unit.objects.get().status == "On Hold"


def test_a_batch_with_two_versions_of_a_row_keeps_the_newest() -> None:
    mirror.units_apply([unit(status="On Hold", updated_at=at(9)), unit(status="Leased", updated_at=at(3))])
    assert Unit.objects.get().status == "On Hold"


def test_a_deleted_row_is_not_brought_back_by_a_late_update() -> None:
    mirror.units_apply([unit(updated_at=at(5))])
    mirror.rows_tombstone(Unit, [3318], reason="deleted", version=T0 + timedelta(minutes=5))
    assert mirror.units_apply([unit(status="Leased", updated_at=at(4))]).changed == 0
    assert mirror.units_apply([unit(status="Leased", updated_at=at(5))]).changed == 0
    assert Unit.objects.get().deleted_at is not None


def test_a_row_missing_from_full_passes_comes_back_when_seen_again() -> None:
    mirror.units_apply([unit()])
    mirror.rows_tombstone(Unit, [3318], reason="missing")
    assert Unit.objects.alive().count() == 0
    assert mirror.units_apply([unit()]).changed == 1
    assert Unit.objects.alive().count() == 1


def test_a_garbage_number_does_not_fail_the_batch() -> None:
    mirror.units_apply([unit(target_rental_rate="999999999999999", bedrooms="lots"), unit(id=2, updated_at=at(2))])
    assert Unit.objects.get(id=3318).rent is None
    assert Unit.objects.get(id=3318).bedrooms is None
    assert Unit.objects.count() == 2


def test_prospect_status_is_the_latest_pipeline_event_in_any_arrival_order() -> None:
    events = [event(1, "New", 0), event(2, "Showing Scheduled", 5), event(3, "Log Note", 7), event(4, "Application Received", 6)]
    mirror.leasing_events_apply(list(reversed(events)))  # events before their prospect
    mirror.prospects_apply([prospect()])
    row = Prospect.objects.get()
    assert (row.status, row.status_family) == ("Application Received", "application")
    assert row.phone_digits == "5551234567"
    assert row.source_normalized == "Zillow"
    assert LeasingEvent.objects.filter(account__isnull=True).count() == 0, "events get their prospect's account"


def test_a_newer_prospect_record_beats_an_older_event() -> None:
    mirror.prospects_apply([prospect(status="Not Interested", updated_at=at(30))])
    mirror.leasing_events_apply([event(1, "Showing Scheduled", 20)])
    assert Prospect.objects.get().status == "Not Interested"


def test_assignees_follow_the_latest_assign_event_and_not_older_ones() -> None:
    mirror.prospects_apply([prospect()])
    assign_bob = event(11, "Assign to User", 10, context={"assignedToUserIds": [BOB], "previousAssignedToUserIds": [ALICE]})
    assign_alice = event(10, "Assign to User", 5, context={"assignedToUserIds": [ALICE], "previousAssignedToUserIds": []})
    mirror.leasing_events_apply([assign_bob])
    mirror.leasing_events_apply([assign_alice])  # late delivery of an older assignment
    assert [str(a.user_id) for a in ProspectAssignee.objects.all()] == [BOB]
    assert Prospect.objects.get().status == "New", "assignment is not a status"
    mirror.rows_tombstone(LeasingEvent, [11], reason="deleted")
    assert [str(a.user_id) for a in ProspectAssignee.objects.all()] == [ALICE]


def test_the_same_event_from_a_webhook_a_get_and_a_post_response_is_one_row() -> None:
    mirror.prospects_apply([prospect()])
    post_shape = parse_record(LeasingEventRecord, {"id": 7, "prospect": 12345, "event_type": "Assign to User", "created_at": at(3),
                                                    "context": {"assignedToUserIds": [ALICE]}})  # fmt: skip
    get_shape = event(
        7, "Assign to User", 3, context={"assignedToUserIds": [ALICE]}, unit_of_interest=3318, property_address="9117 Chesapeake"
    )
    assert mirror.leasing_events_apply([post_shape]).changed == 1
    assert mirror.leasing_events_apply([get_shape]).changed == 0
    assert LeasingEvent.objects.count() == 1


def test_a_lockbox_is_on_the_unit_of_its_latest_install() -> None:
    box = "0b9c1e5e-1111-4bbb-8ccc-000000000001"
    mirror.lockboxes_apply([parse_record(LockboxRecord, {"id": box, "lockbox_type": "Sentrilock", "serial_number": "1234567",
                                                         "account_id": ACCOUNT, "created_at": at(0), "updated_at": at(0)})])  # fmt: skip

    def lockbox_event(n: int, kind: str, minutes: int, unit_id: str) -> LockboxEventRecord:
        # webhook shape: `data` instead of `metadata`, no account_id, unit_id a string
        return parse_record(LockboxEventRecord, {"id": f"0b9c1e5e-2222-4bbb-8ccc-00000000000{n}", "lockbox_id": box, "event_type": kind,
                                                 "unit_id": unit_id, "created_at": at(minutes), "data": None})  # fmt: skip

    mirror.lockbox_events_apply(
        [lockbox_event(3, "Install", 20, "77"), lockbox_event(1, "Install", 1, "55"), lockbox_event(2, "Uninstall", 10, "55")]
    )
    row = Lockbox.objects.get()
    assert row.current_unit_id == 77
    assert row.last_event_at == T0 + timedelta(minutes=20)
    mirror.lockbox_events_apply([lockbox_event(4, "Uninstall", 30, "77")])
    assert Lockbox.objects.get().current_unit_id is None
