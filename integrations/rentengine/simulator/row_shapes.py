"""Row shapes shared by the seed and by live changes: how each record looks on the REST API and as
the raw table row a webhook carries (API-FACTS 2.2, 2.4, 2.8, 3.1 and the Gaps table).
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from .state import Row

# The units webhook sends a column subset (API-FACTS 2.4, D7), numbers as strings; address is
# left out (the raw column is an address-record id, not the object the REST API expands).
UNIT_WEBHOOK_COLUMNS = (
    "id", "account_id", "status", "property_type", "highlighted_amenities", "bedrooms", "bathrooms", "sqft", "furnished",
    "renovated", "num_parking_spots", "laundry", "target_rental_rate", "is_occupied", "earliest_move_in_date",
    "allow_cooperating_brokers", "desired_lease_duration_months", "pets_allowed", "pet_restrictions", "hoa_app_required",
    "hoa_app_fee", "hoa_application_url", "key_access", "showing_method", "subteam_id", "created_at", "updated_at",
)  # fmt: skip
PROSPECT_WEBHOOK_COLUMNS = (
    "id", "name", "email", "phone", "status", "source", "unit_of_interest", "account_id", "prospect_type", "created_at",
    "updated_at",
)  # fmt: skip
LEASING_EVENT_WEBHOOK_COLUMNS = (
    "id", "prospect_id", "event_type", "source", "notes", "context", "planned_date_time", "next_follow_up", "created_by",
    "deleted", "created_at",
)  # fmt: skip
LOCKBOX_WEBHOOK_COLUMNS = ("id", "lockbox_type", "serial_number", "account_id", "created_at", "updated_at")


def uuid_from(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def webhook_record(table: str, row: Row | None) -> Row | None:
    """The raw row RentEngine's database webhook would carry for this record."""
    if row is None:
        return None
    if table == "units":
        record = {column: row.get(column) for column in UNIT_WEBHOOK_COLUMNS}
        rate = record["target_rental_rate"]
        record["target_rental_rate"] = None if rate is None else _number_text(rate)
        return record
    if table == "prospects":
        return {column: row.get(column) for column in PROSPECT_WEBHOOK_COLUMNS}
    if table == "leasing_events":
        return {column: row.get(column) for column in LEASING_EVENT_WEBHOOK_COLUMNS}
    if table == "lockbox_events":
        # The table column is `data` (REST: `metadata`) and the row has no account_id (API-FACTS 2.2).
        return {
            "id": row["id"],
            "lockbox_id": row["lockbox_id"],
            "event_type": row["event_type"],
            "unit_id": row["unit_id"],
            "created_at": row["created_at"],
            "data": row.get("metadata"),
        }
    if table == "lockboxes":
        return {column: row.get(column) for column in LOCKBOX_WEBHOOK_COLUMNS}
    return {k: v for k, v in row.items() if k[0] != "_"}


def _number_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def leasing_event_row(
    *,
    event_id: int,
    prospect: Row,
    event_type: str,
    created_at: str,
    source: str | None,
    created_by: str | None,
    property_address: str | None,
    notes: str | None = None,
    context: dict[str, Any] | None = None,
    planned_date_time: str | None = None,
    next_follow_up: str | None = None,
    deleted: bool = False,
) -> Row:
    return {
        "id": event_id,
        "prospect_id": prospect["id"],
        "event_type": event_type,
        "source": source,
        "notes": notes,
        "context": context if context is not None else {},
        "planned_date_time": planned_date_time,
        "next_follow_up": next_follow_up,
        "created_by": created_by,
        "property_address": property_address,
        "unit_of_interest": prospect["unit_of_interest"],
        "deleted": deleted,
        "created_at": created_at,
        "_account_id": prospect["account_id"],
    }


def leasing_event_post_shape(row: Row) -> Row:
    """POST /leasing_events answers with `prospect`, not `prospect_id`, and without the GET-only
    `property_address` / `unit_of_interest` (docs-page.txt)."""
    return {
        "id": row["id"],
        "created_at": row["created_at"],
        "notes": row["notes"],
        "prospect": row["prospect_id"],
        "planned_date_time": row["planned_date_time"],
        "source": row["source"],
        "event_type": row["event_type"],
        "next_follow_up": row["next_follow_up"],
        "deleted": row["deleted"],
        "created_by": row["created_by"],
        "context": row["context"],
    }


def showing_report_row(showing: Row, *, prospect_name: str | None, property_address: str | None, agent_name: str | None) -> Row:
    """A /reporting/showings row (API-FACTS 2.12); `unit_id` is a simulator extra."""
    return {
        "showing_id": showing["id"],
        "prospect_id": showing["prospect_id"],
        "property_address": property_address,
        "prospect_name": prospect_name,
        "status": showing["status"],
        "feedback": showing["feedback"],
        "created_at": showing["created_at"],
        "planned_date_time": showing["planned_date_time"],
        "showing_agent": agent_name,
        "cancellation_reason": showing["cancellation_reason"],
        "unit_id": showing["unit_id"],
    }
