"""The words of RentEngine's wire format, shared by the client, the mirror and the simulator.

Only data lives here (no Django, no I/O), so the simulator can import it and stay independent of the
dashboard. Sources: ../shared/rentengine/API-FACTS.md sections 3.3 (enumerations) and 2.8.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

API_PREFIX: Final = "/api/public/v1"
PAGE_LIMIT_DEFAULT: Final = 50
PAGE_LIMIT_MAX: Final = 100
REPORTING_LIMIT_MAX: Final = 2000
REPORTING_MAX_SPAN_DAYS: Final = 32
RATE_LIMIT_HEADER: Final = "X-Ratelimit-Limit"


class UnitStatus(StrEnum):
    INCOMPLETE = "Incomplete"
    UNDER_REVIEW = "Under Review"
    AVAILABLE = "Available"
    ARCHIVED = "Archived"
    LEASED = "Leased"
    ON_HOLD = "On Hold"
    EXPIRED = "Expired"
    WITHDRAWN = "Withdrawn"
    WITHDRAWAL_REQUESTED = "Withdrawal Requested"
    PRICE_ANALYSIS = "Price Analysis"


# RentEngine's own UI counts only these as on the market (API-FACTS 3.3).
UNIT_STATUSES_ON_MARKET: Final = frozenset({UnitStatus.AVAILABLE, UnitStatus.ON_HOLD})


class PropertyType(StrEnum):
    SINGLE_FAMILY = "SINGLE FAMILY RESIDENCE"
    DUPLEX = "DUPLEX"
    TRIPLEX = "TRIPLEX"
    MULTI_FAMILY = "MULTI-FAMILY"
    CONDO = "CONDO"
    TOWNHOUSE = "TOWNHOUSE"
    ROOM = "ROOM"
    ADU = "ADU"


class ShowingMethod(StrEnum):
    ACCOMPANIED = "Accompanied"
    SELF_GUIDED = "Self Guided"
    REMOTE_GUIDED = "Remote Guided"
    REMOTE_GUIDED_GATED = "Remote Guided with Gated Access"


class LockboxType(StrEnum):
    SENTRILOCK = "Sentrilock"
    CODEBOX = "Codebox"  # UI-only in the API, but present in data


class LockboxEventType(StrEnum):
    INSTALL = "Install"
    UNINSTALL = "Uninstall"
    GENERATE_CODE = "Generate Code"


class LeasingEventSource(StrEnum):
    PHONE_CALL = "Phone Call"
    TEXT_MESSAGE = "Text Message"
    EMAIL = "Email"
    FACEBOOK_MESSAGE = "Facebook Message"
    WHATSAPP = "WhatsApp"
    OTHER = "Other"
    AUTOMATION = "Automation"
    SHOWING_SCHEDULER = "Showing Scheduler"  # responses only


# Sources a client may send on POST /leasing_events (the response adds "Showing Scheduler").
LEASING_EVENT_SOURCES_WRITABLE: Final = tuple(s for s in LeasingEventSource if s is not LeasingEventSource.SHOWING_SCHEDULER)


class StatusFamily(StrEnum):
    """Where a prospect stands, grouped so that 40+ event types read as a handful of colours."""

    NEW = "new"
    WORKING = "working"
    SHOWING = "showing"
    APPLICATION = "application"
    WON = "won"
    LOST = "lost"
    UNKNOWN = "unknown"


STATUS_FAMILY_LABELS: Final = {
    StatusFamily.NEW: "New",
    StatusFamily.WORKING: "Working",
    StatusFamily.SHOWING: "Showing",
    StatusFamily.APPLICATION: "Application",
    StatusFamily.WON: "Leased",
    StatusFamily.LOST: "Closed",
    StatusFamily.UNKNOWN: "Unknown",
}

ASSIGN_TO_USER: Final = "Assign to User"
LOG_NOTE: Final = "Log Note"
REASSIGN_SHOWING: Final = "Reassign Showing"
UNBLOCK_PROSPECT: Final = "Unblock Prospect"

# Every leasing-event type RentEngine sends (API-FACTS 3.3, the 43 webhook types plus the live-only
# "Prescreen Rejected"), in the order of the vendor's list, mapped to the status family it puts the
# prospect in, or None when the event does not change the prospect's status (it is not a pipeline
# status: notes, assignments, showing reassignment, unblocking).
LEASING_EVENT_TYPES: Final[dict[str, StatusFamily | None]] = {
    "New": StatusFamily.NEW,
    "Contacted, Awaiting Information": StatusFamily.WORKING,
    "Showing Desired": StatusFamily.SHOWING,
    "Showing Scheduled": StatusFamily.SHOWING,
    "Showing Complete": StatusFamily.SHOWING,
    "Missed Showing": StatusFamily.SHOWING,
    "Ghosting": StatusFamily.WORKING,
    "Application Sent to Prospect": StatusFamily.APPLICATION,
    "Application Received": StatusFamily.APPLICATION,
    "Application Pending": StatusFamily.APPLICATION,
    "Application in Owner Review": StatusFamily.APPLICATION,
    "Application Approved": StatusFamily.APPLICATION,
    "Withdrawn": StatusFamily.LOST,
    "Application Rejected": StatusFamily.LOST,
    "Prescreen Submitted": StatusFamily.APPLICATION,
    "Prescreen Rejected": StatusFamily.LOST,
    "Prescreen Rejected - Self reported credit": StatusFamily.LOST,
    "Prescreen Rejected - Self reported income": StatusFamily.LOST,
    "Prescreen Rejected - ID Verification": StatusFamily.LOST,
    "Prescreen Approved": StatusFamily.APPLICATION,
    "Looking too early": StatusFamily.WORKING,
    "Lease out for signing": StatusFamily.WON,
    "Lease Signed": StatusFamily.WON,
    "Deposit Received": StatusFamily.WON,
    "Move-in Scheduled": StatusFamily.WON,
    "Moved In": StatusFamily.WON,
    "Unit of Interest Unavailable": StatusFamily.LOST,
    "Not Interested": StatusFamily.LOST,
    "Duplicate Lead": StatusFamily.LOST,
    "Still Deciding": StatusFamily.WORKING,
    "HOA Application Sent To Prospect": StatusFamily.APPLICATION,
    "HOA Application Submitted": StatusFamily.APPLICATION,
    "HOA Application Approved": StatusFamily.APPLICATION,
    "HOA Application Rejected": StatusFamily.LOST,
    "Showing Failed": StatusFamily.SHOWING,
    "Showing Canceled": StatusFamily.SHOWING,
    "Showing Confirmed": StatusFamily.SHOWING,
    "Arrived for Showing": StatusFamily.SHOWING,
    "Showing Started": StatusFamily.SHOWING,
    LOG_NOTE: None,
    ASSIGN_TO_USER: None,
    "Blocklist Prospect": StatusFamily.LOST,
    UNBLOCK_PROSPECT: None,
    REASSIGN_SHOWING: None,
}

PIPELINE_STATUSES: Final = frozenset(t for t, family in LEASING_EVENT_TYPES.items() if family is not None)

# Event types that are about a showing (the showings agenda merges these with /reporting/showings).
SHOWING_EVENT_TYPES: Final = frozenset(
    {
        "Showing Desired",
        "Showing Scheduled",
        "Showing Confirmed",
        "Arrived for Showing",
        "Showing Started",
        "Showing Complete",
        "Missed Showing",
        "Showing Failed",
        "Showing Canceled",
        REASSIGN_SHOWING,
    }
)

# "Open" prospects are those an agent still works: not won, not lost.
OPEN_STATUS_FAMILIES: Final = frozenset({StatusFamily.NEW, StatusFamily.WORKING, StatusFamily.SHOWING, StatusFamily.APPLICATION})

# Event types a client may POST today (API-FACTS 2.8: only "Assign to User").
LEASING_EVENT_TYPES_WRITABLE: Final = (ASSIGN_TO_USER,)


def status_family(event_type: str | None) -> StatusFamily:
    """The family of a prospect status; unknown values (RentEngine adds types) are kept as UNKNOWN."""
    if not event_type:
        return StatusFamily.UNKNOWN
    return LEASING_EVENT_TYPES.get(event_type) or StatusFamily.UNKNOWN


def is_pipeline_status(event_type: str) -> bool:
    """True when an event of this type becomes the prospect's status.

    Unknown types count as pipeline statuses: RentEngine's status is its latest pipeline event,
    and a new type is far more likely a new status than a new kind of note.
    """
    family = LEASING_EVENT_TYPES.get(event_type, StatusFamily.UNKNOWN)
    return family is not None


class ShowingStatus(StrEnum):
    """Statuses on /reporting/showings rows (INFERRED from the event types, API-FACTS 3.3)."""

    SCHEDULED = "Scheduled"
    CONFIRMED = "Confirmed"
    ARRIVED = "Arrived"
    STARTED = "Started"
    COMPLETED = "Completed"
    MISSED = "Missed"
    FAILED = "Failed"
    CANCELED = "Canceled"


class WebhookType(StrEnum):
    INSERT = "INSERT"
    UPDATE = "UPDATE"
    DELETE = "DELETE"


# Tables RentEngine can deliver webhooks for, and those the mirror applies.
WEBHOOK_TABLES: Final = ("units", "prospects", "leasing_events", "lockboxes", "lockbox_events")


# Prospect sources arrive as free text ("Zillow", "zillow.com", "rent", "Rent.com"...). One table
# maps them to the names agents filter by; anything unknown keeps its own (trimmed) spelling.
SOURCE_ALIASES: Final[dict[str, str]] = {
    "zillow": "Zillow",
    "zillow.com": "Zillow",
    "hotpads": "HotPads",
    "realtor.com": "Realtor.com",
    "realtor": "Realtor.com",
    "rentengine": "RentEngine",
    "rent engine": "RentEngine",
    "website widget": "Website",
    "website": "Website",
    "web": "Website",
    "apartments.com": "Apartments.com",
    "apartments": "Apartments.com",
    "zumper": "Zumper",
    "rent.com": "Rent.com",
    "rent": "Rent.com",
    "homes.com": "Homes.com",
    "text ai": "Text",
    "text message": "Text",
    "sms": "Text",
    "phone call": "Phone",
    "phone": "Phone",
    "call": "Phone",
    "for rent sign": "Sign / walk-in",
    "walk-in": "Sign / walk-in",
    "walk in": "Sign / walk-in",
    "facebook": "Facebook",
    "facebook marketplace": "Facebook",
    "craigslist": "Craigslist",
    "other": "Other",
}


def source_normalize(source: str | None) -> str:
    """The source name agents filter by ("" when RentEngine sent none)."""
    if not source or not source.strip():
        return ""
    text = " ".join(source.split())
    return SOURCE_ALIASES.get(text.lower(), text)
