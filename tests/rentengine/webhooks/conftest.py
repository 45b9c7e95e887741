"""What webhook tests share: the accepted keys, rows shaped like RentEngine's webhook rows, and a
`deliver` that posts a delivery the way QStash does (JSON body, key header, Upstash headers)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import LazySettings
from django.http import HttpResponse
from django.test import Client

from integrations.rentengine.models import Account
from integrations.rentengine.webhooks import receive as webhooks
from tests.conftest import MAPLE_ID

URL = "/webhooks/rentengine/"
KEY = "current-key-0123456789abcdef"
OLD_KEY = "previous-key-fedcba9876543210"
ACCOUNT = str(MAPLE_ID)
LOCKBOX = "0b9c1e5e-1111-4bbb-8ccc-000000000001"
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


@pytest.fixture(autouse=True)
def webhook_key(settings: LazySettings) -> str:
    settings.RENTENGINE_WEBHOOK_API_KEY = KEY
    settings.RENTENGINE_WEBHOOK_API_KEY_PREVIOUS = ""
    settings.RENTENGINE_WEBHOOK_HEADER = "X-API-Key"
    return KEY


@pytest.fixture(autouse=True)
def known_account(maple: Account) -> Account:
    """Maple is an account our token lists (a sync made it): deliveries for it are applied."""
    return maple


@pytest.fixture
def no_enqueue(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Deliveries are stored but no worker is asked to apply them (the test applies, or sweeps)."""
    calls: list[int] = []
    monkeypatch.setattr(webhooks, "deliveries_apply_soon", lambda: calls.append(1))
    return calls


# --- rows as RentEngine's webhooks carry them (raw table rows, API-FACTS 3.1) ----------------------


def unit_row(
    unit_id: int = 3318, *, version: float = 1, status: str = "Available", rent: str = "1925", **extra: Any
) -> dict[str, Any]:
    """The units webhook's column subset: no address, numbers as strings."""
    row = {"id": unit_id, "account_id": ACCOUNT, "status": status, "property_type": "CONDO", "bedrooms": "3", "bathrooms": "2",
           "sqft": "1378", "target_rental_rate": rent, "is_occupied": False, "created_at": at(0), "updated_at": at(version)}  # fmt: skip
    row.update(extra)
    return row


def prospect_row(prospect_id: int = 12345, *, version: float = 0, status: str = "New", **extra: Any) -> dict[str, Any]:
    row = {"id": prospect_id, "account_id": ACCOUNT, "name": "Zoë Ñúñez", "email": "zoe@example.com", "phone": "+1 555 123 4567",
           "status": status, "source": "Zillow", "unit_of_interest": 3318, "created_at": at(0), "updated_at": at(version)}  # fmt: skip
    row.update(extra)
    return row


def leasing_event_row(
    event_id: int, event_type: str, minutes: float, *, prospect_id: int = 12345, **extra: Any
) -> dict[str, Any]:
    row = {"id": event_id, "prospect_id": prospect_id, "event_type": event_type, "source": "Phone Call", "notes": None,
           "context": {}, "planned_date_time": None, "next_follow_up": None, "created_by": None, "deleted": False,
           "created_at": at(minutes)}  # fmt: skip
    row.update(extra)
    return row


def lockbox_row(*, version: float = 0) -> dict[str, Any]:
    return {"id": LOCKBOX, "lockbox_type": "Sentrilock", "serial_number": "1234567", "account_id": ACCOUNT,
            "created_at": at(0), "updated_at": at(version)}  # fmt: skip


def lockbox_event_row(n: int, event_type: str, minutes: float, unit_id: str = "3318", data: Any = None) -> dict[str, Any]:
    """The webhook row: `data` where the REST API says `metadata`, no account_id, unit_id a string."""
    return {"id": f"0b9c1e5e-2222-4bbb-8ccc-{n:012d}", "lockbox_id": LOCKBOX, "event_type": event_type, "unit_id": unit_id,
            "created_at": at(minutes), "data": data}  # fmt: skip


def insert(table: str, record: dict[str, Any]) -> dict[str, Any]:
    return {"type": "INSERT", "table": table, "schema": "public", "record": record, "old_record": None}


def update(table: str, record: dict[str, Any], old_record: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "UPDATE", "table": table, "schema": "public", "record": record, "old_record": old_record or record}


def delete(table: str, old_record: dict[str, Any]) -> dict[str, Any]:
    return {"type": "DELETE", "table": table, "schema": "public", "record": None, "old_record": old_record}


def deliver(
    client: Client,
    payload: dict[str, Any] | bytes | str,
    *,
    key: str | None = KEY,
    message_id: str | None = None,
    retried: int | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    body = payload if isinstance(payload, bytes | str) else json.dumps(payload)
    sent = dict(headers or {})
    if key is not None:
        sent["X-API-Key"] = key
    if message_id is not None:
        sent["Upstash-Message-Id"] = message_id
    if retried is not None:
        sent["Upstash-Retried"] = str(retried)
    return client.post(URL, data=body, content_type="application/json", headers=sent)
