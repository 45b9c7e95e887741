"""Typed RentEngine records, validated at the boundary and tolerant of every habit listed in API-FACTS section 4.

A record that cannot be read at all (no usable id or creation time) is skipped with a log line, never
the whole page; unknown fields are kept (`raw`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, ValidationError

from integrations.rentengine.client.coerce import (
    Arr,
    Bool,
    CreatedAt,
    Day,
    Dec,
    IdInt,
    IdUuid,
    Int,
    Obj,
    StrList,
    Text,
    Time,
    Uuid,
    UuidList,
    to_decimal,
    to_int,
    to_list,
    to_text,
    to_uuid_list,
    to_uuid_str,
)

logger = logging.getLogger(__name__)


class Record(BaseModel):
    """Base: extra fields are allowed and kept; the raw JSON travels with the record."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

    @property
    def raw(self) -> dict[str, Any]:
        return self._raw


# --- units ---------------------------------------------------------------------------------------


def _to_address(value: Any) -> dict[str, Any]:
    """The live API sends an object; the docs say an integer (an address record id)."""
    if isinstance(value, dict):
        return value
    if isinstance(value, int | str) and not isinstance(value, bool) and to_int(value) is not None:
        return {"id": to_int(value)}
    return {}


class Address(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: Int = None
    formatted_address: Text = None
    street_number: Text = None
    street_name: Text = None
    unit: Text = None
    city: Text = None
    state: Text = None
    zip_code: Text = None
    coordinates: Arr = Field(default_factory=list)

    @property
    def longitude(self) -> Decimal | None:
        return to_decimal(self.coordinates[0]) if len(self.coordinates) == 2 else None

    @property
    def latitude(self) -> Decimal | None:
        return to_decimal(self.coordinates[1]) if len(self.coordinates) == 2 else None

    @property
    def one_line(self) -> str:
        if self.formatted_address:
            return self.formatted_address
        street = " ".join(part for part in (self.street_number, self.street_name) if part)
        if self.unit:
            street = f"{street} #{self.unit}" if street else f"#{self.unit}"
        return ", ".join(part for part in (street, self.city, " ".join(p for p in (self.state, self.zip_code) if p)) if part)


class Fee(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: Text = None
    type: Text = None
    amount: Dec = None


class Photo(BaseModel):
    model_config = ConfigDict(extra="allow")
    path: Text = None
    hidden: Bool = None
    original: Text = None

    @property
    def url(self) -> str | None:
        return self.original or self.path


def _fees(value: Any) -> list[Fee]:
    return [Fee.model_validate(item) for item in to_list(value) if isinstance(item, dict)]


def _photos(value: Any) -> list[Photo]:
    photos = []
    for item in to_list(value):
        if isinstance(item, str):
            photos.append(Photo(original=item))
        elif isinstance(item, dict):
            photos.append(Photo.model_validate(item))
    return photos


Fees = Annotated[list[Fee], BeforeValidator(_fees)]
Photos = Annotated[list[Photo], BeforeValidator(_photos)]


class UnitRecord(Record):
    id: IdInt
    account_id: Uuid = None
    status: Text = None
    address: Annotated[Address, BeforeValidator(_to_address)] = Field(default_factory=Address)
    property_type: Text = None
    bedrooms: Dec = None
    bathrooms: Dec = None
    sqft: Int = None
    target_rental_rate: Dec = None
    is_occupied: Bool = None
    furnished: Bool = None
    laundry: Text = None
    pets_allowed: Text = None
    showing_method: Text = None
    earliest_move_in_date: Day = None
    earliest_showing_date: Day = None
    extracted_from: Text = None
    subteam_id: Uuid = None
    prescreen_template_id: Uuid = None
    highlighted_amenities: StrList = Field(default_factory=list)
    monthly_fees: Fees = Field(default_factory=list)
    move_in_fees: Fees = Field(default_factory=list)
    pet_fees: Fees = Field(default_factory=list)
    marketing_photos: Photos = Field(default_factory=list)
    created_at: Time = None
    updated_at: Time = None


# --- prospects and leasing events ----------------------------------------------------------------


class ProspectRecord(Record):
    id: IdInt
    account_id: Uuid = None
    name: Text = None
    email: Text = None
    phone: Text = None
    status: Text = None
    source: Text = None
    unit_of_interest: Int = None
    prospect_type: Text = None
    prescreened: Bool = None
    notes: Text = None
    created_at: Time = None
    updated_at: Time = None


class LeasingEventRecord(Record):
    id: IdInt
    # GET and webhooks say prospect_id; the POST response says prospect.
    prospect_id: IdInt = Field(validation_alias=AliasChoices("prospect_id", "prospect"))
    event_type: Text = None
    source: Text = None
    notes: Text = None
    context: Obj = Field(default_factory=dict)
    planned_date_time: Time = None
    next_follow_up: Time = None
    created_by: Text = None
    property_address: Text = None
    unit_of_interest: Int = None
    deleted: Bool = None
    created_at: CreatedAt

    @property
    def assigned_user_ids(self) -> list[str]:
        return to_uuid_list(self.context.get("assignedToUserIds"))

    @property
    def previous_assigned_user_ids(self) -> list[str]:
        return to_uuid_list(self.context.get("previousAssignedToUserIds"))

    @property
    def created_by_user_id(self) -> str | None:
        return to_uuid_str(self.created_by)


# --- lockboxes ------------------------------------------------------------------------------------


class LockboxRecord(Record):
    id: IdUuid
    lockbox_type: Text = None
    serial_number: Text = None
    account_id: Uuid = None
    created_at: Time = None
    updated_at: Time = None


class LockboxEventRecord(Record):
    id: IdUuid
    lockbox_id: IdUuid
    event_type: Text = None
    unit_id: Int = None  # a string on the wire ("12345")
    account_id: Uuid = None  # absent from webhook rows
    created_at: CreatedAt
    # REST says metadata; the webhook row's column is data.
    metadata: Obj = Field(default_factory=dict, validation_alias=AliasChoices("metadata", "data"))

    @property
    def created_for(self) -> str | None:
        return to_text(self.metadata.get("created_for"))


class LockboxCodeRecord(Record):
    """POST /lockboxes/generate_code's answer (API-FACTS 2.1): note the camelCase `lockboxType`."""

    code: Text = None
    lockbox_type: Text = Field(default=None, validation_alias=AliasChoices("lockboxType", "lockbox_type"))
    instructions: Text = None


class LockboxInstallationRecord(Record):
    id: IdUuid
    lockbox_id: IdUuid
    serial_number: Text = None
    unit_id: Int = None
    account_id: Uuid = None
    installed_at: Time = None
    uninstalled_at: Time = None


# --- reference data -------------------------------------------------------------------------------


class SubteamRecord(Record):
    id: IdUuid
    name: Text = None
    account_id: Uuid = None
    user_ids: UuidList = Field(default_factory=list)
    created_at: Time = None
    updated_at: Time = None


class PrescreeningTemplateRecord(Record):
    id: IdUuid
    name: Text = None
    account_id: Uuid = Field(default=None, validation_alias=AliasChoices("account_id", "accountId"))
    is_default: Bool = Field(default=None, validation_alias=AliasChoices("is_default", "isDefault"))
    rules: Obj = Field(default_factory=dict)
    questions: Arr = Field(default_factory=list)
    created_at: Time = None
    updated_at: Time = None


class MultifamilyPropertyRecord(Record):
    id: IdUuid
    account_id: Uuid = None
    community_name: Text = None
    building_count: Int = None
    unit_count: Int = None
    description: Text = None
    structure_type: Text = None
    year_built: Int = None
    text_address: Text = None
    photos: Photos = Field(default_factory=list)
    external_ids: Obj = Field(default_factory=dict)
    deleted: Bool = None
    created_at: Time = None
    updated_at: Time = None


class FloorplanRecord(Record):
    id: IdUuid
    multifamily_property_id: Uuid = None
    name: Text = None
    bedroom_count: Int = None
    bathroom_count: Dec = None
    unit_count: Int = None
    units_available: Int = None
    market_rent: Dec = None
    min_sqft: Int = None
    max_sqft: Int = None
    photos: Photos = Field(default_factory=list)
    deleted: Bool = None
    description: Text = None
    created_at: Time = None
    updated_at: Time = None


# --- showings -------------------------------------------------------------------------------------


class ShowingRecord(Record):
    """A row of GET /reporting/showings (rows carry no account id: the request names it)."""

    showing_id: IdInt
    prospect_id: Int = None
    property_address: Text = None
    prospect_name: Text = None
    status: Text = None
    feedback: Text = None
    created_at: Time = None
    planned_date_time: Time = None
    showing_agent: Text = None
    cancellation_reason: Text = None


class ShowingWindow(BaseModel):
    model_config = ConfigDict(extra="allow")
    start: Time = None
    end: Time = None
    invited_user_ids: UuidList = Field(
        default_factory=list, validation_alias=AliasChoices("invitedUserIdsArray", "invitedUserIds")
    )
    showing_methods: StrList = Field(default_factory=list, validation_alias=AliasChoices("showingMethodsAvailable"))


def _windows(value: Any) -> list[ShowingWindow]:
    return [ShowingWindow.model_validate(item) for item in to_list(value) if isinstance(item, dict)]


Windows = Annotated[list[ShowingWindow], BeforeValidator(_windows)]


class AvailabilityRecord(Record):
    """The `availability` object of GET /showings/availability (camelCase on the wire)."""

    unit_id: Int = Field(default=None, validation_alias=AliasChoices("unitId", "unit_id"))
    preferred_windows: Windows = Field(default_factory=list, validation_alias=AliasChoices("preferredShowingWindows"))
    available_windows: Windows = Field(default_factory=list, validation_alias=AliasChoices("availableShowingWindows"))
    showing_method: Text = Field(default=None, validation_alias=AliasChoices("showingMethod"))
    timezone_name: Text = Field(default=None, validation_alias=AliasChoices("timezoneName"))
    timezone_abbreviation: Text = Field(default=None, validation_alias=AliasChoices("timezoneAbbreviation"))
    unit_status: Text = Field(default=None, validation_alias=AliasChoices("unitStatus"))


# --- webhooks -------------------------------------------------------------------------------------


class WebhookPayload(BaseModel):
    """The Supabase-style delivery: {type, table, record, old_record} (API-FACTS 3.1)."""

    model_config = ConfigDict(extra="allow")
    type: str
    table: str
    record: dict[str, Any] | None = None
    old_record: dict[str, Any] | None = None


# --- parsing pages --------------------------------------------------------------------------------


@dataclass
class Skipped:
    record_id: str | None
    reason: str


@dataclass
class Parsed[R: Record]:
    records: list[R]
    skipped: list[Skipped] = field(default_factory=list)
    received: int = 0  # raw items on the page: what decides "short page", not what parsed


def parse_record[R: Record](model: type[R], item: dict[str, Any]) -> R:
    """Validate one raw item (raises pydantic.ValidationError)."""
    record = model.model_validate(item)
    record._raw = item
    return record


def parse_records[R: Record](model: type[R], items: Iterable[Any]) -> Parsed[R]:
    """Validate a page item by item: a bad record is logged with its id and skipped."""
    parsed: Parsed[R] = Parsed(records=[])
    for item in items:
        parsed.received += 1
        if not isinstance(item, dict):
            parsed.skipped.append(Skipped(None, f"not an object: {type(item).__name__}"))
            logger.warning("Skipping a %s item that is not an object: %r", model.__name__, item)
            continue
        try:
            parsed.records.append(parse_record(model, item))
        except ValidationError as exc:
            record_id = item.get("id", item.get("showing_id"))
            reason = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:3])
            parsed.skipped.append(Skipped(None if record_id is None else str(record_id), reason))
            logger.warning("Skipping %s id=%s: %s", model.__name__, record_id, reason)
    return parsed
