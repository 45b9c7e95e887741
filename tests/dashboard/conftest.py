"""A small world for the screens, written through the mirror's own apply functions (the path real
records take): Maple's units, prospects, events, a showing today and a lockbox around it; one Birch
unit, prospect and lockbox as the outsider's data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from integrations.rentengine import mirror
from integrations.rentengine.client import (
    LeasingEventRecord,
    LockboxEventRecord,
    LockboxRecord,
    ProspectRecord,
    ShowingRecord,
    UnitRecord,
    parse_record,
)
from tests.conftest import BIRCH_ID, MAPLE_ID

MAPLE = str(MAPLE_ID)
BIRCH = str(BIRCH_ID)
MIA_ID = "1259ef6e-61ee-42cb-b6bd-7fe547569d7c"
ARI_ID = "2a1f0c3e-1111-4aaa-8bbb-000000000001"
BO_ID = "2a1f0c3e-1111-4aaa-8bbb-000000000002"
STRANGER_ID = "9f9f9f9f-0000-4000-8000-0000000000ff"
LOCKBOX_MAPLE = "0b9c1e5e-1111-4bbb-8ccc-000000000001"
LOCKBOX_BIRCH = "0b9c1e5e-1111-4bbb-8ccc-000000000002"
HOSTILE = "<script>alert('x')</script>"
CHICAGO = ZoneInfo("America/Chicago")


def stamp(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("UTC")).isoformat().replace("+00:00", "Z")


def unit_record(unit_id: int, account: str, **overrides: Any) -> UnitRecord:
    raw: dict[str, Any] = {
        "id": unit_id,
        "account_id": account,
        "status": "Available",
        "address": {"formatted_address": f"{unit_id} Chesapeake Blvd", "city": "Norfolk", "state": "VA", "zip_code": "23503"},
        "bedrooms": "3",
        "bathrooms": "2",
        "target_rental_rate": "1,925",
        "showing_method": "Self Guided",
        "monthly_fees": [{"name": "Water/sewer/trash", "type": "dollar", "amount": "75"}],
        "created_at": "2026-01-01T12:00:00Z",
        "updated_at": "2026-01-02T12:00:00Z",
    }
    raw.update(overrides)
    return parse_record(UnitRecord, raw)


def prospect_record(prospect_id: int, account: str, name: str, **overrides: Any) -> ProspectRecord:
    raw: dict[str, Any] = {
        "id": prospect_id,
        "account_id": account,
        "name": name,
        "email": f"p{prospect_id}@example.com",
        "phone": f"+1 (555) 000-{prospect_id % 10000:04d}",
        "status": "New",
        "source": "zillow.com",
        "unit_of_interest": 3318,
        "created_at": "2026-02-01T12:00:00Z",
        "updated_at": "2026-02-01T12:00:00Z",
    }
    raw.update(overrides)
    return parse_record(ProspectRecord, raw)


def event_record(event_id: int, prospect_id: int, event_type: str, at: datetime, **overrides: Any) -> LeasingEventRecord:
    raw: dict[str, Any] = {"id": event_id, "prospect_id": prospect_id, "event_type": event_type, "source": "Phone Call",
                           "created_at": stamp(at), "context": {}}  # fmt: skip
    raw.update(overrides)
    return parse_record(LeasingEventRecord, raw)


@pytest.fixture(autouse=True)
def fast_passwords(settings) -> None:  # type: ignore[no-untyped-def]
    """The cast's five passwords cost seconds with the real hasher; these tests are not about it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class World:
    now: datetime
    showing_at: datetime


@pytest.fixture
def world(maple, birch, mia, ari, bo, cy) -> World:  # type: ignore[no-untyped-def]
    now = timezone.now()
    local_today = now.astimezone(CHICAGO).date()
    showing_at = datetime(local_today.year, local_today.month, local_today.day, 15, 0, tzinfo=CHICAGO)
    t0 = now - timedelta(days=3)
    mirror.units_apply([
        unit_record(3318, MAPLE),
        unit_record(3319, MAPLE, status="Leased", is_occupied=True, bedrooms="2", target_rental_rate="1500",
                    address={"formatted_address": "3319 Granby St", "city": "Chesapeake", "state": "VA"}),
        unit_record(9001, BIRCH, address={"formatted_address": "9001 Birch Rd", "city": "Richmond"}),
    ])  # fmt: skip
    mirror.prospects_apply([
        prospect_record(12345, MAPLE, "Zoë Ñúñez", phone="+1 (555) 123-4567", created_at=stamp(t0)),
        prospect_record(12346, MAPLE, "Una Unassigned", source="Rent.com", created_at=stamp(t0 + timedelta(hours=1))),
        prospect_record(12347, MAPLE, "Bea Bosperson", unit_of_interest=3319, created_at=stamp(t0 + timedelta(hours=2))),
        prospect_record(12348, MAPLE, HOSTILE, source="hotpads", created_at=stamp(t0 + timedelta(hours=3))),
        prospect_record(12349, MAPLE, "Zoë Ñúñez", phone="555.123.4567", unit_of_interest=3319, created_at=stamp(t0 + timedelta(hours=4))),
        prospect_record(22222, BIRCH, "Birch Person", unit_of_interest=9001),
    ])  # fmt: skip
    mirror.leasing_events_apply([
        event_record(1, 12345, "New", t0),
        event_record(2, 12345, "Assign to User", t0 + timedelta(minutes=5), source="Other", created_by=MIA_ID,
                     context={"assignedToUserIds": [BO_ID], "previousAssignedToUserIds": []}),
        event_record(3, 12345, "Assign to User", t0 + timedelta(minutes=30), source="Other", created_by=MIA_ID,
                     context={"assignedToUserIds": [ARI_ID], "previousAssignedToUserIds": [BO_ID]}),
        event_record(4, 12345, "Log Note", t0 + timedelta(hours=1), created_by=ARI_ID, notes=f"Called back {HOSTILE}"),
        event_record(5, 12345, "Showing Scheduled", t0 + timedelta(days=1), source="Showing Scheduler",
                     planned_date_time=stamp(showing_at)),
        event_record(6, 12347, "Assign to User", t0 + timedelta(minutes=5), source="Other", created_by=STRANGER_ID,
                     context={"assignedToUserIds": [BO_ID], "previousAssignedToUserIds": []}),
        event_record(7, 12347, "Contacted, Awaiting Information", t0 + timedelta(hours=2), created_by=BO_ID),
        event_record(8, 22222, "Assign to User", t0, source="Other", context={"assignedToUserIds": [ARI_ID]}),
    ])  # fmt: skip
    mirror.showings_apply(
        [parse_record(ShowingRecord, {"showing_id": 70001, "prospect_id": 12345, "property_address": "3318 Chesapeake Blvd",
                                      "prospect_name": "Zoë Ñúñez", "status": "Scheduled", "showing_agent": "Ari Agent",
                                      "planned_date_time": stamp(showing_at), "created_at": stamp(t0 + timedelta(days=1))})],
        account_id=MAPLE,
    )  # fmt: skip
    mirror.showings_apply(
        [parse_record(ShowingRecord, {"showing_id": 80001, "prospect_id": 22222, "property_address": "9001 Birch Rd",
                                      "prospect_name": "Birch Person", "status": "Scheduled",
                                      "planned_date_time": stamp(showing_at), "created_at": stamp(t0)})],
        account_id=BIRCH,
    )  # fmt: skip
    mirror.lockboxes_apply([
        parse_record(LockboxRecord, {"id": LOCKBOX_MAPLE, "lockbox_type": "Sentrilock", "serial_number": "1234567", "account_id": MAPLE,
                                     "created_at": stamp(t0 - timedelta(days=30)), "updated_at": stamp(t0 - timedelta(days=30))}),
        parse_record(LockboxRecord, {"id": LOCKBOX_BIRCH, "lockbox_type": "Codebox", "serial_number": "7654321", "account_id": BIRCH,
                                     "created_at": stamp(t0), "updated_at": stamp(t0)}),
    ])  # fmt: skip
    mirror.lockbox_events_apply([
        parse_record(LockboxEventRecord, {"id": "0b9c1e5e-2222-4bbb-8ccc-000000000001", "lockbox_id": LOCKBOX_MAPLE, "event_type": "Install",
                                          "unit_id": "3318", "account_id": MAPLE, "created_at": stamp(t0 - timedelta(days=20)),
                                          "metadata": {"installer_id": MIA_ID, "notes": "Installed on front door"}}),
        parse_record(LockboxEventRecord, {"id": "0b9c1e5e-2222-4bbb-8ccc-000000000002", "lockbox_id": LOCKBOX_MAPLE,
                                          "event_type": "Generate Code", "unit_id": "3318", "account_id": MAPLE,
                                          "created_at": stamp(showing_at - timedelta(hours=1)),
                                          "metadata": {"created_for": "Zoë Ñúñez", "code_type": "ACCESS", "valid_date": str(local_today)}}),
        parse_record(LockboxEventRecord, {"id": "0b9c1e5e-2222-4bbb-8ccc-000000000003", "lockbox_id": LOCKBOX_BIRCH, "event_type": "Install",
                                          "unit_id": "9001", "account_id": BIRCH, "created_at": stamp(t0)}),
    ])  # fmt: skip
    return World(now=now, showing_at=showing_at)
